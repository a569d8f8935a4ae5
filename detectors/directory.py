"""Which customer a news item names: resolved in event time, before order matters.

`NameDirectory` is one step for the whole book. It keeps every customer's current names
(its name and aliases, normalised by `detectors.names.normalize_name`) and, within each
complete day, takes master data and named news in the monitor's total order: a customer
registered at a time is known to news of that time. A name carried by exactly one customer
resolves to it; none or several make the item a dead letter (`unknown_company`,
`ambiguous_company`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from detectors import events as ev
from detectors.events import Envelope
from detectors.names import normalize_name
from detectors.records import DeadLetter
from detectors.stage import Send


class NameDirectory:
    """Names to customers, and named news to the bucket of the customer it names.

    >>> from detectors.events import Origin
    >>> directory = NameDirectory(lambda customer: "bucket-0")
    >>> def env(event):
    ...     return Envelope(event, b"", Origin("file", "f", 0), 0)
    >>> customer = ev.CustomerRecord("c1", 10, "C1", "Hollis Metalworks GmbH")
    >>> news = ev.NewsItem("n1", 10, None, "HOLLIS METALWORKS", "Layoffs", "Wire")
    >>> [type(o).__name__ for o in directory.day(0, [env(news), env(customer)])]
    ['Send']
    >>> directory.day(0, [env(ev.NewsItem("n2", 11, None, "Nobody AG", "x", "y"))])[0].reason
    'unknown_company'
    """

    def __init__(self, bucket_of: Callable[[str], str]) -> None:
        self.bucket_of = bucket_of
        self._names: dict[str, set[str]] = {}
        """Normalised name -> customers that carry it."""
        self._carried: dict[str, frozenset[str]] = {}
        """Customer -> its normalised names."""

    def day(self, day: int, items: list[Envelope]) -> list[Any]:
        out: list[Any] = []
        for envelope in sorted(items, key=Envelope.order):
            event = envelope.event
            if isinstance(event, ev.CustomerRecord):
                self._register(event)
            elif isinstance(event, ev.NewsItem) and event.company_name is not None:
                out.append(self._resolve(day, envelope, event.company_name))
        return out

    def advance(self, through: int) -> list[Any]:
        return []

    def finish(self) -> list[Any]:
        return []

    def _register(self, record: ev.CustomerRecord) -> None:
        customer = record.customer_id
        names = frozenset(filter(None, (normalize_name(n) for n in (record.name,
                                                                     *record.aliases))))
        for name in self._carried.get(customer, frozenset()) - names:  # type: ignore[arg-type]
            holders = self._names[name]
            holders.discard(customer)  # type: ignore[arg-type]
            if not holders:
                del self._names[name]
        for name in names:
            self._names.setdefault(name, set()).add(customer)  # type: ignore[arg-type]
        self._carried[customer] = names  # type: ignore[index]

    def _resolve(self, day: int, envelope: Envelope, company: str) -> Send | DeadLetter:
        event = envelope.event
        holders = sorted(self._names.get(normalize_name(company), ()))
        if len(holders) == 1:
            named = dataclasses.replace(event, customer_id=holders[0])
            return Send(self.bucket_of(holders[0]), day, dataclasses.replace(envelope,
                                                                             event=named))
        reason = "ambiguous_company" if holders else "unknown_company"
        detail = (f"company_name matches customers {', '.join(holders)}" if holders
                  else "company_name matches no customer name or alias known at its time")
        return DeadLetter(event.FEED, reason, detail, envelope.raw, envelope.origin,
                          event.event_id, None)
