"""The Kafka feed source: every partition of the feed topics is an input of its own.

Bytewax partition ``kafka-p`` reads partition ``p`` of every feed topic that has one (up to
four inputs, named ``topic:p``) through ONE consumer, so a run holds one consumer per
partition index, not one per topic partition. Each input is a `RecordInput` of the partition
base (`connectors.partition`): it hands out messages in offset order as `RawLine`s, and the
base validates them and runs the input's own feed clock. Results therefore depend neither on
how the topics are partitioned nor on how many workers or processes read them.

Reads never wait: the consumer's fetched messages are moved into per-input queues, and an
input with an empty queue says "nothing now". A partition that gets far ahead of its inputs'
readers is paused until they catch up. An input's position (its recovery snapshot) is the
offset after the last message handed out, so a resumed run reads every message once.

``start`` says where a run without a snapshot starts: ``"beginning"``, ``"end"`` or an aware
datetime (resolved with ``offsets_for_times`` against message timestamps, which `produce`
sets to the event time). With ``stop_at_end`` an input ends at the end offset it saw when it
was opened (tests, backfills); otherwise it never ends.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from config.errors import ConnectorError
from connectors.contracts import CONTRACT_VERSION, FEEDS, MAX_RECORD_BYTES
from connectors.kafka._config import Throttle, redact_config
from connectors.partition import KEPT_OF_OVERSIZED, Feeds, RawLine, RecordInput, oversized
from detectors.events import Origin
from detectors.records import DeadLetter

log = structlog.get_logger(__name__)

Start = Literal["beginning", "end"] | datetime
"""Where a run without a snapshot starts reading: the whole log, new messages, or a time."""
T = TypeVar("T")

CONSUMER_DEFAULTS: dict[str, Any] = {
    "group.id": "creditradar-unused",  # offsets live in bytewax snapshots, not in a group
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,  # how a stop-at-end input learns it has read everything
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 100,
    "queued.max.messages.kbytes": 32768,
}
PREFIX = "kafka-"
MAX_QUEUED = 20_000
"""Messages queued per input before its topic partition is paused."""
FETCH_BATCH = 5_000
METADATA_TIMEOUT_S = 30.0
RETRY_EVERY_S = 1.0
"""How long to wait before asking a broker again that answered with a retriable error."""
RETRY_FOR_S = 30.0
"""How long to go on asking a broker that answers with retriable errors."""
_QUOTED_VALUE = re.compile(r'Invalid value ".*" for', re.DOTALL)
"""The value librdkafka quotes when it refuses a setting (`refused_setting` leaves it out)."""
PASSING = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                     KafkaError.REQUEST_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._TIMED_OUT,
                     KafkaError._ALL_BROKERS_DOWN})
"""Errors of a broker restarting or a leader moving, which librdkafka does not always mark
retriable when it answers a metadata or offsets request."""
PERMANENT = frozenset({KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._AUTHENTICATION,
                       KafkaError.SASL_AUTHENTICATION_FAILED})
"""Errors that waiting will not cure (besides those librdkafka calls fatal)."""


class KafkaInput(RecordInput):
    """One topic partition: messages fetched by its partition's shared `_Fetcher`."""

    kind = "kafka"

    def __init__(self, feed: str, topic: str, partition: int, offset: int, end: int | None,
                 fetcher: _Fetcher) -> None:
        self.feed = feed
        self.name = f"{topic}:{partition}"
        self.tp = TopicPartition(topic, partition)
        self.end = end
        self.fetched = offset
        """The offset the consumer should deliver next."""
        self.paused = False
        self.skipped = 0
        self._eof: int | None = None
        """Where the broker last said the log ends (None: not since the last message)."""
        self._next = offset
        self._queue: deque[Message] = deque()
        self._fetcher = fetcher

    def read(self) -> RawLine | None:
        if not self._queue:
            if self.ended:
                return None
            self._fetcher.fetch()
            if not self._queue:
                return None
        message = self._queue.popleft()
        self._next = message.offset() + 1
        return raw_line(self.feed, self.name, message)

    @property
    def ended(self) -> bool:
        return not self._queue and self.fetched_all()

    @property
    def live(self) -> bool:  # type: ignore[override]
        return self.end is None

    def caught_up(self) -> bool:
        return not self._queue and self._eof is not None and self._next >= self._eof

    def position(self) -> int:
        return self._next

    def close(self) -> None:
        self._fetcher.release(self)

    def fetched_all(self) -> bool:
        """Everything up to the end offset is queued or read (never, without an end)."""
        return self.end is not None and self.fetched >= self.end

    def take(self, message: Message) -> None:
        """Queue a fetched message, unless it was queued already or lies past the end."""
        offset = message.offset()
        if offset < self.fetched or self.fetched_all():
            return  # fetched again after a pause, or beyond where this run stops
        if offset > self.fetched:
            self._skipped(offset)
        self._queue.append(message)
        self.fetched = offset + 1
        self._eof = None

    def at_eof(self, offset: int) -> None:
        """The consumer reached the log's end at ``offset``: nothing before it is unread."""
        self.fetched = max(self.fetched, offset)
        self._eof = offset

    def skip_to(self, offset: int) -> None:
        """Start at ``offset``, where the log now starts, saying what was lost."""
        self._skipped(offset)
        self.fetched = self._next = offset

    def throttle(self, consumer: Consumer) -> None:
        """Pause a partition whose queue is long, or that has fetched all; resume it later."""
        stop = self.fetched_all() or len(self._queue) >= MAX_QUEUED
        if stop and not self.paused:
            consumer.pause([self.tp])
            self.paused = True
        elif self.paused and not self.fetched_all() and len(self._queue) < MAX_QUEUED // 4:
            consumer.resume([self.tp])
            self.paused = False

    def _skipped(self, offset: int) -> None:
        """The log no longer holds the offsets up to ``offset``: say so, loudly.

        The usual cause is time retention on a topic of old event times (see
        `connectors.kafka.produce`); compaction and transaction markers leave gaps too."""
        self.skipped += offset - self.fetched
        log.error("kafka.offsets_skipped", input=self.name, expected=self.fetched, got=offset,
                  skipped=offset - self.fetched,
                  hint="records deleted (retention.ms? compaction?) before they were read")


