"""A live Kafka run (no end to stop at) keeps writing as records arrive: inputs that have
nothing to read, like a customers topic that rarely changes, do not hold the others back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer
from feedkit import status
from kafka_support import (
    add_partition,
    folder_reference,
    kafka_settings,
    make_topics,
    portfolio,
    publish,
)

from config.settings import EngineSettings
from connectors.contracts import FEEDS
from flows.cluster import spawn
from flows.job import Job, SourceSpec
from flows.replay import logged_records, replay
from flows.run import AUDIT, WARNINGS, seal_audit_log
from flows.stop import STOPPED_EXIT

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
IDLE_SECONDS = 3.0


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def _first_difference(got: list[bytes], expected: list[bytes]) -> str:
    for mine, theirs in zip(got, expected, strict=False):
        a, b = json.loads(mine), json.loads(theirs)
        if a != b:
            return "; ".join(f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted({*a, *b})
                             if a.get(k) != b.get(k))
    return f"{len(got)} warnings against {len(expected)}"


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_a_live_run_writes_every_warning_and_goes_on_with_later_records(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    reference = folder_reference(portfolio(tmp_path / "feeds", customers=60, months=10),
                                 tmp_path / "reference")
    expected = sorted(_lines(reference.out / WARNINGS))
    assert expected
    topics = make_topics(kafka_bootstrap, 1)
    publish(kafka_bootstrap, reference.feeds, topics)
    settings = kafka_settings(topics, engine=EngineSettings(idle_input_seconds=IDLE_SECONDS))
    out = tmp_path / "live"
    job = Job(settings, SourceSpec("kafka", {"bootstrap": kafka_bootstrap}), out, scores=True)
    [child] = spawn(job)
    try:
        assert _wait_for(lambda: len(_lines(out / WARNINGS)) >= len(expected), 90), \
            f"{len(_lines(out / WARNINGS))} of {len(expected)} warnings after 90 s"
        got = sorted(_lines(out / WARNINGS))
        assert got == expected, _first_difference(got, expected)
        assert child.poll() is None, "a live run goes on at the end of the topics"

        customer_id = json.loads(expected[0])["customer_id"]
        last = max(json.loads(line)["event_time"] for feed in FEEDS
                   for line in (reference.feeds / f"{feed}.jsonl").read_bytes().splitlines())
        # Dated before the last day every input reached: it arrives after its day, so it
        # is applied on the next day to complete, within the allowed lateness.
        day = (date.fromisoformat(last[:10]) - timedelta(days=2)).isoformat()
        filing = status(customer_id, day, "insolvency_filed")
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(topics["registry"], json.dumps(filing).encode(),
                         customer_id.encode())
        producer.flush(30)
        # It waits for the next day to complete, which the book's next record brings (a
        # day completes on the inputs' records, never on an arrival).
        time.sleep(3 * IDLE_SECONDS)
        next_day = (date.fromisoformat(last[:10]) + timedelta(days=1)).isoformat()
        producer.produce(topics["registry"], json.dumps(status(customer_id, next_day,
                                                               "active")).encode(),
                         customer_id.encode())
        producer.flush(30)

        def defaulted() -> bool:
            return any(json.loads(line)["kind"] == "default"
                       and json.loads(line)["customer_id"] == customer_id
                       and json.loads(line)["event_time"].startswith(day)
                       for line in _lines(out / WARNINGS))

        assert _wait_for(defaulted, 60), "the filing published later was never applied"
        applied_on = _wait_for_input(out / AUDIT, filing["event_id"])
        assert applied_on == date.fromisoformat(last[:10]).toordinal() - EPOCH + 1
    finally:
        child.terminate()  # SIGTERM stops it as Ctrl-C does: its outputs are closed
        child.wait(timeout=30)
    seal_audit_log(out, settings.audit)  # as `creditradar run` does when its processes stop
    report = replay(out / AUDIT, tmp_path / "replay", settings)
    assert report.ok, report.lines()


def test_a_live_run_stopped_while_reading_replays_to_the_same_warnings(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """A live run stopped mid-way: its replay, which reads the logged inputs to their end,
    gave one warning more (a default reached 90 days past due without a record on its day,
    that the run had not reached when the signal came). A stopped run now completes the
    days its inputs promised, logs through which, and a replay stops there."""
    feeds = portfolio(tmp_path / "feeds", customers=150, months=12)
    topics = make_topics(kafka_bootstrap, 2)
    publish(kafka_bootstrap, feeds, topics)
    settings = kafka_settings(topics, engine=EngineSettings(idle_input_seconds=IDLE_SECONDS))
    out = tmp_path / "live"
    [child] = spawn(Job(settings, SourceSpec("kafka", {"bootstrap": kafka_bootstrap}), out))
    try:
        assert _wait_for(lambda: bool(_lines(out / WARNINGS)), 90), "no warning after 90 s"
    finally:
        child.terminate()
        assert child.wait(timeout=60) == STOPPED_EXIT, "a stopped process says so"
    seal_audit_log(out, settings.audit)
    report = replay(out / AUDIT, tmp_path / "replay", settings)
    assert report.ok, report.lines()
    assert any("stopped with its days complete through" in note for note in report.notes), \
        report.notes


EPOCH = date(1970, 1, 1).toordinal()


def _wait_for_input(log: Path, event_id: str) -> int | None:
    """The day the audit log says the record was applied on, once it is logged."""
    found: list[int] = []

    def logged() -> bool:
        inputs = logged_records(log).inputs
        found[:] = [r.body["day"] for r in inputs if r.id.endswith(f":{event_id}")]
        return bool(found)

    _wait_for(logged, 30)
    return found[0] if found else None


def test_a_live_run_stopped_says_so_and_exits_0(kafka_bootstrap: str, tmp_path: Path) -> None:
    """A stop is the only end of a live run: it exited 1 with click's "Aborted!"."""
    import signal
    import subprocess
    import sys
    import threading

    topics = make_topics(kafka_bootstrap, 1)
    config = tmp_path / "kafka.toml"
    config.write_text("[kafka.topics]\n" + "".join(
        f'{name} = "{topic}"\n' for name, topic in topics.items()))
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--config", str(config), "--log-format", "json",
         "run", "--kafka", kafka_bootstrap, "--out", str(out), "--top", "0", "--no-deliver"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    reading = threading.Event()

    def listen() -> None:
        for line in run.stderr:  # type: ignore[union-attr]
            said.append(line)
            if '"kafka.source_start"' in line:
                reading.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        assert reading.wait(60), "".join(said)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        listener.join(10)
        run.stderr.close()  # type: ignore[union-attr]
    assert run.returncode == 0, "".join(said)
    assert any(line.startswith(f"stopped: {out} holds what the run wrote") for line in said), \
        "".join(said)


