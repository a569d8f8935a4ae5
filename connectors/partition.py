"""The one source partition every feed source is built on.

A source reads *inputs*: streams of raw records that are each in event-time order (a feed
file, a Kafka partition, a plugin's iterator). A `FeedPartition` holds one or more inputs;
for each it validates every record at the door (`connectors.contracts`), lets only the valid
ones reach the input's `FeedClock` (which decides each record's day), and, day by day, sends
the records to the steps that check event ids, as `Chunk`s promising that the input has
nothing more up to a day. Unreadable, invalid, implausible and late records become dead
letters here and never move any clock.

A partition's snapshot is every input's position (the next record to read) and its clock
(the records read ahead), so a resumed run reads every record exactly once.

A live input (a topic read without an end) that has read all there is (the end of its
topic partition as the broker last reported it) for ``idle_seconds`` of wall time is
*idle*: its clock closes the days it holds, and its chunks say so, so that the other
inputs' days need not wait for it (`detectors.inbox`). Wall time decides only when output
appears, and which records arrive after their day was complete.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from config.errors import ConnectorError, ContractError
from connectors.contracts import MAX_RECORD_BYTES, parse_record, stated_ids
from detectors.events import Envelope, Origin
from detectors.feedclock import DayBatch, FeedClock
from detectors.inbox import ENDED, NOTHING_YET, Chunk
from detectors.reach import Reach
from detectors.records import DeadLetter

KEPT_OF_OVERSIZED = 65_536
_SOURCE_ERRORS: list[ConnectorError] = []
"""Errors of a source in this process since `take_source_errors` last took them: in a
cluster, bytewax may report a failed read only as a panic of its communication threads."""
IDLE_SECONDS = 5.0
"""How long a live input may have nothing to read before it is idle (the default)."""
NAP = timedelta(milliseconds=50)
"""How long a partition with nothing to read now waits before it looks again."""


@dataclass(frozen=True, slots=True)
class RawLine:
    """One record as read: its bytes and position, or why it could not be read; ``feed``
    where an input carries several feeds (else the input's own)."""

    raw: bytes
    position: int
    problem: DeadLetter | None = None
    feed: str | None = None
    day: int | None = None
    """The day an original run applied the record on (a replay of an audit log only)."""


@dataclass(frozen=True, slots=True)
class ReadCount:
    """An input reached its end having read ``records`` records (for the run summary)."""

    input: str
    records: int

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "records": self.records}


class RecordInput(ABC):
    """A stream of raw records of one feed, in event-time order."""

    feed: str
    name: str
    kind: str
    """How origins name it: ``file``, ``kafka`` or ``plugin`` (see `Origin`)."""
    live: bool = False
    """Whether the input has no end to wait for (a topic read without one): it can be idle."""

    def caught_up(self) -> bool:
        """Whether a live input has read everything there is for now (not just what has
        been fetched so far): only then can it be idle."""
        return True

    @abstractmethod
    def read(self) -> RawLine | None:
        """The next record, or None if there is none now (`ended` tells if ever)."""

    @property
    @abstractmethod
    def ended(self) -> bool:
        """No record will come any more."""

    @abstractmethod
    def position(self) -> Any:
        """Where a resumed run starts reading: just after the last record read."""

    def close(self) -> None:  # noqa: B027 - optional: most inputs hold nothing open
        """Release what the input holds open."""


class Stop(Protocol):
    """How a source learns that its run was asked to stop, and says that it stopped with
    input left to read (`flows.stop`)."""

    def requested(self) -> bool: ...

    def cut(self) -> None: ...


class _NeverStop:
    def requested(self) -> bool:
        return False

    def cut(self) -> None:
        return None


NEVER = _NeverStop()
"""A source that reads to the end whatever happens (tests, tools)."""


