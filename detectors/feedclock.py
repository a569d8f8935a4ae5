"""The event-time clock of one input stream (a feed file, a Kafka partition, a plugin's
stream), moved by accepted records only.

Feeds arrive in event-time order, roughly: a file may hold a record a few days out of place,
a typo'd date (2999 for 2024), a timestamp far in the past. The clock decides, for every
valid record, the event-time day it is applied on (its *delivery day*), so that no single
record can move time for the others:

- It reads ahead: a record dated after the current day waits in a bounded buffer until the
  clock gets there. The clock leaves a day only once ``read_ahead`` later records have been
  read (or the input ended), so one record ahead of its neighbours never moves the clock:
  it is applied on its own day, and the records after it in the file on theirs. A record
  dated more than `NEAR_DAYS` after the latest record that counted (a typo'd year, a month
  for a day) waits without counting, so any number of them, scattered through a file,
  cannot fill the buffer and move the clock to their day; the buffer holds at most
  `HELD_AT_MOST_READS` times ``read_ahead`` records, which a feed that truly jumps a season
  fills before its clock moves there.
- A record dated before the current day is applied on the current day if it is at most
  ``allowed_lateness_days`` behind; further behind, it is rejected as ``late``.
- A record dated more than ``max_gap_days`` away from the clock (or, before the clock has
  started, from the median of the first records) is rejected as ``implausible_time``.
- A live input (a Kafka topic partition read without an end) may have nothing to read for a
  long time. Once its source calls it *idle*, the clock closes the day it holds without
  waiting for ``read_ahead`` later records, and stays on it: records of that day read later
  (a feed read in real time, a record at a time) go on it too, and the first step applies
  them on the next day to complete, so that the clock never runs ahead of its records. An
  idle clock does not start on a record alone (a new input's first record may be a typo'd
  year): such records go on their own days, unpromised, and the clock starts once two
  records of different ids lie within `NEAR_DAYS` of each other (`_grouped`). Records
  past its supported end that it sent so count towards a group with the records after them
  (`_near_sent`), so that an input read a record at a time after a pause moves on again.
- When the input ends, the records it still holds are delivered on their days. Those dated
  more than `TAIL_GAP_DAYS` after the rest of the input, and not at the start of a quarter
  of `tail_support` records or more, are date typos more likely than news: the input's
  *supported end* (`DayBatch.reach` of its last batch) stops before them, and the first step
  rejects any record dated after the book's end, which the inputs' supported ends decide
  together (`detectors.reach`), so that a typo'd date does not take the whole book's month
  ends to its day.
- A replay gives each record the day the original run applied it on (``day`` in `offer`):
  the clock then only orders, and decides nothing again.

Everything the clock decides depends on the valid records of its own input and their order
alone: not on invalid lines, other inputs or workers, and, but for a live input's idle
spells, not on when records arrive (the audit log records the day each record was applied
on, and a replay applies it there again).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field

from detectors.clock import DAY
from detectors.events import Envelope, Event, Origin
from detectors.inbox import ENDED, NOTHING_YET
from detectors.reach import TAIL_GAP_DAYS, Reach
from detectors.records import DeadLetter

READ_AHEAD = 64
MAX_GAP_DAYS = 3660
NEAR_DAYS = 92
"""A later record dated at most this many days after the latest one that counted (a
quarter: the next report of a monthly or quarterly feed) counts as the feed moving on."""
HELD_AT_MOST_READS = 16
"""The buffer of records read ahead holds at most this many times ``read_ahead``."""


@dataclass(frozen=True, slots=True)
class DayBatch:
    """The records an input delivers on ``day``, and ``through``: the input will deliver
    nothing more on any day up to it (the day before its next record, or `ENDED`: then
    ``day`` was its last, but for records past its supported end); but an idle input, whose
    ``through`` is its ``day``, delivers the records of that day it reads later on it too
    (the first step, whose inbox redates, applies them on the next day to complete). An
    idle input's batch may also hold records past what its records support, each on its own
    day after ``through``, unpromised (`FeedClock._idle_end`)."""

    day: int
    envelopes: list[Envelope]
    through: int
    reach: Reach | None = None
    """With ``through`` `ENDED`: the days the input supports, through its supported end
    (see the module's docstring; None if it had no valid record); the records after that
    end come in this last batch, each on its own day, after ``day``."""


_Held = tuple[int, int, Event, bytes, Origin]
"""A record read ahead: its day, its reading order (the heap never compares further), the
event, its bytes and origin."""


@dataclass(slots=True)
class FeedClock:
    """One input's day, the records read ahead of it, and those due on it.

    >>> from detectors.events import StatusChange
    >>> clock = FeedClock(read_ahead=2)
    >>> def offer(day, name):
    ...     clock.offer(StatusChange(name, day * DAY, "C1", "active"), b"", Origin("file", "f", 0))
    >>> for day, name in [(10, "a"), (11, "b"), (3000, "typo"), (12, "c")]:
    ...     offer(day, name)
    >>> batch = clock.close(ended=False)
    >>> batch.day, [e.event.event_id for e in batch.envelopes], batch.through
    (10, ['a'], 10)
    >>> for day, name in [(1, "old"), (9, "a_bit_late"), (999999, "2999")]:
    ...     offer(day, name)
    >>> [(d.event_id, d.reason) for d in clock.take_rejected()]
    [('old', 'late'), ('2999', 'implausible_time')]
    >>> batch = clock.close(ended=True)
    >>> batch.day, [e.event.event_id for e in batch.envelopes], batch.through
    (11, ['b', 'a_bit_late'], 11)
    >>> batch = clock.close(ended=True)  # the typo, alone after the rest, after its end
    >>> [(e.event.event_id, e.day) for e in batch.envelopes], batch.reach.end
    ([('c', 12), ('typo', 3000)], 12)
    >>> clock.close(ended=True)
    """

    read_ahead: int = READ_AHEAD
    allowed_lateness_days: int = 7
    max_gap_days: int = MAX_GAP_DAYS
    day: int | None = None
    """The day records read now are delivered on; None until the clock has started."""
    _ahead: list[_Held] = field(default_factory=list)
    """A heap of records dated after ``day`` (before the start: every record read)."""
    _due: list[Envelope] = field(default_factory=list)
    _rejected: list[DeadLetter] = field(default_factory=list)
    _seq: int = 0
    _counted: int = 0
    """Records held that count as the feed moving on (all, before the start)."""
    _jumped: set[int] = field(default_factory=set)
    """The reading order (``_seq``) of the records held that do not (see `_hold`)."""
    _frontier: int | None = None
    """The latest day of a record that counted, from the start on."""
    _taken: int = 0
    """Valid records taken (due or held) since the clock started: the input's density, for
    `tail_support`."""
    _first: int | None = None
    """The day the clock started on."""
    _end: int | None = None
    """The supported end, once the input ended."""
    _done: bool = False
    _replay: bool = False
    """Days are given (`offer` with ``day``): none is rejected or judged again."""
    _sent: list[tuple[int, str]] = field(default_factory=list)
    """The days and ids of the latest records an idle input sent on their own days,
    unpromised (`_sent_alone`)."""
    _idle_end: int | None = None
    """The supported end when the input last went idle, until it reads again. An idle input
    delivers the days it holds through it; the records past it (a typo'd month or year, or
    a filing after a quiet month) go on their own days without being promised (`_past`):
    its clock stays, so the records it reads next are not late, and the first step applies
    them once the book's other inputs reach their day (`detectors.inbox.Inbox`)."""

    def wants_more(self) -> bool:
        """Whether the clock needs more records before it can close its day: fewer than
        ``read_ahead`` held count as the feed moving on, and the buffer is not full. A
        replay's records come in the order of the days they were applied on, so there only
        the buffer's bound counts."""
        if self._done or len(self._ahead) >= HELD_AT_MOST_READS * self.read_ahead:
            return False
        return self._replay or self._counted < self.read_ahead

    def offer(self, event: Event, raw: bytes, origin: Origin, day: int | None = None) -> None:
        """Take one valid record: due now, held for its day, or rejected (`take_rejected`);
        with ``day``, the day a replayed record was applied on originally."""
        self._idle_end = None
        if day is not None:
            self._replayed(day, event, raw, origin)
            return
        day = event.at // DAY
        if self.day is None:
            self._hold(day, event, raw, origin)
        elif abs(day - self.day) > self.max_gap_days:
            self._rejected.append(
                _implausible(event, raw, origin, day - self.day, "the feed's clock"))
        elif day > self.day:
            self._hold(day, event, raw, origin)
        elif event.at < (self.day - self.allowed_lateness_days) * DAY:
            self._rejected.append(
                _late(event, raw, origin, self.day - day, self.allowed_lateness_days))
        else:
            self._due.append(Envelope(event, raw, origin, self.day))
            self._taken += 1

    def take_rejected(self) -> list[DeadLetter]:
        """The records rejected since the last call (late or implausible)."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def close(self, ended: bool, idle: bool = False) -> DayBatch | None:
        """Deliver the current day, if it can close: once ``read_ahead`` records are known to
        be later and near (`wants_more`), or the input ``ended``, or is ``idle`` (has
        nothing to read for now).
        Returns None when it cannot (yet), when an idle input has nothing to deliver, or
        when done."""
        if self._done or (not (ended or idle) and self.wants_more()):
            return None
        if idle and not ended and not self._ahead and not self._due:
            return None
        if self.day is None:
            if idle and not ended and not self._grouped():
                return self._unstarted()
            self._start()
            if self.day is None:  # every record read was implausible, or there were none
                self._done = ended
                return DayBatch(NOTHING_YET, [], ENDED) if ended else None
            if not (ended or idle) and self.wants_more():  # the start took records due
                return None
        unpromised: list[Envelope] = []
        if idle and not ended:
            if self._idle_end is None:
                self._idle_end = self._supported_end()  # before it delivers what it holds
            unpromised = self._sent_alone(self._past(self._idle_end))
        if ended and self._end is None:
            if not self.wants_more():
                # A day it can close anyway is closed as any day: the input's end is then
                # judged at one point, whether its source said "ended" with its last record
                # (a bounded Kafka partition) or on the read after it (a file).
                ended = False
            else:
                self._end = self._supported_end()
        day, due = self.day, self._due + unpromised
        self._due = []
        if ended and self._ahead and self._ahead[0][0] > self._end:  # type: ignore[operator]
            # All that is left lies after the supported end: one last batch, each record on
            # its own day, which the first step judges once every input has ended.
            due += self._past(self._end)
        if self._ahead:
            self.day = self._ahead[0][0]
            self._take_due()
            through = self.day - 1
            # On to a day it supports: what it sent alone makes no group with what it reads
            # next (two typos a month apart in a sparse feed). Records of its own day read
            # late (a correction) do not count: they leave the clock where it stands.
            self._sent.clear()
        elif ended:
            assert self._end is not None
            self._done = True
            return DayBatch(day, due, ENDED, self._reach())
        else:  # idle: it stays on its day, where records of the day read later go
            through = day
        return DayBatch(day, due, through)

    def tail_support(self, records: int, last: int) -> int:
        """Records within a quarter that make days after a gap at the input's end its own
        (`_supported_end`): a quarter of an average quarter's, over the ``records`` from its
        first day to ``last`` (the rest of it, not the days judged: a typo years on must not
        thin the input out), at least one (an input of a few records a year is trusted) and
        at most ``read_ahead``."""
        assert self._first is not None
        per_quarter = records * NEAR_DAYS / max(NEAR_DAYS, last - self._first)
        return max(1, min(self.read_ahead, math.ceil(per_quarter / 4)))

    def _reach(self) -> Reach:
        assert self._end is not None
        reach = self.reach_through(self._end)
        assert reach is not None
        return reach

    def reach_through(self, day: int) -> Reach | None:
        """The days the input supports through ``day`` (an idle input's promise, which a
        live run's first step judges against the other inputs', `detectors.inbox.Inbox`);
        None before its clock started."""
        if self._first is None:
            return None
        return Reach(self._first, day, self._taken, self.tail_support(self._taken, day),
                     given=self._replay)

    def _supported_end(self) -> int:
        """The last day of the records the input supports, when it ends: from the clock's
        day through the days it holds, each day within `TAIL_GAP_DAYS` of the last supported
        one, and each day that begins a quarter of `tail_support` records or more (measured
        on the records up to the first gap). A replay's records were all applied once: its
        last day."""
        assert self.day is not None
        held = self._held_by_day()
        days = [day for day, _ in held]
        if self._replay:
            return days[-1] if days else self.day
        end, rest, i = self.day, self._taken - len(days), 0  # (rest: the records delivered)
        while i < len(days) and days[i] - end <= TAIL_GAP_DAYS:  # the rest, to its first gap
            end, rest, i = days[i], rest + 1, i + 1
        least = self.tail_support(rest, end)
        for j in range(i, len(days)):
            needed = least if days[j] - end <= NEAR_DAYS else max(2, least)  # (one is no group)
            near = bisect_right(days, days[j] + NEAR_DAYS) - j + self._near_sent(*held[j], end)
            if near >= needed or days[j] - end <= TAIL_GAP_DAYS:
                end = days[j]
        return end

    def _past(self, end: int) -> list[Envelope]:
        """Take the records held past ``end``, each on its own day, in reading order within
        a day (its batch's ``through`` does not cover them)."""
        if not self._ahead or max(held[0] for held in self._ahead) <= end:
            return []
        kept, past = [], []
        for held in self._ahead:
            (kept if held[0] <= end else past).append(held)
        for _, seq, *_rest in past:
            if seq in self._jumped:
                self._jumped.discard(seq)
            else:
                self._counted -= 1
        heapq.heapify(kept)
        self._ahead = kept
        return [Envelope(event, raw, origin, day) for day, _, event, raw, origin in sorted(past)]

    def _grouped(self) -> bool:
        """Whether a record held has another, of another id, within `NEAR_DAYS` of it,
        held or sent alone before (`_unstarted`): a group to start an idle input's clock
        on. (Sorted by day, such a pair exists only if two neighbours are one.)"""
        held = self._held_by_day()
        for (day, event_id), (later, other) in zip(held, held[1:], strict=False):
            if later - day <= NEAR_DAYS and other != event_id:
                return True
        return any(self._near_sent(day, event_id, NOTHING_YET) for day, event_id in held)

    def _held_by_day(self) -> list[tuple[int, str]]:
        """The day and event id of every record held, in order."""
        return sorted((day, event.event_id) for day, _, event, _, _ in self._ahead)

    def _near_sent(self, day: int, event_id: str, after: int) -> int:
        """The ids, other than ``event_id``, of the records sent alone (`_sent_alone`)
        since the clock last moved on to a day it held, dated after ``after`` and
        within `NEAR_DAYS` of ``day``: with a record held on ``day`` they may make a group
        (a feed that resumes after a pause, or a new one, read one record at a time)."""
        return len({other for sent, other in self._sent
                    if sent > after and abs(sent - day) <= NEAR_DAYS and other != event_id})

    def _sent_alone(self, envelopes: list[Envelope]) -> list[Envelope]:
        """Remember the latest records an idle input sends on their own days, unpromised
        (``read_ahead`` of them: as many as any group needs, `tail_support`), for
        `_near_sent`; ``envelopes``."""
        sent = self._sent + [(e.day, e.event.event_id) for e in envelopes]
        self._sent = sent[-self.read_ahead:]
        self._taken -= len(envelopes)  # (not the density of what it supports: `_supported_end`)
        return envelopes

    def _unstarted(self) -> DayBatch:
        """An idle input whose records are no group yet (`_grouped`) sends them on their
        own days, unpromised, as it sends records past its supported end, and stays
        unstarted: a new live input's first record may be a typo'd year, and a clock
        started on it would make every record after it late."""
        return DayBatch(NOTHING_YET, self._sent_alone(self._past(NOTHING_YET)), NOTHING_YET)

    def _replayed(self, day: int, event: Event, raw: bytes, origin: Origin) -> None:
        self._replay = True
        if self.day is not None and day <= self.day:
            self._due.append(Envelope(event, raw, origin, self.day))
        else:
            self._hold(day, event, raw, origin)

    def _hold(self, day: int, event: Event, raw: bytes, origin: Origin) -> None:
        """Hold a record for its day. It counts as the feed moving on unless it is dated more
        than `NEAR_DAYS` after the latest record that did (before the start every record
        counts, and the start day is the first frontier)."""
        if self._frontier is not None and day > max(self._frontier, self.day) + NEAR_DAYS:
            self._jumped.add(self._seq)
        else:
            self._counted += 1
            if self._frontier is not None:
                self._frontier = max(self._frontier, day)
        heapq.heappush(self._ahead, (day, self._seq, event, raw, origin))
        self._seq += 1
        self._taken += 1

    def _take_due(self) -> None:
        while self._ahead and self._ahead[0][0] <= self.day:  # type: ignore[operator]
            day, seq, event, raw, origin = heapq.heappop(self._ahead)
            self._due.append(Envelope(event, raw, origin, day))
            if seq in self._jumped:
                self._jumped.discard(seq)
            else:
                self._counted -= 1

    def _start(self) -> None:
        """Start at the earliest plausible record: one within ``max_gap_days`` of the median
        of the records read so far (a typo'd year at a file's head must not start it)."""
        if not self._ahead:
            return
        if self._replay:
            self.day = self._first = self._ahead[0][0]
            self._frontier = max(held[0] for held in self._ahead)
            self._take_due()
            return
        median = sorted(held[0] for held in self._ahead)[len(self._ahead) // 2]
        kept = []
        for held in sorted(self._ahead):
            day, _, event, raw, origin = held
            if abs(day - median) > self.max_gap_days:
                self._rejected.append(_implausible(event, raw, origin, day - median,
                                                   "the median of the feed's first records"))
                self._taken -= 1
            else:
                kept.append(held)
        self._ahead = kept  # sorted, so a heap
        self._counted = len(kept)
        if kept:
            self.day = self._first = kept[0][0]
            self._frontier = max(held[0] for held in kept if held[0] <= median + NEAR_DAYS)
            self._jumped = {seq for day, seq, *_ in kept if day > self._frontier + NEAR_DAYS}
            self._counted -= len(self._jumped)
            self._take_due()


def _implausible(event: Event, raw: bytes, origin: Origin, days: int, than: str) -> DeadLetter:
    where = "after" if days > 0 else "before"
    detail = (f"event time {abs(days)} days {where} {than} (more than {MAX_GAP_DAYS}); "
              "probably a typo in the date")
    return DeadLetter(event.feed, "implausible_time", detail, raw, origin, event.event_id,
                      event.customer_id)


def _late(event: Event, raw: bytes, origin: Origin, days: int, allowed: int) -> DeadLetter:
    detail = (f"event time {days} days behind its feed, which allows {allowed} "
              "(detectors.allowed_lateness_days)")
    return DeadLetter(event.feed, "late", detail, raw, origin, event.event_id, event.customer_id)