class _Fetcher:
    """The consumer of one bytewax partition, shared by its inputs."""

    def __init__(self, config: dict[str, Any], partition: str) -> None:
        self._errors: list[KafkaError] = []
        # Client-wide errors (broker down, authentication) reach us only through error_cb.
        self.consumer = Consumer({**config, "error_cb": self._errors.append})
        self.partition = partition
        self.inputs: dict[tuple[str, int], KafkaInput] = {}
        self._warnings = Throttle()

    def fetch(self) -> None:
        """Move what the consumer has fetched into the inputs' queues (never waits)."""
        messages = self.consumer.consume(FETCH_BATCH, 0)
        errors = self._errors[:]
        self._errors.clear()  # the same list: error_cb holds it
        for error in errors:
            self._on_error(error)
        for message in messages:
            error = message.error()
            source = self.inputs.get((message.topic(), message.partition()))
            if error is None and source is not None:
                source.take(message)
            elif error is not None and error.code() == KafkaError._PARTITION_EOF:
                if source is not None:
                    source.at_eof(message.offset())
            elif error is not None:
                self._on_error(error)
        self.throttle()

    def throttle(self) -> None:
        for source in self.inputs.values():
            source.throttle(self.consumer)

    def release(self, source: KafkaInput) -> None:
        """An input is closed; the last one closes the consumer."""
        if self.inputs.pop((source.tp.topic, source.tp.partition), None) is None:
            return
        if not self.inputs:
            self.consumer.close()
        if source.skipped:
            log.error("kafka.input_closed", input=source.name, skipped=source.skipped)

    def _on_error(self, error: KafkaError) -> None:
        """Raise what waiting cannot cure; warn (now and then) about what librdkafka retries:
        a broker away, a leader moving. The inputs just have nothing until it is back."""
        if error.fatal() or error.code() in PERMANENT:
            raise ConnectorError(f"Kafka consumer of {self.partition} failed: {error}")
        if self._warnings.allow(error.code()) is not None:
            log.warning("kafka.consume_error", partition=self.partition, error=str(error),
                        action="waiting for the broker; librdkafka retries")