class Feeds(ABC):
    """What a source connector provides: named partitions, each a few inputs.

    The partitions are fixed by the data (files, topic partitions), never by the number of
    workers, so every worker count reads every record into the same day.
    """

    stopped_through: int | None = None
    """Set where the inputs are a stopped run's (a replay of its audit log): at the end of
    each input, its partition promises this day, the last one the run completed, rather
    than the end of the input, so that the steps stop there as the run did
    (`flows.stop`)."""

    @abstractmethod
    def partitions(self) -> list[str]:
        """The partition names, in a fixed order."""

    @abstractmethod
    def input_names(self, partition: str) -> list[str]:
        """The names of the inputs of ``partition`` (known without opening them)."""

    @abstractmethod
    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        """The inputs of ``partition``, each at its position in ``positions`` (by input
        name), or at the start where it has none."""


def checked_inputs(partition: str, inputs: Any) -> list[RecordInput]:
    """The inputs a source opened for ``partition``, refused with a `ConnectorError` naming
    what is missing where a plugin's own `Feeds` gave something else (its error would
    otherwise surface as an AttributeError deep in the engine)."""
    if not isinstance(inputs, list):
        raise ConnectorError(f"source partition {partition!r}: open() returned "
                             f"{type(inputs).__name__}, not a list of RecordInput")
    for source in inputs:
        missing = [name for name in ("feed", "name", "kind") if not isinstance(
            getattr(source, name, None), str)]
        if not isinstance(source, RecordInput) or missing:
            raise ConnectorError(
                f"source partition {partition!r}: input {getattr(source, 'name', source)!r} "
                f"is no connectors.partition.RecordInput with the text attributes "
                f"{', '.join(missing) or 'feed, name, kind'}")
    return inputs


def take_source_errors() -> list[ConnectorError]:
    """The sources' errors kept since the last call, first first."""
    errors = list(_SOURCE_ERRORS)
    _SOURCE_ERRORS.clear()
    return errors


@contextmanager
def _plugin_call(call: str) -> Iterator[None]:
    """Inside, a plugin's own `Feeds` lists or opens its inputs: any exception becomes a
    `ConnectorError` naming the call, the type and the message (which a run reports in one
    line, its options' values hidden), kept for `take_source_errors` as a source's are."""
    try:
        yield
    except ConnectorError as exc:
        _SOURCE_ERRORS.append(exc)
        raise
    except Exception as exc:
        error = ConnectorError(f"{call} failed: {type(exc).__name__}: {exc}")
        _SOURCE_ERRORS.append(error)
        raise error from exc


def _line_of(source: RecordInput) -> RawLine | None:
    """The input's next line, refused in one line if it is no `RawLine` of bytes."""
    try:
        line = source.read()
    except ConnectorError:
        raise
    except Exception as exc:
        raise ConnectorError(f"source input {source.name!r} failed reading: "
                             f"{type(exc).__name__}: {exc}") from exc
    if line is not None and not (isinstance(line, RawLine) and isinstance(line.raw, bytes)):
        raise ConnectorError(f"source input {source.name!r} read {type(line).__name__}, not "
                             "a connectors.partition.RawLine holding bytes")
    return line


def oversized(feed: str, what: str, size: int, kept: bytes, origin: Origin) -> DeadLetter:
    """A record of ``size`` bytes, over the limit, as a dead letter that keeps its head
    (``kept``) and says how to recognise it: its ``what`` is "line" or "message"."""
    detail = (f"{what} of {size} bytes exceeds {MAX_RECORD_BYTES}; the first {len(kept)} bytes "
              f"are kept (sha256 of kept part {hashlib.sha256(kept).hexdigest()})")
    return DeadLetter(feed, "too_large", detail, kept, origin)


@dataclass(slots=True)
class _InputState:
    clock: FeedClock
    read: int = 0
    done: bool = False
    through: int = NOTHING_YET
    """What the input last promised downstream."""


@dataclass(slots=True)
class _Quiet:
    """Since when a live input has read nothing (wall clock: only to call it idle)."""

    since: float | None = None
    announced: bool = False


