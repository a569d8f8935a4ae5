"""Publish feed records to the feed topics, keyed the way `KafkaFeedSource` needs.

The key is the customer id (news that names only a company: the company name), so with equal
partition counts a customer's records land in the same partition of every feed topic (see
`connectors.kafka.source`). The message timestamp is the record's event time, so a backfill
"from a timestamp" (``offsets_for_times``) means event time. Used by tests, the benchmark and
anyone loading a simulated portfolio into a broker.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from connectors.files import event_seconds, feed_files

PRODUCE_DEFAULTS: dict[str, Any] = {
    "partitioner": "murmur2_random",  # the Java client's default: mixed producers agree
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "compression.type": "lz4",
    "enable.idempotence": True,
}
Headers = list[tuple[str, bytes]]


def record_key(line: bytes) -> bytes | None:
    """The partitioning key of a feed record: customer id, else company name, else none."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    key = obj.get("customer_id") or obj.get("company_name")
    return key.encode("utf-8") if isinstance(key, str) and key else None


def produce_lines(config: dict[str, Any], topic: str,
                  messages: Iterable[tuple[bytes | None, bytes | None, Headers | None]]) -> int:
    """Send (key, value, headers) messages to ``topic`` in order; return how many."""
    producer = Producer({**PRODUCE_DEFAULTS, **config})
    errors: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            errors.append(str(error))

    count = 0
    for key, value, headers in messages:
        timestamp = event_seconds(value or b"")
        while True:
            try:
                producer.produce(topic, value, key, headers=headers or None,
                                 timestamp=timestamp * 1000 if timestamp else 0,
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


def produce_folder(config: dict[str, Any], feeds: Path, topics: dict[str, str]) -> dict[str, int]:
    """Publish every feed file of ``feeds`` to its feed's topic; return counts per feed."""
    counts: dict[str, int] = {}
    for feed, path in feed_files(feeds):
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            lines = (line.rstrip(b"\r\n") for line in handle)
            counts[feed] = counts.get(feed, 0) + produce_lines(
                config, topics[feed], ((record_key(line), line, None) for line in lines if line))
    return counts
