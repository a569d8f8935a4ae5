"""Scale-out: two bytewax processes over 6-partition topics decide exactly like one.

The same feed topics are read twice, into separate warnings topics: once by one process (one
worker), once by a cluster of two processes on loopback (``python -m flows.kafka_entry -i
I -a ...``). The two warning sets must be equal, field by field, and equal to the folder run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka_support import (
    diff,
    folder_reference,
    kafka_settings,
    make_topics,
    output_topics,
    portfolio,
    publish,
    topic_warnings,
)

from connectors.kafka import read_deadletters
from flows.kafka_run import run_kafka

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


def test_two_processes_give_the_warnings_of_one(kafka_bootstrap: str, tmp_path: Path) -> None:
    feeds = portfolio(tmp_path / "feeds", customers=150, months=14)
    one = make_topics(kafka_bootstrap, 6)
    two = output_topics(kafka_bootstrap, one, partitions=6)
    publish(kafka_bootstrap, feeds, one)
    expected, _ = folder_reference(kafka_settings(one), feeds, tmp_path / "folder")

    run_kafka(kafka_settings(one), kafka_bootstrap, stop_at_end=True)
    run_kafka(kafka_settings(two), kafka_bootstrap, processes=2, stop_at_end=True)

    single = topic_warnings(kafka_bootstrap, one["warnings"])
    cluster = topic_warnings(kafka_bootstrap, two["warnings"])
    dead_single = read_deadletters(kafka_bootstrap, one["deadletter"])
    dead_cluster = read_deadletters(kafka_bootstrap, two["deadletter"])
    assert cluster == single, f"dead letters {dead_cluster}: {diff(single, cluster)}"
    assert single == expected, diff(expected, single)
    assert len(dead_cluster) == len(dead_single) == 0
