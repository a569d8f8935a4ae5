"""The events the core understands: what every connector turns its wire format into.

Times are whole seconds since the epoch (UTC), dates are event-time day numbers (days since
1970-01-01), amounts are floats in the record's own currency. An event knows nothing of the
bytes it came from; `Envelope` carries those, with the record's origin and the event-time day
its input had reached when it was read (its delivery day, see `detectors.feedclock`).

These are values: nothing changes one after it is made (`dataclasses.replace` makes a
changed copy). They are plain slotted dataclasses rather than frozen ones because millions
are made and pickled per run, and a frozen dataclass takes four times as long to make.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

FEEDS = ("fx", "country_risk", "industry_risk", "customers", "payments", "news", "registry")
"""The contract's feeds, in the order that breaks ties between events of the same time:
exchange rates and country and industry grades first, so a day's amounts convert at that
day's rate and its snapshots see that day's grades, then master data, so a customer
registered at a time is known to that time's events."""
BROADCAST_FEEDS = ("fx", "country_risk", "industry_risk")
"""Feeds about no customer: every bucket of customers gets each of their records."""
FEED_INDEX = {feed: i for i, feed in enumerate(FEEDS)}


@dataclass(slots=True)
class Event:
    """What every event has: its id (unique within its feed), its time and its customer."""

    FEED: ClassVar[str]
    event_id: str
    at: int
    customer_id: str | None

    @property
    def feed(self) -> str:
        return self.FEED


@dataclass(slots=True)
class FxRate(Event):
    """An exchange rate of a day: 1 ``base`` buys ``rate`` ``currency`` (about no customer:
    every bucket of customers gets it)."""

    FEED: ClassVar[str] = "fx"
    base: str
    currency: str
    rate: float


@dataclass(slots=True)
class CountryRisk(Event):
    """A country's risk grade from its date: 0 (lowest risk) to 7 (highest), the scale of
    the OECD's country risk classification (about no customer: every bucket gets it)."""

    FEED: ClassVar[str] = "country_risk"
    country: str
    grade: int


@dataclass(slots=True)
class IndustryRisk(Event):
    """An industry's risk grade from its date, 0 (lowest risk) to 7 (highest), for the
    customers whose master data names that ``industry`` (about no customer: every bucket
    gets it)."""

    FEED: ClassVar[str] = "industry_risk"
    industry: str
    grade: int


@dataclass(slots=True)
class CustomerRecord(Event):
    """Master data; the latest record of a customer wins, in event time."""

    FEED: ClassVar[str] = "customers"
    name: str
    country: str | None = None
    industry: str | None = None
    currency: str | None = None
    credit_limit: float | None = None
    insured_limit: float | None = None
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    lei: str | None = None
    registry_id: str | None = None
    vat_id: str | None = None
    insured_limit_from: int | None = None
    """The day ``insured_limit`` applies from, when announced ahead; None: at once."""


@dataclass(slots=True)
class Invoice(Event):
    FEED: ClassVar[str] = "payments"
    invoice_id: str
    amount: float
    currency: str
    issue_day: int
    due_day: int


@dataclass(slots=True)
class Payment(Event):
    """A payment on an invoice (partial payments allowed), paid at ``at``."""

    FEED: ClassVar[str] = "payments"
    invoice_id: str
    amount: float
    currency: str


@dataclass(slots=True)
class CreditNote(Event):
    FEED: ClassVar[str] = "payments"
    invoice_id: str
    amount: float
    currency: str


@dataclass(slots=True)
class WriteOff(Event):
    FEED: ClassVar[str] = "payments"
    invoice_id: str
    amount: float
    currency: str


@dataclass(slots=True)
class Tradeline(Event):
    """A periodic bank or bureau snapshot of the customer's account elsewhere."""

    FEED: ClassVar[str] = "payments"
    days_past_due: int
    outstanding: float | None
    currency: str | None
    """Of the amounts; None without any."""
    overdue: float | None = None
    credit_limit: float | None = None
    paid_in_period: float | None = None


@dataclass(slots=True)
class NewsItem(Event):
    """A news item; ``customer_id`` is None until its ``company_name`` (or an identifier) is
    resolved. The name directory (`detectors.directory`) fills ``match_method`` and
    ``match_confidence`` and, where the feed gave none, the categories and sentiment it read
    from the headline."""

    FEED: ClassVar[str] = "news"
    company_name: str | None
    headline: str
    source: str
    categories: tuple[str, ...] = ()
    sentiment: float | None = None
    language: str | None = None
    lei: str | None = None
    registry_id: str | None = None
    vat_id: str | None = None
    match_method: str | None = None
    match_confidence: float | None = None


