"""Sinks to the warnings and dead-letter topics, and their idempotent readers.

Exactly-once in effect is by deduplication, not transactions. Bytewax resumes from its last
snapshot and repeats the resumed epoch's output; a transactional producer committing in the
sink's ``snapshot`` still cannot commit atomically with bytewax's own recovery store, so a
crash between the two would repeat the epoch anyway. The flow is deterministic and every
warning carries a stable ``warning_id`` (derived from its inputs), so a repeat is a byte-equal
copy: consumers keep the first message per ``warning_id`` (`read_warnings` does) and the
notifier's outbox is idempotent on it too. Producers use ``enable.idempotence`` so librdkafka's
own retries add no copies, and each batch is flushed before bytewax may snapshot past it
(at-least-once delivery).

Warnings: key = customer id, value = the warning's JSON (the same record as its line in
``warnings.jsonl``), headers ``warning_id`` and ``kind``. Dead letters: key = the customer id
if known, value = the original bytes, headers ``reason``, ``detail``, ``feed``, ``event_id``,
``customer_id`` and ``source_topic``/``source_partition``/``source_offset`` (or ``origin``,
for a record that did not come from Kafka).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from config.errors import ConnectorError
from connectors.kafka._config import redact_config
from connectors.sinks import json_line, refused
from detectors.records import DeadLetter, Warning

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
}
MAX_HEADER_CHARS = 2000
Encoded = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def encode_warning(warning: Warning) -> Encoded:
    """Key, value and headers of a warning message."""
    headers = [("warning_id", warning.warning_id.encode()), ("kind", warning.kind.encode())]
    return warning.customer_id.encode(), json_line(warning).encode("utf-8"), headers


def encode_deadletter(dead: DeadLetter) -> Encoded:
    """Key, value (the original bytes) and headers of a dead-letter message."""
    origin = dead.origin.to_json() if dead.origin is not None else {}
    fields = {
        "reason": dead.reason,
        "detail": dead.detail[:MAX_HEADER_CHARS],
        "feed": dead.feed,
        "event_id": dead.event_id,
        "customer_id": dead.customer_id,
        "source_topic": origin.get("topic"),
        "source_partition": origin.get("partition"),
        "source_offset": origin.get("offset"),
    }
    if "topic" not in origin and origin:
        fields["origin"] = json.dumps(origin, sort_keys=True)
    headers = [(k, str(v).encode("utf-8")) for k, v in fields.items() if v is not None]
    key = dead.customer_id.encode() if dead.customer_id else None
    return key, dead.raw, headers


class _ProducerPartition(StatelessSinkPartition[tuple[str, Any]]):
    def __init__(self, config: dict[str, Any], topic: str, encode: Callable[[Any], Encoded]):
        self._producer = Producer(config)
        self._topic = topic
        self._encode = encode
        self._errors: list[str] = []

    def write_batch(self, items: list[tuple[str, Any]]) -> None:
        for _, item in items:
            key, value, headers = self._encode(item)
            while True:
                try:
                    self._producer.produce(self._topic, value, key, headers=headers,
                                           on_delivery=self._delivered)
                    break
                except BufferError:  # local queue full: let deliveries drain
                    self._producer.poll(0.1)
            self._producer.poll(0)
        # Delivered before bytewax can snapshot past this batch; waits out broker outages.
        while self._producer.flush(1.0):
            pass
        if self._errors:
            raise self._undelivered()

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._errors.append(f"{error.str()} ({error.name()})")

    def _undelivered(self) -> ConnectorError:
        """The error of the messages the broker refused or that timed out since the last
        call, kept for `connectors.sinks.take_output_errors`."""
        errors, self._errors = self._errors, []
        return refused(ConnectorError(
            f"Kafka could not deliver {len(errors)} message(s) to topic {self._topic}: "
            f"{errors[0]}"))

    def close(self) -> None:
        """Deliver what is queued (a batch cut short by another error); what could not be
        delivered is kept, not raised (`connectors.sinks.close_or_record`)."""
        while self._producer.flush(1.0):
            pass
        if self._errors:
            self._undelivered()


class _TopicSink(DynamicSink[tuple[str, Any]]):
    encode: Callable[[Any], Encoded]

    def __init__(self, topic: str, config: dict[str, Any]):
        self.topic = topic
        self.config = {**PRODUCER_DEFAULTS, **config}

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ProducerPartition:
        import structlog

        structlog.get_logger(__name__).info(
            "kafka.sink_start", step=step_id, topic=self.topic, worker=worker_index,
            config=redact_config(self.config))
        return _ProducerPartition(self.config, self.topic, type(self).encode)


class WarningsSink(_TopicSink):
    """Keyed warnings to the warnings topic (one producer per worker)."""

    encode = staticmethod(encode_warning)


class DeadLetterSink(_TopicSink):
    """Keyed dead letters to the dead-letter topic (one producer per worker)."""

    encode = staticmethod(encode_deadletter)


def read_topic(config: dict[str, Any] | str, topic: str,
               timeout_s: float = 30.0) -> list[Message]:
    """Every message of ``topic`` up to its end offsets at call time, in partition order.
    ``config`` is a librdkafka config, or just the bootstrap servers."""
    if isinstance(config, str):
        config = {"bootstrap.servers": config}
    consumer = Consumer({"group.id": "creditradar-reader", "enable.auto.commit": False,
                         "enable.partition.eof": False, **config})
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if meta.error is not None:
            raise RuntimeError(f"Kafka topic {topic!r}: {meta.error}")
        out: list[Message] = []
        for partition in sorted(meta.partitions):
            tp = TopicPartition(topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            while True:
                batch = consumer.consume(10_000, 0) or consumer.consume(1, timeout_s)
                if not batch:
                    raise TimeoutError(f"no message from {topic}[{partition}] in {timeout_s}s")
                for message in batch:
                    if message.error() is None:
                        out.append(message)
                if batch[-1].offset() >= high - 1:
                    break
        return out
    finally:
        consumer.close()


def read_warnings(config: dict[str, Any] | str, topic: str) -> list[dict[str, Any]]:
    """The warnings topic as warning dicts, each ``warning_id`` once (the first copy).

    This is the consumer side of exactly-once in effect: a restarted monitor repeats the
    warnings of the epoch it resumed, byte for byte; keeping the first per id drops them.
    ``config`` is a librdkafka config, or just the bootstrap servers.
    """
    seen: dict[str, dict[str, Any]] = {}
    for message in read_topic(config, topic):
        warning = json.loads(message.value())
        seen.setdefault(warning["warning_id"], warning)
    return list(seen.values())


def read_deadletters(config: dict[str, Any] | str, topic: str) -> list[dict[str, Any]]:
    """The dead-letter topic as dicts of its headers plus ``original`` (the value bytes)."""
    rows = []
    for message in read_topic(config, topic):
        row: dict[str, Any] = {k: v.decode("utf-8", "replace")
                               for k, v in message.headers() or ()}
        row["original"] = message.value() or b""
        rows.append(row)
    return rows
