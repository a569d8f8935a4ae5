"""Helpers shared by the Kafka flow tests: unique topics, a simulated portfolio, references.

A test's reference is always `flows.run.run_folder` on the very feeds folder it published, run
with the same settings, so the comparison follows whatever the detectors do today.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import ConfigResource
from kafka_broker import admin_client, create_topic

from config.settings import KafkaSettings, Settings
from connectors.contracts import FEEDS
from connectors.kafka import produce_folder, read_warnings
from connectors.simulator import simulate
from flows.run import STATS, WARNINGS, RunSummary, read_jsonl, run_folder

OUTPUTS = ("warnings", "deadletter")


def make_topics(bootstrap: str, partitions: int, prefix: str = "t") -> dict[str, str]:
    """Fresh feed and output topics (``partitions`` each) with names no other test uses."""
    tag = uuid.uuid4().hex[:8]
    topics = {name: f"{prefix}-{tag}.{name}" for name in (*FEEDS, *OUTPUTS)}
    for topic in topics.values():
        create_topic(bootstrap, topic, partitions)
    return topics


def output_topics(bootstrap: str, topics: dict[str, str], partitions: int = 1) -> dict[str, str]:
    """The same feed topics with new warnings and dead-letter topics (a second run)."""
    tag = uuid.uuid4().hex[:8]
    fresh = {name: f"{topics[name]}-{tag}" for name in OUTPUTS}
    for topic in fresh.values():
        create_topic(bootstrap, topic, partitions)
    return {**topics, **fresh}


def kafka_settings(topics: dict[str, str]) -> Settings:
    return Settings(kafka=KafkaSettings(topics=topics))


def portfolio(folder: Path, customers: int = 120, months: int = 12, seed: int = 11) -> Path:
    """A small simulated portfolio (feed files) in ``folder``."""
    simulate(customers, months, seed, folder)
    return folder


def publish(bootstrap: str, feeds: Path, topics: dict[str, str]) -> dict[str, int]:
    return produce_folder({"bootstrap.servers": bootstrap}, feeds, topics)


def folder_reference(settings: Settings, feeds: Path, out: Path) -> tuple[dict[str, Any],
                                                                          RunSummary]:
    """Warnings by id (and the summary) of an uninterrupted one-worker folder run."""
    summary = run_folder(settings, feeds, out)
    return by_id(read_jsonl(out / WARNINGS)), summary


@dataclass(frozen=True)
class Published:
    """A simulated portfolio on fresh topics, with the folder run's warnings to compare."""

    topics: dict[str, str]
    settings: Settings
    counts: dict[str, int]
    expected: dict[str, Any]
    summary: RunSummary


def publish_portfolio(bootstrap: str, tmp_path: Path, customers: int = 120,
                      months: int = 12) -> Published:
    """Simulate, publish to one-partition topics, and run the folder reference."""
    feeds = portfolio(tmp_path / "feeds", customers=customers, months=months)
    topics = make_topics(bootstrap, 1)
    settings = kafka_settings(topics)
    counts = publish(bootstrap, feeds, topics)
    expected, summary = folder_reference(settings, feeds, tmp_path / "folder")
    return Published(topics, settings, counts, expected, summary)


def by_id(warnings: list[dict[str, Any]]) -> dict[str, Any]:
    rows = {w["warning_id"]: w for w in warnings}
    assert len(rows) == len(warnings), "warning ids repeat within one list"
    return rows


def topic_warnings(bootstrap: str, topic: str) -> dict[str, Any]:
    """The warnings topic, deduplicated by ``warning_id`` (the documented consumer side)."""
    return by_id(read_warnings(bootstrap, topic))


def diff(expected: dict[str, Any], got: dict[str, Any]) -> str:
    """A short account of how two warning sets differ (for assertion messages)."""
    missing = sorted(expected.keys() - got.keys())
    extra = sorted(got.keys() - expected.keys())
    changed = [k for k in sorted(expected.keys() & got.keys()) if expected[k] != got[k]]
    sample = ""
    if changed:
        a, b = expected[changed[0]], got[changed[0]]
        sample = json.dumps({f: [a.get(f), b.get(f)] for f in a.keys() | b.keys()
                             if a.get(f) != b.get(f)})[:600]
    return (f"{len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
            f"{len(changed)} changed {sample}")


def records_read(out: Path) -> dict[str, int]:
    """Source partition -> records it read, from the ``SourceDone`` rows of a run's stats."""
    return {row["partition"]: row["records"] for row in read_jsonl(out / STATS)
            if "records" in row}


def low_watermarks(bootstrap: str, topics: dict[str, str]) -> dict[str, int]:
    """``topic:partition`` -> low watermark of every feed partition whose log no longer starts
    at offset 0 (records deleted by retention); empty when every record is still there."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "creditradar-tests"})
    try:
        lows = {}
        for feed in FEEDS:
            topic = topics[feed]
            meta = consumer.list_topics(topic, timeout=30).topics[topic]
            for p in meta.partitions:
                low, _ = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                if low:
                    lows[f"{topic}:{p}"] = low
        return lows
    finally:
        consumer.close()


def retention_ms(bootstrap: str, topics: dict[str, str]) -> dict[str, str]:
    """Feed -> ``retention.ms`` of its topic (``-1``: records are never deleted by age)."""
    admin = admin_client(bootstrap)
    resources = {ConfigResource("topic", topics[feed]): feed for feed in FEEDS}
    found = admin.describe_configs(list(resources), request_timeout=30)
    return {resources[resource]: future.result(timeout=30)["retention.ms"].value
            for resource, future in found.items()}
