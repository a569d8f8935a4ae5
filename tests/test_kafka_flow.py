"""The monitor on a real Kafka broker: same warnings as the folder run, bad input accounted.

Each test publishes a small simulated portfolio to fresh topics, runs `run_kafka` to the end
of the topics, and compares the warnings topic (deduplicated by ``warning_id``) with the
warnings of `flows.run.run_folder` on the same folder, field by field.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedkit import drain, payment
from kafka_support import (
    diff,
    folder_reference,
    kafka_settings,
    make_topics,
    portfolio,
    publish,
    publish_portfolio,
    topic_warnings,
)

from connectors.contracts import FEEDS, MAX_RECORD_BYTES
from connectors.files import event_seconds, feed_files
from connectors.kafka import KafkaFeedSource, produce_lines, read_deadletters
from connectors.kafka.produce import record_key
from connectors.records import DeadLetter, RawRecord, Watermark
from flows.kafka_run import run_kafka
from flows.run import STATS, read_jsonl

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]


def test_kafka_run_gives_the_folder_runs_warnings(kafka_bootstrap: str, tmp_path: Path) -> None:
    ref = publish_portfolio(kafka_bootstrap, tmp_path)
    topics, settings = ref.topics, ref.settings
    published, expected, summary = ref.counts, ref.expected, ref.summary
    assert expected, "the portfolio should produce some warnings"

    run_kafka(settings, kafka_bootstrap, stop_at_end=True, out=tmp_path / "kafka")

    got = topic_warnings(kafka_bootstrap, topics["warnings"])
    assert got == expected, diff(expected, got)
    stats = read_jsonl(tmp_path / "kafka" / STATS)
    assert sum(r["records"] for r in stats if "records" in r) == sum(published.values())
    assert sum(r["count"] for r in stats if "count" in r) == summary.accepted
    assert read_deadletters(kafka_bootstrap, topics["deadletter"]) == []


def _bad_messages() -> dict[str, list[tuple[bytes | None, bytes | None, list | None]]]:
    """About three thousand broken messages per feed, each with the reason it must get."""
    good = json.dumps({"event_time": "2021-03-01T00:00:00Z", "event_id": "x",
                       "customer_id": "C000001"}).encode()
    key = b"C000001"
    return {
        "payments": [(key, b"{not json %d" % i, None) for i in range(1000)]
        + [(None, good, None) for _ in range(500)],
        "news": [(key, b"\xff\xfe caf\xe9 %d" % i, None) for i in range(800)]
        + [(key, None, None) for _ in range(200)],
        "registry": [(key, good, [("contract_version", b"2")]) for _ in range(500)],
        "customers": [(key, b'{"pad":"' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}', None)
                      for _ in range(3)],
    }


EXPECTED_REASONS = {"invalid_json": 1000, "missing_key": 500, "not_utf8": 800,
                    "missing_value": 200, "unknown_version": 500, "too_large": 3}


def test_bad_messages_go_to_the_dead_letter_topic(kafka_bootstrap: str, tmp_path: Path) -> None:
    feeds = portfolio(tmp_path / "feeds", customers=80, months=10)
    topics = make_topics(kafka_bootstrap, 1)
    settings = kafka_settings(topics)
    expected, summary = folder_reference(settings, feeds, tmp_path / "folder")
    bad = _bad_messages()
    config = {"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 2_000_000}
    good_count = 0
    for feed, path in feed_files(feeds):
        lines = [line for line in path.read_bytes().splitlines() if line]
        good_count += len(lines)
        broken = bad[feed]
        step = max(1, len(lines) // max(1, len(broken)))
        messages: list = []
        for i, line in enumerate(lines):  # broken messages spread among the good ones
            messages.append((record_key(line), line, None))
            if i % step == 0 and broken:
                messages.append(broken.pop())
        messages.extend(broken)
        produce_lines(config, topics[feed], messages)

    run_kafka(settings, kafka_bootstrap, stop_at_end=True, out=tmp_path / "kafka")

    dead = read_deadletters(kafka_bootstrap, topics["deadletter"])
    assert Counter(d["reason"] for d in dead) == EXPECTED_REASONS
    assert all(d["source_topic"] in topics.values() and d["source_offset"] for d in dead)
    assert {d["original"] for d in dead if d["reason"] == "invalid_json"} == {
        b"{not json %d" % i for i in range(1000)}
    stats = read_jsonl(tmp_path / "kafka" / STATS)
    read = sum(r["records"] for r in stats if "records" in r)
    accepted = sum(r["count"] for r in stats if "count" in r)
    assert read == good_count + sum(EXPECTED_REASONS.values())
    assert accepted == summary.accepted and read == accepted + len(dead)
    got = topic_warnings(kafka_bootstrap, topics["warnings"])
    assert got == expected, diff(expected, got)


def test_backfill_from_a_timestamp(kafka_bootstrap: str, tmp_path: Path) -> None:
    feeds = portfolio(tmp_path / "feeds", customers=20, months=6)
    topics = make_topics(kafka_bootstrap, 2)
    publish(kafka_bootstrap, feeds, topics)
    since = datetime(2021, 4, 1, tzinfo=UTC)
    wanted = sum(1 for _, path in feed_files(feeds) for line in path.read_bytes().splitlines()
                 if line and (event_seconds(line) or 0) >= since.timestamp())
    source = KafkaFeedSource({f: topics[f] for f in FEEDS},
                             {"bootstrap.servers": kafka_bootstrap}, start=since,
                             stop_at_end=True)
    records = [i for name in source.list_parts()
               for i in drain(source.build_part("feeds", name, None)) if isinstance(i, RawRecord)]
    assert len(records) == wanted
    assert min(event_seconds(r.raw) or 0 for r in records) >= since.timestamp()


def test_a_far_future_record_is_dead_lettered_without_moving_the_clock(
    kafka_bootstrap: str, tmp_path: Path,
) -> None:
    topics = make_topics(kafka_bootstrap, 1)
    config = {"bootstrap.servers": kafka_bootstrap}
    key = b"C000001"
    lines = [json.dumps(payment("C000001", day, "i", 1, event_id=eid)).encode()
             for day, eid in (("2010-01-04", "a"), ("2025-06-01", "typo"))]
    produce_lines(config, topics["payments"], [(key, line, None) for line in lines])
    source = KafkaFeedSource({f: topics[f] for f in FEEDS}, config, stop_at_end=True)
    items = [i for name in source.list_parts() for i in drain(source.build_part("feeds", name,
                                                                               None))]

    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert [(d.reason, json.loads(d.raw)["event_id"]) for d in dead] == [
        ("implausible_time", "typo")]
    marks = [i.at for i in items if isinstance(i, Watermark)]
    assert marks and max(marks) < datetime(2011, 1, 1, tzinfo=UTC).timestamp()
