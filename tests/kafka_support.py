"""Helpers shared by the Kafka flow tests: unique topics, a simulated portfolio, references.

A test's reference is always `flows.run.run_folder` on the very feeds folder it published, run
with the same deciding settings, so the comparisons follow whatever the detectors do today.
Outputs are compared as bytes: a run over Kafka must write what the folder run writes.
"""

from __future__ import annotations

import difflib
import itertools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import ConfigResource, NewPartitions
from kafka_broker import admin_client, create_topic

from config.settings import KafkaSettings, Settings
from config.version import program_version
from connectors.contracts import FEEDS
from connectors.kafka import produce_folder, read_topic, read_warnings
from connectors.simulator import simulate
from connectors.sinks import json_line
from flows.cluster import run_job
from flows.job import Job, SourceSpec
from flows.run import STATS, WARNINGS, RunSummary, canonicalize, read_jsonl, run_folder

OUTPUTS = ("warnings", "deadletter")
COMPARED = ("warnings.jsonl", "scores.jsonl", "watchlist.jsonl")
"""The outputs that must be byte-identical between runs of the same accepted records."""


def make_topics(bootstrap: str, partitions: int, prefix: str = "t") -> dict[str, str]:
    """Fresh feed and output topics (``partitions`` each) with names no other test uses."""
    tag = uuid.uuid4().hex[:8]
    topics = {name: f"{prefix}-{tag}.{name}" for name in (*FEEDS, *OUTPUTS)}
    for topic in topics.values():
        create_topic(bootstrap, topic, partitions)
    return topics


def add_partition(bootstrap: str, topic: str) -> None:
    """Give ``topic`` one partition more (empty), and wait until it has a leader."""
    admin = admin_client(bootstrap)
    count = len(admin.list_topics(topic=topic, timeout=10).topics[topic].partitions)
    futures = admin.create_partitions([NewPartitions(topic, count + 1)])
    futures[topic].result(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        partitions = admin.list_topics(topic=topic, timeout=10).topics[topic].partitions
        if len(partitions) == count + 1 and all(p.leader >= 0 for p in partitions.values()):
            return
        assert time.monotonic() < deadline, f"{topic} has no leader for its new partition"
        time.sleep(0.1)


def output_topics(bootstrap: str, topics: dict[str, str], partitions: int = 1) -> dict[str, str]:
    """The same feed topics with new warnings and dead-letter topics (a second run)."""
    tag = uuid.uuid4().hex[:8]
    fresh = {name: f"{topics[name]}-{tag}" for name in OUTPUTS}
    for topic in fresh.values():
        create_topic(bootstrap, topic, partitions)
    return {**topics, **fresh}


def kafka_settings(topics: dict[str, str], **extra: Any) -> Settings:
    return Settings(kafka=KafkaSettings(topics=topics), **extra)


def portfolio(folder: Path, customers: int = 100, months: int = 10, seed: int = 11) -> Path:
    """A small simulated portfolio (feed files) in ``folder``."""
    simulate(customers, months, seed, folder)
    return folder


def publish(bootstrap: str, feeds: Path, topics: dict[str, str]) -> int:
    """Publish a feeds folder; the number of messages."""
    return sum(produce_folder({"bootstrap.servers": bootstrap}, feeds, topics).values())


@dataclass(frozen=True)
class Reference:
    """A feeds folder and the outputs of an uninterrupted one-worker folder run over it."""

    feeds: Path
    out: Path
    summary: RunSummary

    def warnings(self) -> list[dict[str, Any]]:
        return read_jsonl(self.out / WARNINGS)


def folder_reference(feeds: Path, out: Path) -> Reference:
    """Run the folder reference (with scores) over ``feeds`` into ``out``.

    Warnings name the program version, a digest of the code on disk that this process
    computes once; spawned processes compute it when they start. It is computed afresh here,
    so that a reference and the processes started after it name the same code even where the
    code is edited while the tests run."""
    program_version.cache_clear()
    summary = run_folder(Settings(), feeds, out, scores=True, notify=False)
    return Reference(feeds, out, summary)


def kafka_job(settings: Settings, bootstrap: str, out: Path, **options: Any) -> Job:
    """A run over the feed topics to their current end, writing scores too; ``options`` are
    the Job's (``processes``, ``workers``...) or the source's (``start``)."""
    source = {"bootstrap": bootstrap, "stop_at_end": True}
    if "start" in options:
        source["start"] = options.pop("start")
    return Job(settings, SourceSpec("kafka", source), out, scores=True, **options)


def run_kafka(settings: Settings, bootstrap: str, out: Path, **options: Any) -> RunSummary:
    return run_job(kafka_job(settings, bootstrap, out, **options))


def differing(expected: Path, got: Path, names: tuple[str, ...] = COMPARED) -> list[str]:
    """The outputs in ``names`` whose bytes differ between two run folders (each must exist)."""
    for name in names:
        assert (expected / name).is_file(), f"{expected / name} was not written"
    return [name for name in names if (expected / name).read_bytes() != (got / name)
            .read_bytes()]


def first_differences(expected: Path, got: Path, names: list[str], lines: int = 30) -> str:
    """The first lines of a unified diff of each of ``names`` between two run folders: what
    a failed comparison shows, so that a rare failure can be read from its log."""
    out = []
    for name in names:
        diff = difflib.unified_diff((expected / name).read_text().splitlines(),
                                    (got / name).read_text().splitlines(),
                                    f"expected/{name}", f"got/{name}", lineterm="")
        out.extend(itertools.islice(diff, lines))
    return "\n".join(out)


def topic_as_file(bootstrap: str, topic: str, path: Path) -> list[dict[str, Any]]:
    """The warnings topic, first copy per ``warning_id``, written to ``path`` in the canonical
    order of a run's ``warnings.jsonl`` (so the two can be compared as bytes)."""
    warnings = read_warnings(bootstrap, topic)
    path.write_text("".join(json_line(w) + "\n" for w in warnings), encoding="utf-8")
    canonicalize(path)
    return warnings


def message_count(bootstrap: str, topic: str) -> int:
    """Every message of a topic, repeats included."""
    return len(read_topic(bootstrap, topic))


def records_read(out: Path) -> dict[str, int]:
    """Input -> records it read, from the ``ReadCount`` rows of a run's stats."""
    return {row["input"]: row["records"] for row in read_jsonl(out / STATS)
            if "records" in row}


def diff(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> str:
    """A short account of how two warning lists differ (for assertion messages)."""
    a = {w["warning_id"]: w for w in expected}
    b = {w["warning_id"]: w for w in got}
    missing, extra = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    changed = [k for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    return (f"{len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
            f"{len(changed)} changed {changed[:5]}")


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
