"""The Kafka feed source: each customer's four feeds merged in event time, per partition.

Why not one bytewax partition per Kafka partition: a customer's events live in four topics,
and a registry partition (a few events a month) would race months ahead of the payments
partition, so the customer's clock would jump and its payments arrive "late". Instead the
source relies on co-partitioning, like Kafka Streams joins do: producers key every message
by customer id (news without one: by company name), so with ``n`` partitions per topic a
customer sits in partition ``hash % n`` of every topic. Source partition ``i`` of
``g = gcd(partition counts)`` reads Kafka partitions ``p`` with ``p % g == i`` of all four
topics and merges them like the folder source merges files: by (event time, feed), one
event-time day per batch, a `Watermark` when it crosses a day. So one customer's events reach
its state in exactly the order of a folder run, whatever the number of workers.

A partition's snapshot is the next offset of every Kafka partition it reads (the offset of
the oldest message fetched but not yet emitted), so input is exactly-once under recovery.

While every Kafka partition has a backlog the merge is strict: it waits for a head from each.
A Kafka partition that reached the end of its log (a partition-EOF event) stops holding the
merge back, and when all of a source partition's inputs are caught up it sends
``Watermark(idle=True)``: the portfolio clock then ignores it until it reads again, so a quiet
partition cannot stall the clock. With ``stop_at_end`` the partition finishes at the end
offsets seen when it was built (tests, backfills, the benchmark).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from connectors.contracts import CONTRACT_VERSION, FEEDS, MAX_RECORD_BYTES
from connectors.files import (
    KEPT_OF_OVERSIZED,
    MAX_GAP_DAYS,
    SourceItem,
    event_seconds,
    implausible,
    oversized,
)
from connectors.kafka._config import redact_config
from connectors.records import DeadLetter, RawRecord, SourceDone, Watermark
from detectors.clock import DAY

log = structlog.get_logger(__name__)

Start = Literal["beginning", "end"] | datetime
"""Where a fresh run starts reading: the whole log, only new messages, or a time."""

CONSUMER_DEFAULTS: dict[str, Any] = {
    "group.id": "creditradar-unused",  # offsets live in bytewax snapshots, not the group
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 100,
    "queued.max.messages.kbytes": 32768,
}
MAX_QUEUED = 20_000
"""Messages held per Kafka partition before it is paused (one topic far ahead of another)."""
METADATA_TIMEOUT_S = 30.0
FETCH_BATCH = 10_000
LOG_WAIT_EVERY_S = 10.0


@dataclass(slots=True)
class _Input:
    """One Kafka partition read by a source partition: its fetched-but-unsent messages."""

    feed: str
    feed_index: int
    tp: TopicPartition
    position: int  # offset after the last message fetched
    end: int | None  # stop here (stop_at_end), else None
    queue: deque[tuple[int | None, int, SourceItem]] = field(default_factory=deque)
    """(event time or None, offset, item) of fetched messages not yet sent."""
    at_eof: bool = False
    paused: bool = False
    skipped: int = 0
    """Offsets jumped over: records deleted (retention, compaction) before they were read."""

    @property
    def name(self) -> str:
        return f"{self.tp.topic}:{self.tp.partition}"

    def next_offset(self) -> int:
        """Where a resumed run starts: the oldest unsent message, else the fetch position."""
        return self.queue[0][1] if self.queue else self.position

    def exhausted(self) -> bool:
        return not self.queue and self.end is not None and self.position >= self.end

    def waiting(self) -> bool:
        """Nothing queued but more may come before the log's end: the merge must wait."""
        return not self.queue and not self.at_eof and not self.exhausted()


