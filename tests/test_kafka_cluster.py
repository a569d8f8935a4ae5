"""Scale-out: two bytewax processes over 6-partition topics decide exactly like one.

The same feed topics are read twice, into separate warnings topics: once by one process (one
worker), once by a cluster of two processes on loopback (``python -m flows.kafka_entry -i
I -a ...``). The two warning sets must be equal, field by field, and equal to the folder run,
and the cluster must have read every published record (its stats' ``SourceDone`` counts).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka_support import (
    diff,
    folder_reference,
    kafka_settings,
    low_watermarks,
    make_topics,
    output_topics,
    portfolio,
    publish,
    records_read,
    retention_ms,
    topic_warnings,
)

from connectors.kafka import read_deadletters
from flows.kafka_run import run_kafka

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


def test_two_processes_give_the_warnings_of_one(kafka_bootstrap: str, tmp_path: Path) -> None:
    feeds = portfolio(tmp_path / "feeds", customers=150, months=14)
    one = make_topics(kafka_bootstrap, 6)
    two = output_topics(kafka_bootstrap, one, partitions=6)
    published = sum(publish(kafka_bootstrap, feeds, one).values())
    expected, _ = folder_reference(kafka_settings(one), feeds, tmp_path / "folder")

    run_kafka(kafka_settings(one), kafka_bootstrap, stop_at_end=True)
    run_kafka(kafka_settings(two), kafka_bootstrap, processes=2, stop_at_end=True,
              out=tmp_path / "cluster")

    # Every record, once: the records are stamped with old event times, which a topic's time
    # retention would delete under the readers (and the consumer would silently skip).
    assert set(retention_ms(kafka_bootstrap, one).values()) == {"-1"}
    assert low_watermarks(kafka_bootstrap, one) == {}, "the broker deleted published records"
    read = records_read(tmp_path / "cluster")
    assert sum(read.values()) == published, f"read {read} of {published} published records"
    assert len(read) == 6, read

    single = topic_warnings(kafka_bootstrap, one["warnings"])
    cluster = topic_warnings(kafka_bootstrap, two["warnings"])
    dead_single = read_deadletters(kafka_bootstrap, one["deadletter"])
    dead_cluster = read_deadletters(kafka_bootstrap, two["deadletter"])
    assert cluster == single, f"dead letters {dead_cluster}: {diff(single, cluster)}"
    assert single == expected, diff(expected, single)
    assert len(dead_cluster) == len(dead_single) == 0