def test_a_typod_year_from_a_live_input_does_not_take_the_book_there(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """A registry record dated a year on (a typo) from a live input: once every input was
    idle, the run completed the days up to it, every customer's month ends ran a year
    ahead, ageing open invoices into defaults, and the input's later records were late."""
    _typo_then_filing(kafka_bootstrap, tmp_path, new_partition=False)


def test_a_typod_year_as_a_new_partitions_first_message_costs_it_nothing(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """A registry topic that gained a partition, whose first message was dated a year on (a
    typo): the partition's clock started on it, and the filing it read next was late."""
    _typo_then_filing(kafka_bootstrap, tmp_path, new_partition=True)


def _typo_then_filing(bootstrap: str, tmp_path: Path, new_partition: bool) -> None:
    """Run live over a published book; then publish, idle in between, a status dated a year
    after the book's last day, a filing on that day and a status the day after (to a
    partition of their own with ``new_partition``): the filing is applied, and no warning
    comes after the book."""
    reference = folder_reference(portfolio(tmp_path / "feeds", customers=60, months=10),
                                 tmp_path / "reference")
    expected = sorted(_lines(reference.out / WARNINGS))
    topics = make_topics(bootstrap, 1)
    publish(bootstrap, reference.feeds, topics)
    if new_partition:
        add_partition(bootstrap, topics["registry"])
    settings = kafka_settings(topics, engine=EngineSettings(idle_input_seconds=IDLE_SECONDS))
    out = tmp_path / "live"
    [child] = spawn(Job(settings, SourceSpec("kafka", {"bootstrap": bootstrap}), out))
    try:
        assert _wait_for(lambda: len(_lines(out / WARNINGS)) >= len(expected), 90)
        warned = {json.loads(line)["customer_id"] for line in expected}
        calm = next(w for w in sorted({json.loads(line)["customer_id"]
                                       for line in reference.feeds.joinpath(
                                           "customers.jsonl").read_bytes().splitlines()})
                    if w not in warned)
        last = max(json.loads(line)["event_time"] for feed in FEEDS
                   for line in (reference.feeds / f"{feed}.jsonl").read_bytes().splitlines())
        day = date.fromisoformat(last[:10])
        typo = status(calm, (day + timedelta(days=365)).isoformat(), "active")
        filing = status(calm, day.isoformat(), "insolvency_filed")
        next_day = status(calm, (day + timedelta(days=1)).isoformat(), "active")
        producer = Producer({"bootstrap.servers": bootstrap})
        # The filing read after the typo, in its partition; the book's next day completes on
        # the next day's record.
        for record in (typo, filing, next_day):
            producer.produce(topics["registry"], json.dumps(record).encode(), calm.encode(),
                             partition=1 if new_partition else 0)
            producer.flush(30)
            time.sleep(3 * IDLE_SECONDS)  # idle in between

        def filed() -> bool:
            return any(json.loads(line)["customer_id"] == calm
                       and json.loads(line)["kind"] == "default"
                       for line in _lines(out / WARNINGS))

        assert _wait_for(filed, 60), "the filing read after the typo was never applied"
        assert child.poll() is None
        got = [json.loads(line) for line in _lines(out / WARNINGS)]
        later = [w["event_time"] for w in got if w["event_time"][:10] > last[:10]]
        assert not later, f"{len(later)} warnings after {last}: {later[:3]}"
        assert set(expected) <= set(_lines(out / WARNINGS))
    finally:
        child.terminate()
        child.wait(timeout=30)
