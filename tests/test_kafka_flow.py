"""The monitor on a real Kafka broker writes what the folder run writes, and accounts for
every message.

Each test publishes the module's simulated portfolio (or a part of it) to fresh topics, runs
the job of kind ``kafka`` to the end of the topics (`flows.cluster.run_job`), and compares its
outputs with those of `flows.run.run_folder` on the same folder, byte for byte. The source is
also read directly (`KafkaFeeds`) where the run cannot show what it does: a backfill's first
record, and where a reopened partition reads on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedkit import payment
from kafka_support import (
    Reference,
    diff,
    differing,
    folder_reference,
    kafka_settings,
    make_topics,
    portfolio,
    publish,
    records_read,
    run_kafka,
    topic_as_file,
)

from connectors.contracts import FEEDS, MAX_RECORD_BYTES
from connectors.files import feed_files
from connectors.kafka import KafkaFeeds, produce_lines, read_deadletters, read_topic
from connectors.kafka.produce import record_key, record_time
from connectors.partition import RawLine, RecordInput
from flows.run import DEADLETTER, WARNINGS, read_jsonl

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("reference")
    return folder_reference(portfolio(base / "feeds", customers=100, months=10), base / "out")


def feed_lines(feeds: Path) -> dict[str, list[bytes]]:
    """Feed -> its records, in file order."""
    lines: dict[str, list[bytes]] = {}
    for feed, path in feed_files(feeds):
        lines.setdefault(feed, []).extend(x for x in path.read_bytes().splitlines() if x)
    return lines


def test_a_kafka_run_writes_the_folder_runs_outputs(
    kafka_bootstrap: str, tmp_path: Path, reference: Reference
) -> None:
    topics = make_topics(kafka_bootstrap, 1)
    published = publish(kafka_bootstrap, reference.feeds, topics)
    expected = reference.warnings()
    assert expected, "the portfolio should produce some warnings"

    summary = run_kafka(kafka_settings(topics), kafka_bootstrap, tmp_path / "kafka")

    assert differing(reference.out, tmp_path / "kafka") == []
    assert summary == reference.summary and summary.read == published
    from_topic = topic_as_file(kafka_bootstrap, topics["warnings"], tmp_path / "topic.jsonl")
    assert (tmp_path / "topic.jsonl").read_bytes() == (reference.out / WARNINGS).read_bytes(), \
        diff(expected, from_topic)
    messages = sorted(m.value() for m in read_topic(kafka_bootstrap, topics["warnings"]))
    assert messages == sorted((reference.out / WARNINGS).read_bytes().splitlines()), \
        "each warning once, its value byte for byte its line in warnings.jsonl"
    assert read_deadletters(kafka_bootstrap, topics["deadletter"]) == []
    assert set(records_read(tmp_path / "kafka")) == {f"{topics[f]}:0" for f in FEEDS}


Message = tuple[bytes | None, bytes | None, list[tuple[str, bytes]] | None]


def _bad_messages() -> dict[str, list[Message]]:
    """Broken messages per feed; their reasons are `EXPECTED_REASONS`."""
    good = json.dumps({"event_time": "2021-03-01T00:00:00Z", "event_id": "x",
                       "customer_id": "C000001", "name": "X"}).encode()
    key = b"C000001"
    return {
        "payments": [(key, b"{not json %d" % i, None) for i in range(120)]
        + [(None, good, None) for _ in range(40)],
        "news": [(key, b"\xff\xfe caf\xe9 %d" % i, None) for i in range(80)]
        + [(key, None, None) for _ in range(20)],
        "registry": [(key, good, [("contract_version", b"2")]) for _ in range(50)],
        "customers": [(key, b'{"pad":"' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}', None)
                      for _ in range(2)],
    }


EXPECTED_REASONS = {"invalid_json": 120, "missing_key": 40, "not_utf8": 80,
                    "missing_value": 20, "unknown_version": 50, "too_large": 2}
REPEATS_EVERY = 200
"""Every 200th good message is published twice (the copy counts as a duplicate)."""


def test_bad_messages_reach_the_dead_letter_topic_and_every_message_is_accounted(
    kafka_bootstrap: str, tmp_path: Path, reference: Reference
) -> None:
    topics = make_topics(kafka_bootstrap, 1)
    config = {"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 2_000_000}
    bad = _bad_messages()
    good = repeats = 0
    for feed, lines in feed_lines(reference.feeds).items():
        broken = list(bad.get(feed, ()))
        step = max(1, len(lines) // max(1, len(broken)))
        messages: list[Message] = []
        for i, line in enumerate(lines):  # broken messages and repeats among the good ones
            messages.append((record_key(line), line, None))
            if i % REPEATS_EVERY == REPEATS_EVERY - 1:
                messages.append((record_key(line), line, None))
                repeats += 1
            if i % step == 0 and broken:
                messages.append(broken.pop())
        messages.extend(broken)
        good += len(lines)
        produce_lines(config, topics[feed], messages)

    summary = run_kafka(kafka_settings(topics), kafka_bootstrap, tmp_path / "kafka")

    dead = read_deadletters(kafka_bootstrap, topics["deadletter"])
    assert Counter(d["reason"] for d in dead) == {**EXPECTED_REASONS, "duplicate": repeats}
    assert Counter(d["reason"] for d in read_jsonl(tmp_path / "kafka" / DEADLETTER)) == \
        Counter(d["reason"] for d in dead)
    assert all(d["source_topic"] in topics.values() and "source_offset" in d for d in dead)
    assert {d["original"] for d in dead if d["reason"] == "invalid_json"} == {
        b"{not json %d" % i for i in range(120)}
    assert [len(d["original"]) for d in dead if d["reason"] == "too_large"] == [65_536] * 2
    assert summary.read == good + sum(EXPECTED_REASONS.values()) + repeats
    assert (summary.accepted, summary.rejected, summary.duplicates) == (
        reference.summary.accepted, sum(EXPECTED_REASONS.values()), repeats)
    assert summary.balanced
    assert differing(reference.out, tmp_path / "kafka") == []


def test_a_far_future_record_is_dead_lettered_and_changes_nothing(
    kafka_bootstrap: str, tmp_path: Path, reference: Reference
) -> None:
    topics = make_topics(kafka_bootstrap, 1)
    config = {"bootstrap.servers": kafka_bootstrap}
    lines = feed_lines(reference.feeds)
    customer = json.loads(lines["customers"][0])["customer_id"]
    typo = json.dumps(payment(customer, "2999-06-01", "INV-TYPO", 100.0,
                              event_id="pay-2999")).encode()
    middle = len(lines["payments"]) // 2
    lines["payments"].insert(middle, typo)
    for feed, records in lines.items():
        produce_lines(config, topics[feed], [(record_key(x), x, None) for x in records])

    summary = run_kafka(kafka_settings(topics), kafka_bootstrap, tmp_path / "kafka")

    dead = read_deadletters(kafka_bootstrap, topics["deadletter"])
    assert [(d["reason"], d["event_id"], d["source_offset"]) for d in dead] == [
        ("implausible_time", "pay-2999", str(middle))]
    assert (summary.read, summary.accepted, summary.rejected) == (
        reference.summary.read + 1, reference.summary.accepted, 1)
    assert differing(reference.out, tmp_path / "kafka") == []


def read_inputs(inputs: list[RecordInput], limit: int | None = None,
                timeout_s: float = 30.0) -> dict[str, list[RawLine]]:
    """Each input's records, until it ends (or ``limit`` records have been read from it)."""
    got: dict[str, list[RawLine]] = {i.name: [] for i in inputs}
    deadline = time.monotonic() + timeout_s
    pending = list(inputs)
    while pending:
        assert time.monotonic() < deadline, f"inputs {[i.name for i in pending]} never ended"
        for source in list(pending):
            line = source.read()
            if line is not None:
                got[source.name].append(line)
            if source.ended or (limit is not None and len(got[source.name]) >= limit):
                pending.remove(source)
    return got


