"""How far a book goes once its inputs have ended.

Each input's clock judges its own tail (`detectors.feedclock`): records more than
`TAIL_GAP_DAYS` after the rest of the input, in no group dense enough to be its data, lie
after the input's *supported end*. An input of its own that holds only such records (a
split file of one record dated 2999, a topic partition that got one typo'd message) has
nothing to judge against: alone, every record supports itself. So the first step, once every
input has ended, judges the inputs against each other as a clock judges records: the book's
end is the end of its largest input, moved on by every input that begins within
`BOOK_GAP_DAYS` of the end so far (it continues the book: a registry file whose one filing
came weeks after the last payment) or that holds as many records as the largest input has
in a quarter of a quarter (a feed of its own, such as the next year's file). The first step
rejects the records after the book's end (`detectors.dedup.EventIds.after_the_inputs`): a
typo'd date does not take every customer's month ends to its day.

The judgement depends on each input's valid records alone, never on the order inputs ended
in or on how their records were routed to workers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TAIL_GAP_DAYS = 31
"""A record dated at most this long after the last day its input supported before it (a
month: the next report of a monthly feed) is supported too."""
BOOK_GAP_DAYS = 92
"""An input that begins at most this long after the book's end so far (a quarter: the next
report of a quarterly feed, a filing some weeks after a customer's last payment) continues
the book, whatever its size; a typo'd year lies further."""


@dataclass(frozen=True, slots=True)
class Reach:
    """The days an ended input supports: from ``first`` to its supported ``end``, with
    ``records`` valid records and ``support``, the records a quarter must hold to be its
    data after a gap (`detectors.feedclock.FeedClock.tail_support`)."""

    first: int
    end: int
    records: int
    support: int
    given: bool = False
    """The input's days were given (a replay of an audit log): every record of it was
    applied once, so it counts whatever its size."""


def book_end(reaches: Iterable[Reach]) -> int:
    """The last day the book's inputs support (see the module's docstring).

    >>> payments = Reach(first=0, end=364, records=10_000, support=64)
    >>> book_end([payments, Reach(first=357_000, end=357_000, records=1, support=1)])
    364
    >>> book_end([payments, Reach(first=420, end=430, records=1, support=1)])
    430
    >>> book_end([payments, Reach(first=500, end=800, records=900, support=64)])
    800
    """
    reaches = list(reaches)
    largest = max(reaches, key=lambda reach: (reach.records, reach.end, reach.first))
    end, moved = largest.end, True
    while moved:  # (an input skipped may begin within the book once another moved its end)
        moved = False
        for reach in reaches:
            if reach.end > end and (reach.given or reach.first - end <= BOOK_GAP_DAYS
                                    or reach.records >= largest.support):
                end, moved = reach.end, True
    return end
