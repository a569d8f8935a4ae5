"""Kafka connectors: the four feed topics in, the warnings and dead-letter topics out.

`KafkaFeedSource` (in `source`) merges each customer's four feeds in event time, the way the
folder source merges files; `WarningsSink` and `DeadLetterSink` (in `sinks`) write the flow's
outputs; `read_warnings` is the idempotent consumer of the warnings topic; `produce_folder`
publishes a feeds folder (tests, benchmark, demos). Broker settings and their redaction live
in `_config`. See docs/kafka.md for topics, headers and the exactly-once story.
"""

from connectors.kafka._config import broker_config, feed_topics, redact_config
from connectors.kafka.produce import produce_folder, produce_lines
from connectors.kafka.sinks import (
    DeadLetterSink,
    WarningsSink,
    read_deadletters,
    read_topic,
    read_warnings,
)
from connectors.kafka.source import KafkaFeedSource, Start

__all__ = [
    "DeadLetterSink",
    "KafkaFeedSource",
    "Start",
    "WarningsSink",
    "broker_config",
    "feed_topics",
    "produce_folder",
    "produce_lines",
    "read_deadletters",
    "read_topic",
    "read_warnings",
    "redact_config",
]
