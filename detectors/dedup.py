"""Event ids unique within their feed: the first record read with an id is applied, a repeat
is counted as a duplicate (same bytes) or rejected (same id, other content).

`EventIds` is the step for one share of the ids (keyed by a hash of feed and id, so every
record with a given id meets the same step, from any file, partition or worker). Within a day
the records are taken in the monitor's total order, so "first" never depends on arrival.
Ids are remembered `event_id_memory_days` (`IdMemory`): an id reused later than that counts
as new. Every record it sees is also handed to the audit log, with what became of it.

A rejected record changes nothing, so it must not use up its id either. The id step cannot
know that the customer's step will reject a record (no master record yet, a payment of an
unknown invoice), so a repeat of a record about one customer goes on to that customer's
step as a `Repeat`, and `SecondChances` there judges it afresh when every earlier record of
the customer with the id was rejected: a record re-sent once the master data came is
applied, not counted as a duplicate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from detectors import events as ev
from detectors.clock import DAY, to_rfc3339
from detectors.events import Envelope
from detectors.idmemory import STRETCH_DAYS, IdMemory, key_of
from detectors.records import DeadLetter
from detectors.snapshots import Accepted
from detectors.stage import Send

DIRECTORY = "directory"
"""The key of the step that resolves company names (`detectors.directory`)."""


@dataclass(frozen=True, slots=True)
class Repeat:
    """A record about one customer whose id its feed used before, for the customer's step
    to judge (`SecondChances`); ``same``: its bytes are those of the id's first record."""

    envelope: Envelope
    same: bool
    since: int
    """The day the id step began to remember the id (its first record's)."""

    def order(self) -> tuple[int, int, str, str, int]:
        return self.envelope.order()


@dataclass(frozen=True, slots=True)
class Seen:
    """A record that passed the door, seen by the id step ``key`` (for the audit log)."""

    key: str
    envelope: Envelope


class EventIds:
    """One share of the feed-wide event ids; sends each first record to its customer's
    bucket (``bucket_of``), master data to the directory too, news to the directory alone
    (it resolves and reads every item, then sends it on to its customer's bucket), and
    exchange rates and country grades to every bucket (``buckets``)."""

    def __init__(self, name: str, memory_days: int, bucket_of: Callable[[str], str],
                 allowed_lateness_days: int = 7, buckets: tuple[str, ...] = ()) -> None:
        self.name = name
        self.memory = IdMemory(memory_days)
        self.bucket_of = bucket_of
        self.buckets = buckets
        self.broadcast = 0
        """Records sent to every bucket (counted once, here, as accepted)."""
        self.allowed_lateness_days = allowed_lateness_days

    def day(self, day: int, items: list[Envelope]) -> list[Any]:
        out: list[Any] = []
        if any(envelope.day != day for envelope in items):
            items = self._redated(day, items, out)
        items = sorted(items, key=Envelope.order)
        keys = np.array([key_of(f"{e.event.FEED}\x00{e.event.event_id}") for e in items],
                        dtype=np.uint64)
        contents = [zlib.crc32(e.raw) for e in items]
        found, remembered = self.memory.get_many(keys)
        today: dict[int, int] = {}
        for i, envelope in enumerate(items):
            out.append(Seen(self.name, envelope))
            key = int(keys[i])
            first = today.get(key)
            if first is None and found[i]:
                first = int(remembered[i])
            if first is not None:
                since, content = _unpacked(first)
                out.append(self._repeat(envelope, day, since, same=content == contents[i]))
                continue
            today[key] = _packed(day, contents[i])
            out.extend(self._route(day, envelope))
        for key, first in today.items():
            self.memory.put(key, first, day)
        return out

    def advance(self, through: int) -> list[Any]:
        self.memory.expire(through)
        return []

    def after_the_inputs(self, day: int, items: list[Envelope], end: int) -> list[DeadLetter]:
        """Reject the records of ``day``, after ``end``, the last day the book's inputs
        support (every input has ended): each lay more than a month after the rest of its
        input, or in an input of its own beginning more than a quarter after the rest of the
        book, in no group dense enough to be data (`detectors.feedclock`,
        `detectors.reach`): a typo'd date more likely than news, and applying it would take
        the whole book's month ends to its day, ageing every open invoice with no payment to
        be read. Like a late record, it never reaches the audit log."""
        detail = (f"event time {day - end} days after {to_rfc3339(end * DAY)[:10]}, the last "
                  "day the book's inputs support, alone after the rest of its feed or of "
                  "the book, in no group dense enough to be data; probably a typo in the date")
        return [DeadLetter(e.event.FEED, "implausible_time", detail, e.raw, e.origin,
                           e.event.event_id, e.event.customer_id)
                for e in sorted(items, key=Envelope.order)]

    def finish(self) -> list[Any]:
        return [Accepted(self.name, self.broadcast)]

    def _redated(self, day: int, items: list[Envelope], out: list[Any]) -> list[Envelope]:
        """Records of a live input that went idle, arriving after their day was complete:
        applied today, or rejected as ``late`` beyond the allowed lateness."""
        kept = []
        oldest = (day - self.allowed_lateness_days) * DAY
        for envelope in items:
            event = envelope.event
            if envelope.day != day and event.at < oldest:
                detail = (f"event time {day - event.at // DAY} days behind the monitor's "
                          f"day when it arrived from an input that had gone idle, which "
                          f"allows {self.allowed_lateness_days} (detectors.allowed_lateness_days)")
                out.append(DeadLetter(event.FEED, "late", detail, envelope.raw,
                                      envelope.origin, event.event_id, event.customer_id))
                continue
            kept.append(replace(envelope, day=day))
        return kept

    def _route(self, day: int, envelope: Envelope) -> list[Send]:
        event = envelope.event
        if isinstance(event, ev.NewsItem):  # every item is resolved and read there
            return [Send(DIRECTORY, day, envelope)]
        if event.FEED in ev.BROADCAST_FEEDS:
            self.broadcast += 1
            return [Send(bucket, day, envelope) for bucket in self.buckets]
        to_bucket = Send(self.bucket_of(event.customer_id), day, envelope)
        if isinstance(event, ev.CustomerRecord):
            return [to_bucket, Send(DIRECTORY, day, envelope)]
        return [to_bucket]


    def _repeat(self, envelope: Envelope, day: int, since: int, same: bool
                ) -> DeadLetter | Send:
        """A repeat's dead letter; for a record about one customer (its step may have
        rejected the first), a `Repeat` for that customer's step to judge."""
        event = envelope.event
        if (isinstance(event, ev.NewsItem | ev.CustomerRecord)
                or event.FEED in ev.BROADCAST_FEEDS):
            return repeated(envelope, same)
        return Send(self.bucket_of(event.customer_id), day, Repeat(envelope, same, since))


