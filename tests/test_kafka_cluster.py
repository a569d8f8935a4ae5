"""Scale-out: two processes over 6-partition topics write exactly what one process writes.

The same feed topics are read twice, into separate warnings and dead-letter topics: once by
one process (one worker), once by a cluster of two spawned processes on loopback
(`flows.cluster.run_job` with ``processes=2``). Both must write the folder run's warnings,
scores and watchlist byte for byte, and the same warnings to their topics; the cluster must
have read every published record once (its stats' `ReadCount` rows, one per topic partition).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka_support import (
    differing,
    folder_reference,
    kafka_settings,
    low_watermarks,
    make_topics,
    output_topics,
    portfolio,
    publish,
    records_read,
    retention_ms,
    run_kafka,
    topic_as_file,
)

from connectors.contracts import FEEDS
from connectors.kafka import read_deadletters

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
PARTITIONS = 6


def test_two_processes_write_what_one_process_and_the_folder_write(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    reference = folder_reference(portfolio(tmp_path / "feeds", customers=120, months=12),
                                 tmp_path / "folder")
    one = make_topics(kafka_bootstrap, PARTITIONS)
    two = output_topics(kafka_bootstrap, one, partitions=PARTITIONS)
    published = publish(kafka_bootstrap, reference.feeds, one)

    single = run_kafka(kafka_settings(one), kafka_bootstrap, tmp_path / "single")
    cluster = run_kafka(kafka_settings(two), kafka_bootstrap, tmp_path / "cluster",
                        processes=2)

    # Every record, once: the records are stamped with old event times, which a topic's time
    # retention would delete under the readers (and the consumer would skip).
    assert set(retention_ms(kafka_bootstrap, one).values()) == {"-1"}
    assert low_watermarks(kafka_bootstrap, one) == {}, "the broker deleted published records"
    read = records_read(tmp_path / "cluster")
    assert set(read) == {f"{one[f]}:{p}" for f in FEEDS for p in range(PARTITIONS)}
    assert sum(read.values()) == published
    book_wide = tuple(one[f] + ":" for f in ("fx", "country_risk", "industry_risk"))
    per_customer = {n: count for n, count in read.items() if not n.startswith(book_wide)}
    assert all(per_customer.values()), f"some partition got no records: {read}"

    assert differing(reference.out, tmp_path / "single") == []
    assert differing(reference.out, tmp_path / "cluster") == []
    assert single == cluster == reference.summary
    topic_as_file(kafka_bootstrap, one["warnings"], tmp_path / "single-topic.jsonl")
    topic_as_file(kafka_bootstrap, two["warnings"], tmp_path / "cluster-topic.jsonl")
    warnings = (reference.out / "warnings.jsonl").read_bytes()
    assert (tmp_path / "single-topic.jsonl").read_bytes() == warnings
    assert (tmp_path / "cluster-topic.jsonl").read_bytes() == warnings
    assert read_deadletters(kafka_bootstrap, one["deadletter"]) == []
    assert read_deadletters(kafka_bootstrap, two["deadletter"]) == []