def test_backfill_from_a_timestamp_reads_only_what_follows_it(
    kafka_bootstrap: str, tmp_path: Path, reference: Reference
) -> None:
    topics = make_topics(kafka_bootstrap, 2)
    publish(kafka_bootstrap, reference.feeds, topics)
    since = datetime(2021, 6, 1, tzinfo=UTC)
    all_lines = [x for lines in feed_lines(reference.feeds).values() for x in lines]
    wanted = sorted(x for x in all_lines if record_time(x) >= since.timestamp())
    assert 0 < len(wanted) < len(all_lines)

    feeds = KafkaFeeds({f: topics[f] for f in FEEDS}, {"bootstrap.servers": kafka_bootstrap},
                       start=since, stop_at_end=True)
    read: list[bytes] = []
    for partition in feeds.partitions():
        inputs = feeds.open(partition, {})
        assert [i.name for i in inputs] == feeds.input_names(partition)
        read += [line.raw for lines in read_inputs(inputs).values() for line in lines]
        for source in inputs:
            source.close()
    assert sorted(read) == wanted

    summary = run_kafka(kafka_settings(topics), kafka_bootstrap, tmp_path / "kafka",
                        start=since.isoformat())
    assert summary.read == len(wanted) and summary.balanced


def test_a_reopened_partition_reads_on_from_its_positions(
    kafka_bootstrap: str, reference: Reference
) -> None:
    topics = make_topics(kafka_bootstrap, 1)
    publish(kafka_bootstrap, reference.feeds, topics)
    feeds = KafkaFeeds({f: topics[f] for f in FEEDS}, {"bootstrap.servers": kafka_bootstrap},
                       stop_at_end=True)
    [partition] = feeds.partitions()

    first = feeds.open(partition, {})
    head = read_inputs(first, limit=40)
    positions = {i.name: i.position() for i in first}
    for source in first:
        source.close()
    second = feeds.open(partition, positions)
    rest = read_inputs(second)
    for source in second:
        source.close()

    lines = feed_lines(reference.feeds)
    for feed in FEEDS:
        name = f"{topics[feed]}:0"
        assert positions[name] == len(head[name]) == min(40, len(lines[feed]))
        both = head[name] + rest[name]
        assert [x.position for x in both] == list(range(len(lines[feed])))
        assert [x.raw for x in both] == lines[feed]
        assert all(x.problem is None for x in both)