def raw_line(feed: str, name: str, message: Message) -> RawLine:
    """A fetched message as a record, or as a dead letter if it cannot be one."""
    offset = message.offset()
    value = message.value()
    origin = Origin("kafka", name, offset)
    if value is None:
        problem = DeadLetter(feed, "missing_value", "message has no value (tombstone)", b"",
                             origin)
    elif len(value) > MAX_RECORD_BYTES:
        size, value = len(value), value[:KEPT_OF_OVERSIZED]
        problem = oversized(feed, "message", size, value, origin)
    elif not message.key():
        problem = DeadLetter(feed, "missing_key",
                             "message has no key (producers key by customer id)", value, origin)
    elif (version := _header(message, "contract_version")) not in (None, CONTRACT_VERSION):
        problem = DeadLetter(feed, "unknown_version",
                             f"contract_version header {version!r} is not supported", value,
                             origin)
    else:
        return RawLine(value, offset)
    return RawLine(value or b"", offset, problem)


def _header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or ():
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else ""
    return None


class KafkaFeeds(Feeds):
    """The feed topics as partitions ``kafka-0``, ``kafka-1``... of inputs ``topic:p``.

    ``topics`` maps each feed to its topic; ``config`` is the librdkafka configuration (see
    `broker_config`); ``start`` and ``stop_at_end`` as in the module docstring.
    """

    def __init__(self, topics: Mapping[str, str], config: Mapping[str, Any], *,
                 start: Start = "beginning", stop_at_end: bool = False) -> None:
        if sorted(topics) != sorted(FEEDS) or len(set(topics.values())) != len(FEEDS):
            raise ConnectorError(f"topics must name a topic of its own for each of the feeds "
                                 f"{FEEDS}, got {dict(topics)}")
        if isinstance(start, datetime) and start.tzinfo is None:
            raise ConnectorError("a start time must carry its time zone")
        self.topics = dict(topics)
        self.config = {**CONSUMER_DEFAULTS, **config}
        self.start = start
        self.stop_at_end = stop_at_end
        self._counts: dict[str, int] | None = None

    def partition_counts(self) -> dict[str, int]:
        """Feed -> partitions of its topic, asked once (every topic must exist)."""
        if self._counts is None:
            counts = partition_counts(self.config, [self.topics[feed] for feed in FEEDS])
            self._counts = {feed: counts[self.topics[feed]] for feed in FEEDS}
        return self._counts

    def partitions(self) -> list[str]:
        return [f"{PREFIX}{p}" for p in range(max(self.partition_counts().values()))]

    def input_names(self, partition: str) -> list[str]:
        return [f"{self.topics[feed]}:{p}" for feed, p in self._feed_partitions(partition)]

    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        fetcher = _Fetcher(self.config, partition)
        consumer = fetcher.consumer
        try:
            for feed, p in self._feed_partitions(partition):
                source = self._input(consumer, fetcher, feed, p, positions)
                fetcher.inputs[(source.tp.topic, p)] = source
            consumer.assign([TopicPartition(s.tp.topic, s.tp.partition, s.fetched)
                             for s in fetcher.inputs.values()])
            fetcher.throttle()  # inputs with nothing to read are paused from the start
        except BaseException as exc:
            consumer.close()  # a partition that cannot start leaves no consumer behind
            if isinstance(exc, KafkaException):
                raise ConnectorError(f"Kafka source {partition} cannot start: {exc}") from exc
            raise
        log.info("kafka.source_start", partition=partition, config=redact_config(self.config),
                 start=str(self.start), stop_at_end=self.stop_at_end,
                 offsets={s.name: [s.fetched, s.end] for s in fetcher.inputs.values()})
        return list(fetcher.inputs.values())

    def _feed_partitions(self, partition: str) -> list[tuple[str, int]]:
        p = int(partition.removeprefix(PREFIX))
        return [(feed, p) for feed, count in self.partition_counts().items() if p < count]

    def _input(self, consumer: Consumer, fetcher: _Fetcher, feed: str, p: int,
               positions: dict[str, Any]) -> KafkaInput:
        """One input at its snapshot's offset or, without one, where this run starts."""
        topic = self.topics[feed]
        name = f"{topic}:{p}"
        if positions and name not in positions:
            raise ConnectorError(f"{name} is not in the recovery snapshot of its partition: "
                                 "topics gained partitions; start with a fresh recovery "
                                 "directory")
        low, high = retrying(lambda: consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=METADATA_TIMEOUT_S))
        offset = positions[name] if name in positions else self._start_offset(
            consumer, topic, p, low, high)
        if offset > high:
            raise ConnectorError(f"{name} resumes at offset {offset}, past its end {high}: "
                                 "was the topic recreated? start with a fresh recovery directory")
        source = KafkaInput(feed, topic, p, offset, high if self.stop_at_end else None, fetcher)
        if offset < low:  # deleted before they were read: the consumer would jump silently
            source.skip_to(low)
        return source

    def _start_offset(self, consumer: Consumer, topic: str, p: int, low: int,
                      high: int) -> int:
        if self.start == "beginning":
            return low
        if self.start == "end":
            return high
        millis = int(self.start.timestamp() * 1000)
        found = retrying(lambda: consumer.offsets_for_times(
            [TopicPartition(topic, p, millis)], timeout=METADATA_TIMEOUT_S))[0]
        return high if found.offset < 0 else found.offset