@dataclass(slots=True)
class StatusChange(Event):
    FEED: ClassVar[str] = "registry"
    status: str


@dataclass(slots=True)
class AccountsFiled(Event):
    """Filed accounts: ``figures`` holds the financials given (name, value), ``ratios`` the
    published ratios (name, value)."""

    FEED: ClassVar[str] = "registry"
    period_end_day: int
    figures: tuple[tuple[str, float], ...] = ()
    ratios: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class AccountsOverdue(Event):
    FEED: ClassVar[str] = "registry"
    period_end_day: int


@dataclass(slots=True)
class DirectorChange(Event):
    FEED: ClassVar[str] = "registry"
    change: str
    role: str | None = None


@dataclass(slots=True)
class CapitalChange(Event):
    FEED: ClassVar[str] = "registry"
    delta: float
    currency: str


@dataclass(slots=True)
class CourtJudgment(Event):
    FEED: ClassVar[str] = "registry"
    amount: float
    currency: str
    kind: str | None = None


@dataclass(slots=True)
class RatingChange(Event):
    FEED: ClassVar[str] = "registry"
    agency: str
    old: str | None
    new: str


DEFAULT_STATUSES = frozenset({"insolvency_filed", "administration", "liquidation"})
"""Registry statuses that are a default (the contract's definition)."""


@dataclass(slots=True)
class Origin:
    """Where a record was read: a feed file and line, a Kafka topic, partition and offset, or
    a plugin's stream and position. ``source`` names the input (file name, ``topic:partition``
    or plugin name) and, with ``position``, orders records read from it."""

    kind: str  # "file" | "kafka" | "plugin"
    source: str
    position: int

    def to_json(self) -> dict[str, Any]:
        if self.kind == "file":
            return {"file": self.source, "line": self.position}
        if self.kind == "kafka":
            topic, _, partition = self.source.rpartition(":")
            return {"topic": topic, "partition": int(partition), "offset": self.position}
        return {"source": self.source, "position": self.position}


@dataclass(slots=True)
class Envelope:
    """An accepted-at-the-door event with the bytes and origin it came from, and ``day``, the
    event-time day its input had reached when it was read (the day it is applied on)."""

    event: Event
    raw: bytes
    origin: Origin
    day: int

    def order(self) -> tuple[int, int, str, str, int]:
        """The total order events are applied in within a day, whatever their arrival:
        event time, feed, event id, then where they were read (only repeats of an id tie)."""
        event = self.event
        return (event.at, FEED_INDEX[event.FEED], event.event_id, self.origin.source,
                self.origin.position)


def pack(envelopes: list[Envelope]) -> tuple[Any, ...]:
    """Envelopes as a few flat columns, the form they cross between processes in: pickling
    columns of plain values is several times faster than pickling the objects.

    >>> payment = Payment("p-1", 86_400, "C1", "I1", 5.0, "EUR")
    >>> e = Envelope(payment, b"{}", Origin("file", "f", 3), 1)
    >>> unpack(pack([e, e])) == [e, e]
    True
    """
    kinds: list[int] = []
    classes: list[type[Event]] = []
    columns: list[list[list[Any]]] = []
    for envelope in envelopes:
        cls = type(envelope.event)
        try:
            kind = classes.index(cls)
        except ValueError:
            kind = len(classes)
            classes.append(cls)
            columns.append([[] for _ in _names(cls)])
        kinds.append(kind)
        event = envelope.event
        for column, name in zip(columns[kind], _FIELDS[cls], strict=True):
            column.append(getattr(event, name))
    return (classes, kinds, columns, [e.raw for e in envelopes],
            [e.origin.kind for e in envelopes], [e.origin.source for e in envelopes],
            [e.origin.position for e in envelopes], [e.day for e in envelopes])


def unpack(packed: tuple[Any, ...]) -> list[Envelope]:
    """The envelopes `pack` flattened."""
    classes, kinds, columns, raws, origin_kinds, sources, positions, days = packed
    rows = [iter(zip(*class_columns, strict=True)) for class_columns in columns]
    return [Envelope(classes[kind](*next(rows[kind])), raw, Origin(origin_kind, source,
                                                                   position), day)
            for kind, raw, origin_kind, source, position, day
            in zip(kinds, raws, origin_kinds, sources, positions, days, strict=True)]


_FIELDS: dict[type[Event], tuple[str, ...]] = {}
"""Each event class's fields, in the order its constructor takes them."""


def _names(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names