class _MergedPartition(StatefulSourcePartition[SourceItem, dict[str, Any]]):
    def __init__(self, name: str, count: int, inputs: list[_Input], consumer: Consumer,
                 resume: dict[str, Any] | None, first_day: int | None, poll_timeout: float):
        self._name, self._count = name, count
        self._inputs = inputs
        self._by_tp = {(i.tp.topic, i.tp.partition): n for n, i in enumerate(inputs)}
        self._consumer = consumer
        self._poll_timeout = poll_timeout
        state = resume or {}
        self._read: int = state.get("read", 0)
        self._clock: int = state.get("clock", 0)
        self._done: bool = state.get("done", False)
        self._day: int | None = state.get("day", first_day)
        self._idle = False
        self._heap: list[tuple[int, int, int, int]] = []  # (at, feed, input, offset)

    # -- bytewax ---------------------------------------------------------------------------

    def next_batch(self) -> list[SourceItem]:
        """Everything of one event-time day (see `FeedFolderSource`: with one epoch per batch,
        every partition's k-th batch is the same day, on every worker)."""
        if self._done:
            raise StopIteration
        self._fetch(0.0)
        self._wait_for_heads()
        if all(i.exhausted() for i in self._inputs):
            return self._finish()
        if not self._heap:
            if self._idle:
                return []
            self._idle = True  # caught up: stop holding the portfolio clock back
            return [Watermark(self._name, self._count, self._clock, idle=True)]
        self._idle = False
        head_day = self._heap[0][0] // DAY
        if self._day is None or self._count == 1:
            self._day = max(self._day or head_day, head_day)  # alone: skip empty days
        out: list[SourceItem] = [Watermark(self._name, self._count, self._day * DAY)]
        end = (self._day + 1) * DAY
        while self._heap and self._heap[0][0] < end:
            out.append(self._pop())
        while self._heap and self._heap[0][0] // DAY > self._day + MAX_GAP_DAYS:
            at = self._heap[0][0]
            item = self._pop(advance_clock=False)
            out.append(implausible(item, at, self._day) if isinstance(item, RawRecord) else item)
        self._day += 1
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"offsets": {i.name: i.next_offset() for i in self._inputs},
                "read": self._read, "clock": self._clock, "done": self._done, "day": self._day}

    def close(self) -> None:
        self._consumer.close()

    # -- merging ---------------------------------------------------------------------------

    def _pop(self, advance_clock: bool = True) -> SourceItem:
        """The merge's next item. If that emptied its input, wait for the input's next head:
        only the input popped from can start waiting (`_wait_for_heads` left none waiting)."""
        at, _, index, _ = heapq.heappop(self._heap)
        source = self._inputs[index]
        _, _, item = source.queue.popleft()
        if advance_clock:
            self._clock = max(self._clock, at)
        self._read += 1
        if source.waiting():
            self._wait_for_heads()
        else:
            self._push_head(index)
        return item

    def _finish(self) -> list[SourceItem]:
        self._done = True
        out: list[SourceItem] = []
        if self._clock:
            out.append(Watermark(self._name, self._count, self._clock))
        # Finished: the clock now follows the partitions still reading.
        out.append(Watermark(self._name, self._count, self._clock, idle=True))
        out.append(SourceDone(self._name, self._read))
        skipped = {i.name: i.skipped for i in self._inputs if i.skipped}
        log.info("kafka.source_done", partition=self._name, records=self._read,
                 ends={i.name: i.end for i in self._inputs}, skipped=skipped)
        return out

    def _wait_for_heads(self) -> None:
        """Block until every input has a head or is at its end: the merge must not guess.

        This blocks the worker (bytewax prefers partitions that never block), but only while a
        backlog is being fetched or the broker is away; returning an empty batch instead would
        start a new epoch and break the day-per-epoch lockstep across workers.
        """
        waited = 0.0
        while any(i.waiting() for i in self._inputs):
            self._fetch(self._poll_timeout)
            waited += self._poll_timeout
            if waited >= LOG_WAIT_EVERY_S:
                waited = 0.0
                log.warning("kafka.source_waiting", partition=self._name,
                            inputs=[i.name for i in self._inputs if i.waiting()])

    def _fetch(self, timeout: float) -> None:
        """Move what the consumer has fetched into the per-partition queues; with a
        ``timeout``, wait that long for at least one message (or event) if none is there."""
        messages = self._consumer.consume(FETCH_BATCH, 0)
        if not messages and timeout:
            messages = self._consumer.consume(1, timeout)
        for message in messages:
            error = message.error()
            if error is not None:
                self._on_error(message, error)
                continue
            index = self._by_tp[(message.topic(), message.partition())]
            source = self._inputs[index]
            offset = message.offset()
            if offset < source.position:
                continue  # fetched again after a rewind: already queued or sent
            if source.end is not None and offset >= source.end:
                source.position = max(source.position, source.end)
                continue  # beyond the end offset this run stops at
            if offset > source.position:
                self._skipped(source, offset)
            was_empty = not source.queue
            item = _item(source, message)
            # A dead letter has no say in event time: it goes out at the clock, where it is.
            at = event_seconds(item.raw) if isinstance(item, RawRecord) else None
            source.queue.append((at, offset, item))
            source.position = offset + 1
            source.at_eof = False
            if was_empty:
                self._push_head(index)
        for source in self._inputs:
            self._throttle(source)

    def _push_head(self, index: int) -> None:
        source = self._inputs[index]
        if source.queue:
            at, offset, _ = source.queue[0]
            when = self._clock if at is None else at
            heapq.heappush(self._heap, (when, source.feed_index, index, offset))

    def _skipped(self, source: _Input, offset: int) -> None:
        """The log no longer holds ``source.position`` up to ``offset``: say so, loudly.

        The usual cause is time retention on a topic of old event times (see
        `connectors.kafka.produce`): librdkafka's ``auto.offset.reset`` then silently jumps to
        the new log start. Compacted topics and transaction markers leave gaps too."""
        source.skipped += offset - source.position
        log.error("kafka.offsets_skipped", partition=self._name, input=source.name,
                  expected=source.position, got=offset, skipped=offset - source.position,
                  hint="records deleted (retention.ms? compaction?) before they were read")

    def _on_error(self, message: Message, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            index = self._by_tp.get((message.topic(), message.partition()))
            if index is not None:
                source = self._inputs[index]
                source.at_eof = True
                source.position = max(source.position, message.offset())
            return
        if error.fatal():
            raise RuntimeError(f"Kafka consumer of {self._name} failed: {error}")
        # Broker down, leader moving...: librdkafka retries by itself; we keep polling.
        log.warning("kafka.consume_error", partition=self._name, error=str(error))

    def _throttle(self, source: _Input) -> None:
        """Pause a partition that is far ahead of the merge, or finished; resume it later."""
        fetched_all = source.end is not None and source.position >= source.end
        if not source.paused and (fetched_all or len(source.queue) >= MAX_QUEUED):
            self._consumer.pause([source.tp])
            source.paused = True
        elif source.paused and not fetched_all and len(source.queue) < MAX_QUEUED // 4:
            self._consumer.resume([source.tp])
            source.paused = False


def _item(source: _Input, message: Message) -> SourceItem:
    """A fetched message as a raw record, or a dead letter if it cannot be one."""
    value = message.value()
    origin = {"topic": source.tp.topic, "partition": source.tp.partition,
              "offset": message.offset()}
    raw_key = message.key()
    key = raw_key.decode("utf-8", "replace") if raw_key else None
    if value is None:
        return DeadLetter(source.feed, "missing_value", "message has no value (tombstone)",
                          b"", origin)
    if len(value) > MAX_RECORD_BYTES:
        return oversized(source.feed, "message", len(value), value[:KEPT_OF_OVERSIZED], origin)
    if key is None:
        return DeadLetter(source.feed, "missing_key",
                          "message has no key (producers key by customer id)", value, origin)
    version = _header(message, "contract_version")
    if version is not None and version != CONTRACT_VERSION:
        return DeadLetter(source.feed, "unknown_version",
                          f"contract_version header {version!r} is not supported", value, origin)
    return RawRecord(source.feed, value, origin, key)


def _header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or ():
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else ""
    return None


class KafkaFeedSource(FixedPartitionedSource[SourceItem, dict[str, Any]]):
    """The feed topics as ``gcd(partition counts)`` event-time-merged source partitions.

    ``topics`` maps each feed to its topic; ``config`` is the librdkafka configuration (see
    `broker_config`); ``start`` applies to partitions without a snapshot: ``"beginning"``,
    ``"end"`` or a timezone-aware datetime, resolved with ``offsets_for_times`` against the
    message timestamps (`produce_folder` sets them to the event time).
    """

    def __init__(self, topics: dict[str, str], config: dict[str, Any], *,
                 start: Start = "beginning", stop_at_end: bool = False,
                 poll_timeout: float = 0.1):
        if sorted(topics) != sorted(FEEDS):
            raise ValueError(f"topics must name exactly the feeds {FEEDS}, got {sorted(topics)}")
        self.topics = dict(topics)
        self.config = dict(config)
        self.start = start
        self.stop_at_end = stop_at_end
        self.poll_timeout = poll_timeout
        self._first_day: tuple[int | None] | None = None

    def partition_counts(self, consumer: Consumer | None = None) -> dict[str, int]:
        """Feed -> number of partitions of its topic (which must exist), asked through
        ``consumer`` or, without one, a consumer of its own."""
        own = consumer is None
        consumer = consumer or Consumer({**CONSUMER_DEFAULTS, **self.config})
        try:
            counts = {}
            for feed, topic in self.topics.items():
                meta = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics[topic]
                if meta.error is not None:
                    raise RuntimeError(f"Kafka topic {topic!r} (feed {feed}): {meta.error}")
                counts[feed] = len(meta.partitions)
            return counts
        finally:
            if own:
                consumer.close()

    def list_parts(self) -> list[str]:
        groups = math.gcd(*self.partition_counts().values())
        return [f"feeds-{i}-of-{groups}" for i in range(groups)]

    def build_part(self, step_id: str, for_part: str,
                   resume_state: dict[str, Any] | None) -> _MergedPartition:
        _, index, _, groups = for_part.split("-")
        group, count = int(index), int(groups)
        consumer = Consumer({**CONSUMER_DEFAULTS, **self.config})
        try:
            counts = self.partition_counts(consumer)
            if math.gcd(*counts.values()) != count:
                raise RuntimeError(f"feed topics now have {counts} partitions; recovery state was "
                                   f"made with {count} source partitions: repartition needs a "
                                   "fresh recovery directory")
            log.info("kafka.source_start", partition=for_part, config=redact_config(self.config),
                     start=str(self.start), stop_at_end=self.stop_at_end)
            inputs = self._inputs(consumer, counts, group, count,
                                  (resume_state or {}).get("offsets", {}))
            consumer.assign([TopicPartition(i.tp.topic, i.tp.partition, i.position)
                             for i in inputs])
            first_day = None
            if count > 1 and (resume_state or {}).get("day") is None:
                if self._first_day is None:  # the same for every partition: found once a process
                    self._first_day = (self.first_day(counts),)
                first_day = self._first_day[0]
        except BaseException:
            consumer.close()  # a partition that cannot start leaves no consumer behind
            raise
        return _MergedPartition(for_part, count, inputs, consumer, resume_state, first_day,
                                self.poll_timeout)

    def _inputs(self, consumer: Consumer, counts: dict[str, int], group: int, count: int,
                offsets: dict[str, int]) -> list[_Input]:
        """The Kafka partitions of source partition ``group`` of ``count``, each at its
        snapshot's offset or, without one, where this run starts."""
        inputs = []
        for feed_index, feed in enumerate(FEEDS):
            topic = self.topics[feed]
            for p in range(counts[feed]):
                if p % count != group:
                    continue
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                           timeout=METADATA_TIMEOUT_S)
                name = f"{topic}:{p}"
                offset = offsets[name] if name in offsets else self._start_offset(
                    consumer, topic, p, low, high)
                offset = max(offset, low)  # retention may have deleted what we were at
                inputs.append(_Input(feed, feed_index, TopicPartition(topic, p, offset), offset,
                                     high if self.stop_at_end else None))
        return inputs

    def first_day(self, counts: dict[str, int]) -> int | None:
        """The earliest event-time day at the start offsets of any feed partition, so that
        every source partition, in every process, starts its day-per-batch walk there."""
        consumer = Consumer({**CONSUMER_DEFAULTS, **self.config})
        try:
            pending: dict[tuple[str, int], int] = {}
            assignment = []
            for feed in FEEDS:
                topic = self.topics[feed]
                for p in range(counts[feed]):
                    low, high = consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                               timeout=METADATA_TIMEOUT_S)
                    start = max(low, self._start_offset(consumer, topic, p, low, high))
                    if start < high:
                        pending[(topic, p)] = high
                        assignment.append(TopicPartition(topic, p, start))
            consumer.assign(assignment)
            days: list[int] = []
            while pending:
                messages = consumer.consume(FETCH_BATCH, 0) or consumer.consume(
                    1, METADATA_TIMEOUT_S)
                if not messages:
                    raise RuntimeError(f"no messages from {sorted(pending)} in "
                                       f"{METADATA_TIMEOUT_S}s while finding the first day")
                for message in messages:
                    tp = (message.topic(), message.partition())
                    if message.error() is not None or tp not in pending:
                        continue
                    at = event_seconds(message.value() or b"")
                    if at is not None or message.offset() + 1 >= pending[tp]:
                        del pending[tp]
                        consumer.pause([TopicPartition(*tp)])
                        if at is not None:
                            days.append(at // DAY)
            return min(days, default=None)
        finally:
            consumer.close()

    def _start_offset(self, consumer: Consumer, topic: str, partition: int, low: int,
                      high: int) -> int:
        if self.start == "beginning":
            return low
        if self.start == "end":
            return high
        millis = int(self.start.timestamp() * 1000)
        found = consumer.offsets_for_times([TopicPartition(topic, partition, millis)],
                                           timeout=METADATA_TIMEOUT_S)[0]
        return high if found.offset < 0 else found.offset