def partition_counts(config: Mapping[str, Any], topics: list[str]) -> dict[str, int]:
    """Topic -> its number of partitions; a topic that does not exist, a broker that cannot
    be asked and settings librdkafka refuses are a ConnectorError naming them (a missing
    output topic was found only when the first warning was written, after the whole
    input)."""
    errors: list[KafkaError] = []
    try:
        consumer = Consumer({**CONSUMER_DEFAULTS, **config, "error_cb": errors.append})
    except KafkaException as exc:
        raise ConnectorError(f"Kafka settings refused: {refused_setting(exc)}") from None
    try:
        return {topic: _partition_count(consumer, topic) for topic in topics}
    except ConnectorError as exc:
        consumer.poll(0)  # (serves the client's errors: an authentication failure says why)
        if not errors:
            raise
        raise ConnectorError(f"{exc}; the client's last error: {errors[-1].str()}") from None
    finally:
        consumer.close()


def retrying(ask: Callable[[], T], wait_s: float = RETRY_FOR_S) -> T:
    """``ask()`` the broker again while it answers with an error librdkafka calls retriable
    (a leader moving, a broker restarting as the run starts), for up to ``wait_s`` seconds;
    a run started while the broker came back failed at once."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return ask()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not (isinstance(error, KafkaError)
                    and (error.retriable() or error.code() in PASSING)
                    and time.monotonic() < deadline):
                raise
            log.warning("kafka.retrying", error=str(error), action="asking the broker again")
            time.sleep(RETRY_EVERY_S)


def refused_setting(exc: KafkaException) -> str:
    """What librdkafka said of a setting it refused, without the value (which may be a key
    or a password): ``Invalid value "..." for configuration property "x"`` names x alone.

    >>> refused_setting(KafkaException(KafkaError(KafkaError._INVALID_ARG,
    ...     'Invalid value "-----BEGIN KEY" for configuration property "ssl.key.pem"')))
    'Invalid value for configuration property "ssl.key.pem"'
    """
    error = exc.args[0] if exc.args else None
    said = error.str() if isinstance(error, KafkaError) else str(exc)
    return _QUOTED_VALUE.sub("Invalid value for", said)



def _partition_count(consumer: Consumer, topic: str) -> int:
    def ask() -> Any:
        try:  # (it waits for the broker itself: a failure here is not asked again)
            meta = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics.get(topic)
        except KafkaException as exc:
            raise ConnectorError(f"Kafka topic {topic!r}: no metadata: {exc}") from exc
        if meta is not None and meta.error is not None:
            if meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:  # (waiting won't help)
                raise ConnectorError(f"Kafka topic {topic!r}: {meta.error}")
            raise KafkaException(meta.error)  # (a leader not yet elected is asked again)
        return meta

    try:
        meta = retrying(ask)
    except KafkaException as exc:
        raise ConnectorError(f"Kafka topic {topic!r}: {exc}") from exc
    if meta is None or not meta.partitions:
        raise ConnectorError(f"Kafka topic {topic!r}: not found")
    return len(meta.partitions)
