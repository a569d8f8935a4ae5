"""Kafka connectors: the feed topics in, the warnings and dead-letter topics out.

`kafka_feeds` gives the feed topics as a source of the partition base (`KafkaFeeds`, in
`source`: one input per topic partition, one consumer per partition index), which a
`flows.job.Job` of kind ``kafka`` runs like any other source. `topic_sinks` gives the
warnings and dead-letter topics (`WarningsSink`, `DeadLetterSink`, in `sinks`) that a run
writes beside its files. `read_warnings` is the idempotent consumer of the warnings topic;
`produce_folder` publishes a feeds folder (tests, benchmark, demos). Broker settings and their
redaction live in `_config`. See docs/kafka.md for topics, headers and recovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.kafka._config import broker_config, feed_topics, redact_config
from connectors.kafka.produce import produce_folder, produce_lines
from connectors.kafka.sinks import (
    DeadLetterSink,
    WarningsSink,
    read_deadletters,
    read_topic,
    read_warnings,
)
from connectors.kafka.source import KafkaFeeds, KafkaInput, Start, partition_counts

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = [
    "DeadLetterSink",
    "KafkaFeeds",
    "KafkaInput",
    "Start",
    "WarningsSink",
    "broker_config",
    "feed_topics",
    "kafka_feeds",
    "produce_folder",
    "produce_lines",
    "read_deadletters",
    "read_topic",
    "read_warnings",
    "redact_config",
    "topic_sinks",
]


def kafka_feeds(settings: Settings, bootstrap: str | None, start: Start = "beginning",
                stop_at_end: bool = False) -> KafkaFeeds:
    """The feed topics of ``settings.kafka`` on ``bootstrap`` (else ``kafka.bootstrap``)."""
    kafka = settings.kafka
    return KafkaFeeds(feed_topics(kafka), broker_config(bootstrap, kafka), start=start,
                      stop_at_end=stop_at_end)


def topic_sinks(settings: Settings, bootstrap: str | None) -> tuple[WarningsSink, DeadLetterSink]:
    """The warnings and dead-letter topic sinks of ``settings.kafka`` on ``bootstrap``."""
    topics = feed_topics(settings.kafka, ("warnings", "deadletter"))
    config = broker_config(bootstrap, settings.kafka)
    partition_counts(config, list(topics.values()))  # (each must exist: the run writes them)
    return WarningsSink(topics["warnings"], config), DeadLetterSink(topics["deadletter"], config)
