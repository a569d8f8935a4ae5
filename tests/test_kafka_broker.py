"""Tests of the Kafka test harness against a real broker (see tests/kafka_broker.py).

They also pin the client behaviour the connectors rely on: keys decide partitions, headers
(binary, repeated, null-valued) survive the round trip in order, per-partition order holds,
and data and committed group offsets survive a broker restart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from kafka_broker import KafkaBroker, create_topic, resolve_classpath

Headers = list[tuple[str, bytes | None]]


def unique(prefix: str) -> str:
    """A topic or group name no other test (or earlier session on a shared broker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_producer(bootstrap: str, **extra: object) -> Producer:
    """An idempotent, acks=all producer, as the connectors use."""
    return Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, **extra}
    )


def produce_all(
    producer: Producer, topic: str, records: list[tuple[str, bytes, Headers]]
) -> dict[str, int]:
    """Produce ``(key, value, headers)`` records, flush, and return ``key -> partition``.

    Fails the test on any delivery error or record left unsent.
    """
    partitions: dict[str, int] = {}
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(err)
            return
        key = msg.key().decode()
        assert partitions.setdefault(key, msg.partition()) == msg.partition()

    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0, "records still queued after 30 s"
    assert not errors, errors
    return partitions


@contextmanager
def consumer(bootstrap: str, group: str, topic: str) -> Iterator[Consumer]:
    """A subscribed consumer reading from the earliest offset, closed on exit."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    try:
        yield c
    finally:
        c.close()


def consume(c: Consumer, count: int, timeout_s: float = 30.0) -> list[Message]:
    """Poll until ``count`` messages arrived (or fail after ``timeout_s``)."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    assert len(got) == count, f"got {len(got)} of {count} messages in {timeout_s} s"
    return got


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_round_trip_six_partitions(kafka_bootstrap: str) -> None:
    """Keys, values and headers come back unchanged, spread by key over six partitions."""
    topic = unique("harness-rt")
    create_topic(kafka_bootstrap, topic, 6)
    records: list[tuple[str, bytes, Headers]] = []
    for i in range(120):
        key = f"debtor-{i % 24:03d}"
        headers: Headers = [
            ("source", b"payments"),
            ("seq", str(i).encode()),
            ("binary", bytes([0, 255, i % 256])),
            ("dup", b"first"),
            ("dup", b"second"),
            ("empty", None),
        ]
        records.append((key, f"value-{i}".encode(), headers))
    producer = make_producer(kafka_bootstrap, **{"linger.ms": 5})
    key_partition = produce_all(producer, topic, records)
    assert len(set(key_partition.values())) > 1, "24 keys all hashed to one partition"

    with consumer(kafka_bootstrap, unique("g-rt"), topic) as c:
        got = consume(c, len(records))
        assert c.poll(1.0) is None, "more messages than were produced"

    expected = {value: (key, headers) for key, value, headers in records}
    last_seq: dict[int, int] = {}
    for msg in got:
        key, headers = expected.pop(msg.value())
        assert msg.key() == key.encode()
        assert msg.partition() == key_partition[key]
        assert msg.headers() == headers
        seq = int(dict(msg.headers())["seq"])
        assert seq > last_seq.get(msg.partition(), -1), "per-partition order broken"
        last_seq[msg.partition()] = seq
    assert not expected, "lost messages"


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_stop_start_keeps_data_and_offsets(kafka_broker: KafkaBroker) -> None:
    """A clean stop and start on the same ports keeps records and committed group offsets."""
    bootstrap = kafka_broker.bootstrap
    topic, group = unique("harness-restart"), unique("g-restart")
    kafka_broker.create_topic(topic, 6)
    before = [(f"k{i}", f"before-{i}".encode(), []) for i in range(30)]
    produce_all(make_producer(bootstrap), topic, before)
    with consumer(bootstrap, group, topic) as c:
        consume(c, len(before))
        c.commit(asynchronous=False)

    starts = kafka_broker.starts
    kafka_broker.stop()
    assert not kafka_broker.running
    kafka_broker.start()
    assert kafka_broker.running and kafka_broker.starts == starts + 1
    assert kafka_broker.bootstrap == bootstrap

    after = [(f"k{i}", f"after-{i}".encode(), []) for i in range(30)]
    produce_all(make_producer(bootstrap), topic, after)
    with consumer(bootstrap, group, topic) as c:
        values = {m.value() for m in consume(c, len(after))}
        assert c.poll(1.0) is None
    assert values == {v for _, v, _ in after}, "the group did not resume at its commit"

    with consumer(bootstrap, unique("g-all"), topic) as c:
        values = {m.value() for m in consume(c, len(before) + len(after))}
    assert values == {v for _, v, _ in before + after}


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_kill_then_produce_during_outage(kafka_broker: KafkaBroker) -> None:
    """Records produced while the broker is down are delivered once it is back (crash case)."""
    bootstrap = kafka_broker.bootstrap
    topic = unique("harness-outage")
    kafka_broker.create_topic(topic, 3)
    produce_all(make_producer(bootstrap), topic, [("a", b"pre-crash", [])])

    producer = make_producer(bootstrap, **{"message.timeout.ms": 120000})
    results: list[KafkaError | None] = []
    kafka_broker.kill()
    assert not kafka_broker.running
    for i in range(10):
        producer.produce(
            topic,
            key=f"k{i}",
            value=f"during-{i}".encode(),
            on_delivery=lambda err, _msg: results.append(err),
        )
    producer.poll(1.0)
    assert len(producer) == 10, "records should wait in the client while the broker is down"
    assert not results

    kafka_broker.start()
    assert producer.flush(60) == 0
    assert results == [None] * 10
    with consumer(bootstrap, unique("g-outage"), topic) as c:
        values = {m.value() for m in consume(c, 11)}
    assert values == {b"pre-crash"} | {f"during-{i}".encode() for i in range(10)}


def test_classpath_cache_skips_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached classpath whose jars exist is used as is; a stale one is not trusted."""
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"")
    cache = tmp_path / "cp.txt"
    cache.write_text(str(jar))

    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError("Maven ran although the cache was good")

    monkeypatch.setattr("kafka_broker.subprocess.run", no_maven)
    assert resolve_classpath(cache) == str(jar)
    jar.unlink()
    with pytest.raises(AssertionError, match="Maven ran"):
        resolve_classpath(cache)