@dataclass
class Clocks:
    """What a partition snapshots: per input, its position, clock and count."""

    positions: dict[str, Any] = field(default_factory=dict)
    states: dict[str, _InputState] = field(default_factory=dict)


class FeedPartition(StatefulSourcePartition[Any, Clocks]):
    """Reads its inputs day by day; emits chunks for the id steps, dead letters, and a
    `ReadCount` per input at its end.

    ``route`` names the id step of a record; ``id_keys`` are all of them (each gets a chunk
    for every day an input closes, empty or not, so every one learns the input's progress).
    Once its run is asked to stop (``stop``), it reads no more: it tells every id step that
    it stopped, its promises as they stand, and ends (the steps then wait for a resumed run
    rather than apply the end of input). ``stopped_through`` is `Feeds.stopped_through`:
    the same, at the end of the inputs, on that day.
    """

    def __init__(self, inputs: list[RecordInput], route: Callable[[Envelope], str],
                 id_keys: tuple[str, ...], clock: Callable[[], FeedClock],
                 resume: Clocks | None, idle_seconds: float = IDLE_SECONDS,
                 stop: Stop = NEVER, stopped_through: int | None = None) -> None:
        self._inputs = inputs
        self._route = route
        self._id_keys = id_keys
        self._idle_seconds = idle_seconds
        self._stop = stop
        self._stopped_through = stopped_through
        self._cut = False
        """It stopped: the run was asked to, and it told the id steps (not snapshotted: a
        resumed run reads on)."""
        resume = resume or Clocks()
        self._states = {i.name: resume.states.get(i.name) or _InputState(clock())
                        for i in inputs}
        self._quiet: dict[str, _Quiet] = {i.name: _Quiet() for i in inputs if i.live}
        self._awake: datetime | None = None

    def next_batch(self) -> list[Any]:
        if self._cut or all(state.done for state in self._states.values()):
            raise StopIteration
        if self._stop.requested():
            return self._stopped()
        try:
            return self._read()
        except ConnectorError as exc:  # (kept: a cluster may report it only as a panic)
            _SOURCE_ERRORS.append(exc)
            raise

    def _read(self) -> list[Any]:
        out: list[Any] = []
        for source in self._inputs:
            state = self._states[source.name]
            if state.done:
                continue
            read = state.read
            out.extend(self._fill(source, state))
            if self._idle(source, state.read > read):
                out.extend(self._flush(source, state))
                continue
            batch = state.clock.close(ended=source.ended)
            out.extend(state.clock.take_rejected())
            if batch is not None:
                out.extend(self._deliver(source, state, batch))
        self._awake = None if out else datetime.now(UTC) + NAP
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> Clocks:
        return Clocks({i.name: i.position() for i in self._inputs}, self._states)

    def close(self) -> None:
        for source in self._inputs:
            source.close()

    def _fill(self, source: RecordInput, state: _InputState) -> list[DeadLetter]:
        """Read until the clock has read far enough ahead, or the input has nothing now."""
        dead: list[DeadLetter] = []
        clock = state.clock
        while clock.wants_more():
            line = _line_of(source)
            if line is None:
                break
            state.read += 1
            origin = Origin(source.kind, source.name, line.position)
            if line.problem is not None:
                dead.append(line.problem)
                continue
            feed = line.feed or source.feed
            if len(line.raw) > MAX_RECORD_BYTES:  # (a file's reader cuts its lines itself)
                dead.append(oversized(feed, "record", len(line.raw),
                                      line.raw[:KEPT_OF_OVERSIZED], origin))
                continue
            try:
                event = parse_record(feed, line.raw)
            except ContractError as exc:
                dead.append(DeadLetter(feed, exc.reason, exc.detail, line.raw, origin,
                                       *stated_ids(line.raw)))
                continue
            clock.offer(event, line.raw, origin, line.day)
        return dead

    def _deliver(self, source: RecordInput, state: _InputState, batch: DayBatch,
                 idle: bool = False) -> list[Any]:
        state.done = batch.through >= ENDED
        through, reach = batch.through, batch.reach
        if idle:  # (its promise, judged against the other inputs' at the first step)
            reach = state.clock.reach_through(through)
        stopped = state.done and self._stopped_through is not None
        if stopped:
            through, reach = self._stopped_through, None
        state.through = through
        out = self._chunks(source.name, through, batch.envelopes, reach, idle, stopped)
        if state.done:
            out.append(ReadCount(source.name, state.read))
        return out

    def _stopped(self) -> list[Any]:
        """Every input not at its end tells the id steps that it stopped where it stands."""
        self._cut = True
        left = [source.name for source in self._inputs if not self._states[source.name].done]
        if left:
            self._stop.cut()
        return [chunk for name in left for chunk in self._chunks(
            name, self._states[name].through, [], None, stopped=True)]

    def _flush(self, source: RecordInput, state: _InputState) -> list[Any]:
        """An idle input delivers every day it holds, then says (once) that it is idle."""
        quiet = self._quiet[source.name]
        out: list[Any] = []
        batches = []
        while (batch := state.clock.close(ended=False, idle=True)) is not None:
            batches.append(batch)
        out.extend(state.clock.take_rejected())
        for i, batch in enumerate(batches):
            last = i == len(batches) - 1
            out.extend(self._deliver(source, state, batch, idle=last))
        if not batches and not quiet.announced:
            out.extend(self._chunks(source.name, state.through, [],
                                    state.clock.reach_through(state.through), idle=True))
        quiet.announced = True
        return out

    def _idle(self, source: RecordInput, read: bool) -> bool:
        """Whether a live input has had nothing to read for ``idle_seconds``."""
        quiet = self._quiet.get(source.name)
        if quiet is None or source.ended:
            return False
        now = time.monotonic()
        if read or quiet.since is None or not source.caught_up():
            quiet.since, quiet.announced = now, False
            return False
        return now - quiet.since >= self._idle_seconds

    def _chunks(self, sender: str, through: int, envelopes: list[Envelope],
                reach: Reach | None, idle: bool = False, stopped: bool = False) -> list[Any]:
        routed: dict[str, list[tuple[int, Envelope]]] = {key: [] for key in self._id_keys}
        for envelope in envelopes:
            routed[self._route(envelope)].append((envelope.day, envelope))
        return [(key, Chunk(sender, key, through, items, idle=idle, stopped=stopped, reach=reach))
                for key, items in routed.items()]


