"""Crashes and outages: a Kafka run still ends with exactly the outputs of an uninterrupted run.

A run with ``recovery.directory`` set is started as a spawned process (`flows.cluster.spawn`,
the way ``run_job`` starts a cluster), SIGKILLed at random moments and started again, each
time resuming from its last snapshot; its files must end byte for byte as the folder run's,
and its warnings topic, read the documented way (first copy per ``warning_id``), must hold
exactly those warnings. Copies repeated by a resumed epoch are allowed on the topic and are
counted. A broker stopped in the middle of a run, and started again, must cost nothing: no
warning lost, none written twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from bytewax.recovery import init_db_dir
from kafka_broker import KafkaBroker
from kafka_support import (
    Reference,
    differing,
    first_differences,
    folder_reference,
    kafka_job,
    kafka_settings,
    make_topics,
    message_count,
    portfolio,
    publish,
    run_kafka,
    topic_as_file,
)
from structlog.testing import capture_logs

import connectors.kafka.source as kafka_source
from config.settings import RecoverySettings
from connectors.audit import verify_log
from connectors.kafka import KafkaFeeds, KafkaInput, read_topic
from flows.cluster import spawn
from flows.job import Job
from flows.run import AUDIT, WARNINGS, finish, start_fresh

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
RUN_TIMEOUT_S = 120
KILLS = 3
STARTED = "kafka.source_start"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("reference")
    return folder_reference(portfolio(base / "feeds", customers=120, months=12), base / "out")


def _start(job: Job, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return spawn(job, stdout=out, stderr=subprocess.STDOUT)[0]


def _wait_for_source(child: subprocess.Popen[bytes], log: Path, seen: int) -> None:
    """Wait until ``child`` opened its source (the log has more than ``seen`` source starts),
    so that a kill lands in the run rather than in the interpreter's start."""
    deadline = time.monotonic() + 60
    while log.read_text().count(STARTED) <= seen:
        assert child.poll() is None, f"monitor exited at start:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "the monitor never opened its source"
        time.sleep(0.02)


def _resumed_offsets(log: Path) -> list[int]:
    """The offsets past 0 that the processes' inputs started at (a start from a snapshot)."""
    starts = [json.loads(line) for line in log.read_text().splitlines()
              if STARTED in line and line.startswith("{")]
    return [first for start in starts for first, _ in start["offsets"].values() if first]


def test_sigkill_at_random_points_then_a_restart_gives_the_uninterrupted_outputs(
    kafka_bootstrap: str, tmp_path: Path, reference: Reference
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    topics = make_topics(kafka_bootstrap, 2)
    publish(kafka_bootstrap, reference.feeds, topics)
    recovery = tmp_path / "recovery"
    settings = kafka_settings(topics, recovery=RecoverySettings(
        directory=recovery, snapshot_interval_seconds=0.3))
    out = tmp_path / "kafka"
    job = kafka_job(settings, kafka_bootstrap, out)
    start_fresh(settings, out)
    recovery.mkdir()
    init_db_dir(recovery, 1)  # the first process marks it with its program version
    log = tmp_path / "monitor.log"

    kills: list[float] = []
    code = None
    while code is None:
        started = log.read_text().count(STARTED) if log.exists() else 0
        child = _start(job, log)
        if len(kills) < KILLS:
            _wait_for_source(child, log, started)
            # an uninterrupted run reads for about 2 s; the last kill comes after a snapshot
            # or two (every 0.3 s), so that a restart has one to resume from
            at = rng.uniform(0.6 if len(kills) == KILLS - 1 else 0.0, 1.5)
            try:
                code = child.wait(timeout=at)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)
                kills.append(round(at, 2))
        else:
            code = child.wait(timeout=RUN_TIMEOUT_S)
    assert code == 0, f"seed {seed}: monitor exited with {code}:\n{log.read_text()[-3000:]}"
    assert kills, f"seed {seed}: the monitor always finished before it could be killed"
    summary = finish(out, audit=settings.audit)  # as the run's own command finishes

    context = f"seed {seed}, killed after {kills} s"
    assert _resumed_offsets(log), f"{context}: no restart resumed from a snapshot"
    assert differing(reference.out, out) == [], (
        f"{context}:\n{first_differences(reference.out, out, differing(reference.out, out))}")
    assert summary == reference.summary, context
    topic_as_file(kafka_bootstrap, topics["warnings"], tmp_path / "topic.jsonl")
    assert (tmp_path / "topic.jsonl").read_bytes() == (reference.out / WARNINGS).read_bytes(), \
        context
    report = verify_log(out / AUDIT, None)
    assert report.ok, f"{context}: {report.verdict()}"
    repeated = message_count(kafka_bootstrap, topics["warnings"]) - len(reference.warnings())
    print(f"{context}: {len(reference.warnings())} warnings, {repeated} repeated copies")


def test_a_broker_outage_mid_stream_loses_and_repeats_nothing(
    kafka_broker: KafkaBroker, tmp_path: Path, reference: Reference,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # The source may fetch only a little ahead of the flow, so the outage hits its reads too.
    monkeypatch.setattr(kafka_source, "MAX_QUEUED", 200)
    monkeypatch.setattr(kafka_source, "FETCH_BATCH", 50)
    opened: list[KafkaInput] = []
    open_feeds = KafkaFeeds.open

    def open_and_keep(feeds: KafkaFeeds, partition: str, positions: dict[str, Any]) -> Any:
        inputs = open_feeds(feeds, partition, positions)
        opened.extend(inputs)
        return inputs

    monkeypatch.setattr(KafkaFeeds, "open", open_and_keep)
    bootstrap = kafka_broker.bootstrap
    topics = make_topics(bootstrap, 1)
    publish(bootstrap, reference.feeds, topics)
    expected = sorted((reference.out / WARNINGS).read_bytes().splitlines())
    out = tmp_path / "kafka"
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["summary"] = run_kafka(kafka_settings(topics), bootstrap, out)
        except BaseException as exc:  # handed to the test thread
            done["error"] = exc

    with capture_logs() as logs:
        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        deadline = time.monotonic() + 60
        while not any(0 < i.fetched < i.end for i in opened):  # mid-stream: reading the feeds
            assert runner.is_alive() and time.monotonic() < deadline, done
            time.sleep(0.01)
        kafka_broker.stop()
        unfetched = {i.name: i.end - i.fetched for i in opened if i.fetched < i.end}
        assert runner.is_alive(), "the run ended before the broker went away"
        time.sleep(3)
        assert runner.is_alive(), f"the run ended without its broker: {done}"
        kafka_broker.start()
        runner.join(timeout=RUN_TIMEOUT_S)
    assert not runner.is_alive() and "error" not in done, done

    assert unfetched, "the source had fetched every record before the broker went away"
    assert any(e["event"] == "kafka.consume_error" for e in logs), \
        "the source never noticed the outage"
    assert all(i.fetched == i.end for i in opened), "the source did not read on"
    assert sorted(m.value() for m in read_topic(bootstrap, topics["warnings"])) == expected
    assert done["summary"] == reference.summary
    assert differing(reference.out, out) == []
    print(f"broker stopped with {unfetched} records not yet fetched")
