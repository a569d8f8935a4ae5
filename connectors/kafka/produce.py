"""Publish feed records to the feed topics, keyed and stamped the way the contract asks.

The key is the customer id (news that names only a company: the company name): the source
dead-letters a message without one (`connectors.kafka.source`), and with equal partition
counts a customer's records land in the same partition of every feed topic. The message
timestamp is the record's event time, so a backfill "from a timestamp"
(``offsets_for_times``) means event time. Used by tests, the benchmark and anyone loading a
simulated portfolio into a broker.

Event-time timestamps and time retention do not mix: a broker rolls segments every
``log.roll.ms`` of *message time* (default 7 days) and deletes a rolled segment once its newest
timestamp is older than ``retention.ms`` (default 7 days) at its next retention check (30 s
after start, then every 5 minutes). A backfill of last year's events is therefore deleted, all
but its newest week, minutes after it is written, under a consumer still reading it (which
then silently resumes at the new log start). So, by default, the publishing functions first
set ``retention.ms=-1`` on the topics they write (`keep_history`).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from connectors.contracts import event_seconds
from connectors.files import feed_files

log = structlog.get_logger(__name__)

PRODUCE_DEFAULTS: dict[str, Any] = {
    "partitioner": "murmur2_random",  # the Java client's default: mixed producers agree
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "compression.type": "lz4",
    "enable.idempotence": True,
}
Headers = list[tuple[str, bytes]]
KEEP_FOREVER = "-1"
ADMIN_TIMEOUT_S = 30.0
ADMIN_KEYS = ("linger.ms", "batch.num.messages", "compression.type", "enable.idempotence",
              "partitioner", "acks")
"""Producer-only settings left out of the admin client's configuration."""


def keep_history(config: dict[str, Any], topics: Iterable[str]) -> list[str]:
    """Set ``retention.ms=-1`` on each of ``topics`` that deletes records by time; return the
    topics changed. See the module docstring: records stamped with a past event time would
    otherwise be deleted by the broker's next retention check."""
    admin = AdminClient({k: v for k, v in config.items() if k not in ADMIN_KEYS})
    names = sorted(set(topics))
    described = admin.describe_configs([ConfigResource("topic", name) for name in names],
                                       request_timeout=ADMIN_TIMEOUT_S)
    finite = []
    for resource, future in described.items():
        entries = future.result(timeout=ADMIN_TIMEOUT_S)
        entry = entries.get("retention.ms")
        if entry is None or entry.value != KEEP_FOREVER:
            finite.append(resource.name)
    if not finite:
        return []
    keep = [ConfigEntry("retention.ms", KEEP_FOREVER,
                        incremental_operation=AlterConfigOpType.SET)]
    altered = admin.incremental_alter_configs(
        [ConfigResource("topic", name, incremental_configs=keep) for name in sorted(finite)],
        request_timeout=ADMIN_TIMEOUT_S)
    for future in altered.values():
        future.result(timeout=ADMIN_TIMEOUT_S)
    log.warning("kafka.retention_disabled", topics=sorted(finite),
                reason="records carry their event time as timestamp: time retention would "
                       "delete a backfill under its readers")
    return sorted(finite)


def record_time(line: bytes) -> int | None:
    """The event time of a feed record in seconds, or None if it has no readable one."""
    try:
        obj = json.loads(line)
        return event_seconds(obj["event_time"])
    except (ValueError, TypeError, KeyError, OverflowError):
        return None


def message_timestamp(value: bytes | None, previous: int) -> int:
    """A message's timestamp in milliseconds: its record's event time, or ``previous`` for a
    record without a usable one (unreadable, before 1970, or in the future, which brokers
    refuse past ``message.timestamp.after.max.ms``). So the timestamps of a topic rise with
    its records, as ``offsets_for_times`` needs, even around a typo'd year."""
    seconds = record_time(value or b"")
    if seconds is None or not 0 < seconds <= time.time():
        return previous
    return seconds * 1000


def record_key(line: bytes) -> bytes | None:
    """The partitioning key of a feed record: customer id, else company name, else (an
    exchange rate) its currency, else (a grade) its country or industry, else none."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    key = obj.get("customer_id") or obj.get("company_name")
    if not key:  # an exchange rate, a country's or an industry's grade
        key = obj.get("currency") if "base" in obj else obj.get("country") or obj.get(
            "industry")
    return key.encode("utf-8") if isinstance(key, str) and key else None


def produce_lines(config: dict[str, Any], topic: str,
                  messages: Iterable[tuple[bytes | None, bytes | None, Headers | None]], *,
                  keep: bool = True) -> int:
    """Send (key, value, headers) messages to ``topic`` in order; return how many.

    ``keep`` first makes the topic keep its records whatever their timestamps (`keep_history`).
    """
    if keep:
        keep_history(config, [topic])
    producer = Producer({**PRODUCE_DEFAULTS, **config})
    errors: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            errors.append(str(error))

    count = 0
    stamp = 0  # 0: the producer's clock
    for key, value, headers in messages:
        stamp = message_timestamp(value, stamp)
        while True:
            try:
                producer.produce(topic, value, key, headers=headers or None, timestamp=stamp,
                                 on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
        producer.poll(0)
    while producer.flush(1.0):
        pass
    if errors:
        raise RuntimeError(f"{len(errors)} message(s) to {topic} failed: {errors[0]}")
    return count


def produce_folder(config: dict[str, Any], feeds: Path, topics: dict[str, str], *,
                   keep: bool = True) -> dict[str, int]:
    """Publish every feed file of ``feeds`` to its feed's topic; return counts per feed.

    ``keep`` first makes the feed topics keep their records (`keep_history`): the records are
    stamped with their event time, which time retention would take for old data.
    """
    files = feed_files(feeds)
    if keep:
        keep_history(config, {topics[feed] for feed, _ in files})
    counts: dict[str, int] = {}
    for feed, path in files:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            lines = (line.rstrip(b"\r\n") for line in handle)
            counts[feed] = counts.get(feed, 0) + produce_lines(
                config, topics[feed], ((record_key(line), line, None) for line in lines if line),
                keep=False)
    return counts