class FeedSource(FixedPartitionedSource[Any, Clocks]):
    """Any `Feeds` as a bytewax source of chunks for the id steps.

    ``route`` names the id step of a record and ``id_keys`` lists them all; ``clock`` makes a
    new input's `FeedClock` (with the run's read-ahead and lateness); ``stop`` says when
    the run was asked to stop (`FeedPartition`).
    """

    def __init__(self, feeds: Feeds, route: Callable[[Envelope], str],
                 id_keys: tuple[str, ...], clock: Callable[[], FeedClock],
                 idle_seconds: float = IDLE_SECONDS,
                 stop: Stop = NEVER) -> None:
        self.feeds = feeds
        self.route = route
        self.id_keys = id_keys
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.stop = stop

    def list_parts(self) -> list[str]:
        with _plugin_call("the source's partitions()"):
            return self.feeds.partitions()

    def build_part(self, step_id: str, for_part: str,
                   resume_state: Clocks | None) -> FeedPartition:
        positions = resume_state.positions if resume_state is not None else {}
        with _plugin_call(f"source partition {for_part!r}: open()"):
            inputs = checked_inputs(for_part, self.feeds.open(for_part, positions))
        return FeedPartition(inputs, self.route, self.id_keys, self.clock, resume_state,
                             self.idle_seconds, self.stop, self.feeds.stopped_through)