def test_a_missing_output_topic_is_refused_before_the_run(kafka_bootstrap: str) -> None:
    """The run read its whole input, then stopped with a traceback at its first warning."""
    from config.errors import ConnectorError
    from config.settings import KafkaSettings, Settings
    from connectors.kafka import topic_sinks

    topics = {**KafkaSettings().topics, "warnings": f"missing-{time.time_ns()}"}
    settings = Settings(kafka=KafkaSettings(topics=topics))
    with pytest.raises(ConnectorError, match=f"Kafka topic '{topics['warnings']}'"):
        topic_sinks(settings, kafka_bootstrap)


def test_a_broker_answer_that_passes_is_asked_again() -> None:
    """A broker restarting as the run started answered "not leader" to the first offsets
    request, and the run ended; what waiting cannot cure is raised at once."""
    from confluent_kafka import KafkaError, KafkaException

    from connectors.kafka.source import retrying

    answers = [KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)), (0, 5)]

    def ask() -> tuple[int, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retrying(ask) == (0, 5) and not answers
    answers.append(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        retrying(ask)


def test_a_failed_sign_in_to_the_broker_is_named(kafka_bootstrap: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SASL against a broker that speaks none was reported as a transport failure; the
    handshake's failure was only in librdkafka's log lines."""
    from config.errors import ConnectorError
    from connectors.kafka import source

    monkeypatch.setattr(source, "METADATA_TIMEOUT_S", 3.0)
    config = {"bootstrap.servers": kafka_bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p"}
    with pytest.raises(ConnectorError, match="the client's last error: .*SASL"):
        source.partition_counts(config, ["creditradar.fx"])


@pytest.mark.parametrize("processes", [1, 2])
def test_messages_the_broker_refuses_end_the_run_with_one_line_naming_the_topic(
        kafka_bootstrap: str, tmp_path: Path, processes: int) -> None:
    """A warnings topic whose messages the broker refuses (here: larger than the topic
    allows) ended a run with a traceback; with two processes, each said only that another
    process had ended."""
    from kafka_broker import create_topic

    feeds = portfolio(tmp_path / "feeds", customers=40, months=8, seed=3)
    topics = make_topics(kafka_bootstrap, 1)
    topics["warnings"] = f"{topics['warnings']}-small"
    create_topic(kafka_bootstrap, topics["warnings"], 1, config={"max.message.bytes": "100"})
    publish(kafka_bootstrap, feeds, topics)
    config = tmp_path / "kafka.toml"
    config.write_text("[kafka.topics]\n" + "".join(
        f'{name} = "{topic}"\n' for name, topic in topics.items()))
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--config", str(config), "--log-level", "error",
         "run", "--kafka", kafka_bootstrap, "--stop-at-end", "--out", str(tmp_path / "out"),
         "--top", "0", "--no-deliver", "--processes", str(processes)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RUST_BACKTRACE": "0"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    said = [line for line in result.stderr.splitlines()
            if "Kafka could not deliver" in line and topics["warnings"] in line]
    assert said and "too large" in said[0].lower(), result.stderr[-2000:]


def test_messages_a_closing_sink_could_not_deliver_are_kept_for_the_run_to_report() -> None:
    """A batch cut short by another error left messages queued; the sink's close flushed
    them and dropped the delivery errors: the run reported only the first error, and the
    lost warnings went unsaid. (No broker listens on the address: the messages time out.)"""
    from connectors.kafka.sinks import PRODUCER_DEFAULTS, _ProducerPartition
    from connectors.sinks import take_output_errors

    def encode(item: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        if item == "bad":
            raise ValueError("cannot encode")
        return b"k", item.encode(), []

    take_output_errors()
    sink = _ProducerPartition({**PRODUCER_DEFAULTS, "bootstrap.servers": "127.0.0.1:9",
                               "message.timeout.ms": 500, "log_level": 0}, "warnings", encode)
    with pytest.raises(ValueError):
        sink.write_batch([("x", "ok"), ("x", "bad")])
    sink.close()
    [kept] = take_output_errors()
    assert "could not deliver 1 message(s) to topic warnings" in str(kept)
    assert "timed out" in str(kept).lower()
