"""Crashes and outages: the warnings topic still ends with exactly the uninterrupted warnings.

The monitor runs as a child process (``python -m flows.kafka_entry``) with bytewax recovery in
a directory. It is SIGKILLed at random moments and restarted from its snapshots each time;
afterwards the warnings topic, read the documented way (first copy per ``warning_id``), must
equal the warnings of an uninterrupted folder run: none lost, none changed. Copies repeated
by a resumed epoch are allowed on the topic (at-least-once) and are counted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from kafka_broker import KafkaBroker
from kafka_support import (
    diff,
    publish_portfolio,
    topic_warnings,
)

from connectors.kafka import read_topic
from flows.kafka_run import KafkaJob, prepare_recovery, spawn

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
RUN_TIMEOUT_S = 180


def _start(job: KafkaJob, log: Path, recovery: Path | None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return spawn(job, processes=1, workers=1, recovery_dir=recovery, stdout=out,
                     stderr=subprocess.STDOUT)[0]


def _finish(child: subprocess.Popen[bytes], log: Path) -> None:
    code = child.wait(timeout=RUN_TIMEOUT_S)
    assert code == 0, f"monitor exited with {code}:\n{log.read_text()[-3000:]}"


def _messages(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "count"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    published = publish_portfolio(kafka_bootstrap, tmp_path, customers=150, months=14)
    topics, settings, expected = published.topics, published.settings, published.expected
    recovery = tmp_path / "recovery"
    prepare_recovery(recovery, 1)
    job = KafkaJob(settings, kafka_bootstrap, stop_at_end=True)
    log = tmp_path / "monitor.log"

    kills = 0
    for _ in range(3):
        child = _start(job, log, recovery)
        time.sleep(rng.uniform(1.5, 4.0))  # startup is ~1.5 s; a run ~3-6 s
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait(timeout=30)
    _finish(_start(job, log, recovery), log)

    assert kills >= 1, f"seed {seed}: the monitor always finished before it could be killed"
    got = topic_warnings(kafka_bootstrap, topics["warnings"])
    assert got == expected, f"seed {seed}, {kills} kills: {diff(expected, got)}"
    copies = len(read_topic({"bootstrap.servers": kafka_bootstrap}, topics["warnings"]))
    print(f"seed {seed}: {kills} kills, {len(got)} warnings, {copies - len(got)} repeated copies")


def test_broker_outage_mid_stream(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    bootstrap = kafka_broker.bootstrap
    published = publish_portfolio(bootstrap, tmp_path, customers=250, months=18)
    topics, settings, expected = published.topics, published.settings, published.expected
    log = tmp_path / "monitor.log"
    child = _start(KafkaJob(settings, bootstrap, stop_at_end=True), log, None)

    deadline = time.monotonic() + 60
    while _messages(bootstrap, topics["warnings"]) == 0:  # mid-stream: warnings flowing
        assert child.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    kafka_broker.stop()
    assert child.poll() is None, "the monitor must wait for the broker, not exit"
    time.sleep(3)
    assert child.poll() is None, f"monitor died without its broker:\n{log.read_text()[-3000:]}"
    kafka_broker.start()
    _finish(child, log)

    got = topic_warnings(bootstrap, topics["warnings"])
    assert got == expected, diff(expected, got)