def _packed(day: int, content: int) -> int:
    """What the id step remembers of an id: the day of its first record and its content."""
    return (day % 2**32) << 32 | content


def _unpacked(value: int) -> tuple[int, int]:
    day = value >> 32
    return day - 2**32 if day >= 2**31 else day, value & 0xFFFF_FFFF


class SecondChances:
    """What a customer's step decided about ids the id step sent on again, so that a
    rejected record does not use up its id (kept per customer, as long as the id step
    remembers ids).

    The id step remembers an id from its first record (a round), and sends a later record
    with it as a `Repeat` while it does. A record of a customer whose earlier records with
    the id in that round were all rejected here is judged afresh (`admit` gives None), and
    once one is applied, later records of the customer with the id are repeats of it for
    as long as the id step would have remembered it from that day, even into the id step's
    next round (a record the id step takes as the first of a round may repeat it)."""

    def __init__(self, memory_days: int) -> None:
        self.memory_days = memory_days
        self.refused = IdMemory(memory_days)
        """The round (the id step's first day of the id) whose first record was rejected."""
        self.taken = IdMemory(memory_days)
        """The content (CRC-32) of a record applied on a second chance."""
        self.taking: dict[str | None, int] = {}
        """The customers with a record applied on a second chance, and the last day one was:
        only their records can repeat one (the others cost a dict lookup)."""

    def admit(self, item: Envelope | Repeat, day: int) -> DeadLetter | None:
        """The dead letter of a record that repeats one applied before, or None to judge
        it as a first record."""
        if type(item) is Envelope and item.event.customer_id not in self.taking:
            return None
        envelope = item.envelope if isinstance(item, Repeat) else item
        key = _customer_key(envelope)
        applied = self.taken.get(key)
        if applied is not None:
            if not isinstance(item, Repeat):  # rejected, the first of the id step's round
                self.refused.put(key, _packed(day, 0), day)
            return repeated(envelope, same=applied == zlib.crc32(envelope.raw))
        if isinstance(item, Repeat) and self.refused.get(key) != _packed(item.since, 0):
            return repeated(envelope, item.same)
        return None

    def judged(self, item: Envelope | Repeat, day: int, applied: bool) -> None:
        """Note what became of a record `admit` let through."""
        if isinstance(item, Repeat):
            if applied:
                self.taken.put(_customer_key(item.envelope), zlib.crc32(item.envelope.raw),
                               day)
                self.taking[item.envelope.event.customer_id] = day
        elif not applied:  # the first of the id step's round, which began today
            self.refused.put(_customer_key(item), _packed(day, 0), day)

    def expire(self, day: int) -> None:
        self.refused.expire(day)
        self.taken.expire(day)
        if self.taking:  # a stretch later than `IdMemory` forgets (so never too early)
            forgotten = day - self.memory_days - STRETCH_DAYS
            self.taking = {c: last for c, last in self.taking.items() if last >= forgotten}


def _customer_key(envelope: Envelope) -> int:
    event = envelope.event
    return key_of(f"{event.FEED}\x00{event.event_id}\x00{event.customer_id}")


def repeated(envelope: Envelope, same: bool) -> DeadLetter:
    """The dead letter of a record whose id was used before: a ``duplicate`` (same bytes) or
    a ``duplicate_id`` (other content)."""
    event = envelope.event
    if same:
        reason, detail = "duplicate", f"event {event.event_id} was already applied"
    else:
        reason = "duplicate_id"
        detail = (f"event id {event.event_id} was already used in the {event.FEED} feed by a "
                  "record with other content (ids are unique within a feed)")
    return DeadLetter(event.FEED, reason, detail, envelope.raw, envelope.origin, event.event_id,
                      event.customer_id)
