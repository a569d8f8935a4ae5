"""How a step knows a day is complete, whatever order its inputs arrive in.

Every step of the monitor receives `Chunk`s: a sender's items for some days, and the promise
that the sender will send nothing more for any day up to ``through``. An `Inbox` knows its
senders; once every sender has promised a day, the day is complete and its items can be
applied, sorted into the monitor's total order. Nothing depends on which worker a sender ran
on, how chunks were batched, or which arrived first: only on what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOTHING_YET = -(10**9)
"""The promise of a sender that has sent nothing: no day is complete."""


ENDED = 10**9
"""The promise of a sender at the end of its input: nothing more, ever."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """``items`` as ``(day, item)`` pairs from ``sender`` to ``to``, and the sender's promise
    of nothing more for any day up to ``through``. A sender's last chunk promises `ENDED` and
    says in ``end`` the last day its input held (its month ends end there)."""

    sender: str
    to: str
    through: int
    items: list[tuple[int, Any]] = field(default_factory=list)
    end: int = NOTHING_YET


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
    """

    senders: tuple[str, ...]
    promised: dict[str, int] = field(default_factory=dict)
    end: int = NOTHING_YET
    """The last day of any ended sender's input."""
    days: dict[int, list[Any]] = field(default_factory=dict)
    through: int = NOTHING_YET
    """Every day up to this one is complete and was handed out."""

    def __post_init__(self) -> None:
        self.senders = tuple(sorted(self.senders))
        for sender in self.senders:
            self.promised.setdefault(sender, NOTHING_YET)

    def put(self, chunk: Chunk) -> None:
        if chunk.sender not in self.promised:
            raise ValueError(f"chunk from {chunk.sender!r}, which is not one of the senders "
                             f"{', '.join(self.senders)}")
        for day, item in chunk.items:
            if day <= self.through:
                raise ValueError(f"{chunk.sender!r} sent an item for day {day}, already "
                                 f"complete (through {self.through})")
            self.days.setdefault(day, []).append(item)
        self.promised[chunk.sender] = max(self.promised[chunk.sender], chunk.through)
        self.end = max(self.end, chunk.end)

    @property
    def ended(self) -> bool:
        """Every sender's input ended."""
        return self.through >= ENDED

    def complete(self) -> tuple[list[tuple[int, list[Any]]], int | None]:
        """The newly complete days that have items, in order, and how far days are now
        complete (None if no further than before; `ENDED` once every sender ended)."""
        through = min(self.promised.values(), default=NOTHING_YET)
        if through <= self.through:
            return [], None
        ready = sorted(day for day in self.days if day <= through)
        out = [(day, self.days.pop(day)) for day in ready]
        self.through = through
        return out, through

    def rest(self) -> list[tuple[int, list[Any]]]:
        """Every day still held, in order, whether complete or not (the end of input)."""
        out = [(day, self.days.pop(day)) for day in sorted(self.days)]
        return out
