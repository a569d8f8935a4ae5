"""How a step knows a day is complete, whatever order its inputs arrive in.

Every step of the monitor receives `Chunk`s: a sender's items for some days, and the promise
that the sender will send nothing more for any day up to ``through``. An `Inbox` knows its
senders; once every sender has promised a day, the day is complete and its items can be
applied, sorted into the monitor's total order. Nothing depends on which worker a sender ran
on, how chunks were batched, or which arrived first: only on what was sent.

A live input can have nothing to send for a long time; its source then says it is *idle*
(``idle`` on its chunk), and the first step's inbox (``redate``) stops waiting for it. What
such an input sends later for a day already complete is put on the next day to complete,
where the step judges it (the step's `detectors.dedup.EventIds` rejects it as ``late`` if
it is too far behind). That is the one decision that depends on when records arrive; the
audit log records the day each record was applied on, and a replay applies it there again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.dedup import Repeat
from detectors.events import Envelope, pack, unpack
from detectors.reach import Reach, book_end

NOTHING_YET = -(10**9)
"""The promise of a sender that has sent nothing: no day is complete."""


ENDED = 10**9
"""The promise of a sender at the end of its input: nothing more, ever."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """``items`` as ``(day, item)`` pairs from ``sender`` to ``to``, and the sender's promise
    of nothing more for any day up to ``through``. A sender's last chunk promises `ENDED` and
    says how far the book goes: an input's source, in ``reach``, the days its input supports
    (`detectors.reach`); a step, in ``end``, the book's last day (its month ends end
    there)."""

    sender: str
    to: str
    through: int
    items: list[tuple[int, Any]] = field(default_factory=list)
    end: int = NOTHING_YET
    idle: bool = False
    """The sender has nothing to read for now: days need not wait for it."""
    stopped: bool = False
    """The sender's run was stopped (Ctrl-C, SIGTERM): it sends nothing more in this run,
    and the days past ``through`` are for a resumed run to complete."""
    reach: Reach | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Chunks of records cross between processes as columns (`detectors.events.pack`),
        a repeat of an id (`detectors.dedup.Repeat`) as its record and a note."""
        items = self.items
        if items and all(type(item) is Envelope or type(item) is Repeat for _, item in items):
            repeats = [(i, item.same, item.since) for i, (_, item) in enumerate(items)
                       if type(item) is Repeat]
            envelopes = [item.envelope if type(item) is Repeat else item for _, item in items]
            return (_unpacked, (self.sender, self.to, self.through, self.end, self.idle,
                                self.stopped, self.reach, [day for day, _ in items],
                                pack(envelopes), repeats))
        return (Chunk, (self.sender, self.to, self.through, items, self.end, self.idle,
                        self.stopped, self.reach))


def _unpacked(sender: str, to: str, through: int, end: int, idle: bool, stopped: bool,
              reach: Reach | None, days: list[int], packed: tuple[Any, ...],
              repeats: list[tuple[int, bool, int]]) -> Chunk:
    items: list[tuple[int, Any]] = list(zip(days, unpack(packed), strict=True))
    for i, same, since in repeats:
        day, envelope = items[i]
        items[i] = (day, Repeat(envelope, same, since))
    return Chunk(sender, to, through, items, end, idle, stopped, reach)


@dataclass(slots=True)
class Inbox:
    """The chunks a step received and not yet applied, by day.

    >>> inbox = Inbox(("a", "b"))
    >>> inbox.put(Chunk("a", "me", 5, [(4, "a4"), (5, "a5")]))
    >>> inbox.complete()
    ([], None)
    >>> inbox.put(Chunk("b", "me", 4, [(3, "b3")]))
    >>> inbox.complete()
    ([(3, ['b3']), (4, ['a4'])], 4)
    >>> inbox.put(Chunk("b", "me", 9))
    >>> inbox.complete()
    ([(5, ['a5'])], 5)

    An idle sender holds nothing back; what it sends later for a complete day goes on the
    next one (with ``redate``):

    >>> inbox = Inbox(("a", "b"), redate=True)
    >>> inbox.put(Chunk("a", "me", 2, idle=True))
    >>> inbox.put(Chunk("b", "me", 8, [(8, "b8")]))
    >>> inbox.complete()
    ([(8, ['b8'])], 8)
    >>> inbox.put(Chunk("a", "me", 3, [(3, "a3")]))
    >>> inbox.put(Chunk("b", "me", 10))
    >>> inbox.complete()
    ([], None)
    >>> inbox.put(Chunk("a", "me", 12))
    >>> inbox.complete()
    ([(9, ['a3'])], 10)

    A record an idle sender sends later for a complete day waits for the next day to
    complete: a day completes on what the senders promise, never on a record's arrival
    (each arrival completing a day would take the book's days past its records, a day per
    record read alone, until the records were late).

    >>> inbox = Inbox(("a", "b"), redate=True)
    >>> inbox.put(Chunk("a", "me", 2, idle=True))
    >>> inbox.put(Chunk("b", "me", 8, [(8, "b8")], idle=True))
    >>> inbox.complete()
    ([(8, ['b8'])], 8)
    >>> inbox.put(Chunk("a", "me", 8, [(6, "a6")], idle=True))
    >>> inbox.complete()
    ([], None)
    >>> inbox.put(Chunk("b", "me", 9, idle=True))
    >>> inbox.complete()
    ([(9, ['a6'])], 9)

    Records an idle sender sends without a promise (its clock has not started, or they lie
    past what its records support) wait for their day to be promised.

    >>> inbox = Inbox(("a", "b"), redate=True)
    >>> inbox.put(Chunk("a", "me", NOTHING_YET, [(6, "a6")], idle=True))
    >>> inbox.put(Chunk("b", "me", NOTHING_YET, [(7, "b7")], idle=True))
    >>> inbox.complete()
    ([], None)
    >>> inbox.put(Chunk("b", "me", 7, idle=True, reach=Reach(7, 7, 2, 1)))
    >>> inbox.complete()
    ([(6, ['a6']), (7, ['b7'])], 7)
    """

    senders: tuple[str, ...]
    redate: bool = False
    """Put items for complete days on the next day (the first step's inbox only)."""
    promised: dict[str, int] = field(default_factory=dict)
    end: int = NOTHING_YET
    """The book's last day, as far as the ended senders tell: the latest ``end`` of any, or
    what the ``reach`` of the inputs decides (`detectors.reach.book_end`)."""
    reaches: dict[str, Reach] = field(default_factory=dict)
    idle: set[str] = field(default_factory=set)
    days: dict[int, list[Any]] = field(default_factory=dict)
    through: int = NOTHING_YET
    """Every day up to this one is complete and was handed out."""
    stopped: bool = False
    """A sender said its run was stopped: at the end of this run's input, the days not
    complete wait for a resumed run, rather than being applied as the end of input."""

    def __post_init__(self) -> None:
        self.senders = tuple(sorted(self.senders))
        for sender in self.senders:
            self.promised.setdefault(sender, NOTHING_YET)

    def add_senders(self, senders: tuple[str, ...]) -> None:
        """Senders that joined after the inbox was made (a run resumed from a snapshot, its
        source with a file or topic partition more): they have promised nothing yet, and
        what they send for days already complete goes on the next day (``redate``).

        >>> inbox = Inbox(("a",), redate=True)
        >>> inbox.put(Chunk("a", "me", 4, [(4, "a4")]))
        >>> inbox.complete()
        ([(4, ['a4'])], 4)
        >>> inbox.add_senders(("a", "b"))
        >>> inbox.put(Chunk("a", "me", 6, [(6, "a6")]))
        >>> inbox.complete()
        ([], None)
        >>> inbox.put(Chunk("b", "me", 7, [(2, "b2")]))
        >>> inbox.complete()
        ([(5, ['b2']), (6, ['a6'])], 6)
        """
        joined = sorted(set(senders) - set(self.senders))
        if joined:
            self.senders = tuple(sorted((*self.senders, *joined)))
            for sender in joined:
                self.promised[sender] = NOTHING_YET

    def put(self, chunk: Chunk) -> None:
        if chunk.sender not in self.promised:
            raise ValueError(f"chunk from {chunk.sender!r}, which is not one of the senders "
                             f"{', '.join(self.senders)}")
        for day, item in chunk.items:
            if day <= self.through:
                if not self.redate:
                    raise ValueError(f"{chunk.sender!r} sent an item for day {day}, already "
                                     f"complete (through {self.through})")
                day = self.through + 1
            self.days.setdefault(day, []).append(item)
        self.promised[chunk.sender] = max(self.promised[chunk.sender], chunk.through)
        if chunk.reach is not None:
            self.reaches[chunk.sender] = chunk.reach
            if chunk.through >= ENDED:  # (an idle sender's reach is judged in _idle_through)
                self.end = book_end(self.reaches.values())
        self.end = max(self.end, chunk.end)
        self.stopped = self.stopped or chunk.stopped
        if chunk.idle:
            self.idle.add(chunk.sender)
        else:
            self.idle.discard(chunk.sender)

    @property
    def ended(self) -> bool:
        """Every sender's input ended."""
        return self.through >= ENDED

    def complete(self) -> tuple[list[tuple[int, list[Any]]], int | None]:
        """The newly complete days that have items, in order, and how far days are now
        complete (None if no further than before; `ENDED` once every sender ended)."""
        through = self._promised()
        if through <= self.through:
            return [], None
        ready = sorted(day for day in self.days if day <= through)
        out = [(day, self.days.pop(day)) for day in ready]
        self.through = through
        return out, through

    def _promised(self) -> int:
        """The day every sender has promised, idle senders aside (unless all are idle or
        ended: then as far as any idle one has promised, within the book's reach,
        `_idle_through`)."""
        active = [day for sender, day in self.promised.items() if sender not in self.idle]
        through = min(active, default=ENDED)
        if through >= ENDED and self.idle:
            through = self._idle_through()
        return through

    def _idle_through(self) -> int:
        """As far as any idle sender has promised, but not past the book's end so far
        (`detectors.reach.book_end` over the senders' reaches, an idle one's through its
        promise): a live input that began far ahead of the rest of the book (its first
        record dated a year on, a typo) waits there, as a record after the rest of an ended
        book is rejected, rather than taking every customer's month ends to its day (an
        input with days of its own sends such records unpromised,
        `detectors.feedclock.FeedClock`: they wait here for their day). Without reaches (a
        later step's inbox), as far as any idle sender promised.

        >>> inbox = Inbox(("pay", "reg"), redate=True)
        >>> inbox.put(Chunk("pay", "me", 99, idle=True, reach=Reach(0, 99, 9000, 64)))
        >>> inbox.put(Chunk("reg", "me", 465, [(465, "typo")], idle=True,
        ...                 reach=Reach(465, 465, 1, 1)))
        >>> inbox.complete()
        ([], 99)
        """
        promised = [self.promised[sender] for sender in self.idle]
        if not self.reaches:
            return max(promised)
        end = max(book_end(self.reaches.values()), self.through + 1)
        return max([day for day in promised if day <= end], default=self.through)

    def rest(self) -> list[tuple[int, list[Any]]]:
        """Every day still held, in order, whether complete or not (the end of input)."""
        out = [(day, self.days.pop(day)) for day in sorted(self.days)]
        return out
