"""The receivables ledger of one customer: open invoices, aging, DSO, overdue share.

Amounts are floats in the reporting currency; days are event-time day numbers. The ledger
answers "as of day D" questions without reading a clock, so the same events always give the
same figures.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from operator import attrgetter

from config.errors import CreditRadarError
from detectors.recent import RecentIds

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
SALES_WINDOW_DAYS = 90
CLOSED_MEMORY_DAYS = 120
"""How long a settled invoice's id is remembered, so a late extra payment is recognised."""
_CENT = 0.005


class LedgerError(CreditRadarError):
    """A ledger event that cannot apply; ``reason`` is the dead-letter code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a payment did: how late the invoice closed (if it did), and if it was partial."""

    closed: bool
    days_late: int | None
    partial: bool


@dataclass(frozen=True, slots=True)
class Position:
    """The open position as of a day, from one pass over the open items."""

    total: float
    overdue: float
    over_90: float
    max_dpd: int
    """Days past due of the oldest overdue item above the materiality threshold."""

    @property
    def overdue_share(self) -> float:
        return self.overdue / self.total if self.total > _CENT else 0.0


@dataclass(slots=True)
class OpenItem:
    """One unpaid invoice: what is still open, what it was, when issued and due (days)."""

    open: float
    original: float
    issue_day: int
    due_day: int
    event_id: str = ""


@dataclass(slots=True)
class Ledger:
    """Open items and recent sales of one customer.

    >>> ledger = Ledger()
    >>> ledger.invoice("i1", 1000.0, issue_day=0, due_day=30)
    >>> ledger.pay("i1", 400.0, day=20)
    Settlement(closed=False, days_late=None, partial=True)
    >>> ledger.aging(day=45)
    {'current': 0.0, '1_30': 600.0, '31_60': 0.0, '61_90': 0.0, 'over_90': 0.0}
    >>> ledger.overdue_share(day=45)
    1.0
    """

    open_items: dict[str, OpenItem] = field(default_factory=dict)
    sale_days: array = field(default_factory=lambda: array("i"))
    sale_amounts: array = field(default_factory=lambda: array("d"))
    """Issue day and amount of each sale of the last `SALES_WINDOW_DAYS` (as last pruned)."""
    closed: RecentIds = field(default_factory=RecentIds)
    """Settled invoices, remembered `CLOSED_MEMORY_DAYS` so a late extra payment is known."""
    unapplied: float = 0.0
    _crossing: tuple[float, int | None] | None = field(default=None, repr=False, compare=False)
    """`material_default_day`'s last answer: it changes only when the open items do."""

    def invoice(
        self, invoice_id: str, amount: float, issue_day: int, due_day: int, event_id: str = ""
    ) -> None:
        if invoice_id in self.open_items or RecentIds.key(invoice_id) in self.closed:
            raise LedgerError("duplicate_invoice", f"invoice {invoice_id} already exists")
        self.open_items[invoice_id] = OpenItem(amount, amount, issue_day, due_day, event_id)
        self._crossing = None
        self.sale_days.append(issue_day)
        self.sale_amounts.append(amount)

    def pay(self, invoice_id: str, amount: float, day: int) -> Settlement:
        """Apply a payment; overpayment and payments on settled invoices become credit."""
        item = self._item(invoice_id)
        if item is None:
            self.unapplied += amount
            return Settlement(closed=False, days_late=None, partial=False)
        applied = min(amount, item.open)
        self.unapplied += amount - applied
        item.open -= applied
        self._crossing = None
        if item.open <= _CENT:
            self._close(invoice_id, day)
            return Settlement(closed=True, days_late=day - item.due_day, partial=False)
        return Settlement(closed=False, days_late=None, partial=True)

    def credit(self, invoice_id: str, amount: float, day: int) -> None:
        """A credit note or write-off reduces the invoice without being a payment."""
        item = self._item(invoice_id)
        if item is None:
            return
        item.open = max(0.0, item.open - amount)
        self._crossing = None
        if item.open <= _CENT:
            self._close(invoice_id, day)

    def aging(self, day: int) -> dict[str, float]:
        """Open amounts by days past due as of ``day``."""
        buckets = dict.fromkeys(AGING_BUCKETS, 0.0)
        for item in self.open_items.values():
            buckets[_bucket(day - item.due_day)] += item.open
        return buckets

    def total_open(self) -> float:
        return sum(item.open for item in self.open_items.values())

    def position(self, day: int, material: float = 0.0) -> Position:
        """Open, overdue and 90+ amounts and the oldest material delay, as of ``day``."""
        total = overdue = over_90 = 0.0
        max_dpd = 0
        for item in self.open_items.values():
            total += item.open
            late = day - item.due_day
            if late > 0:
                overdue += item.open
                if late > 90:
                    over_90 += item.open
                if late > max_dpd and item.open > material:
                    max_dpd = late
        return Position(total, overdue, over_90, max_dpd)

    def overdue_share(self, day: int) -> float:
        """Share of the open amount that is past due (0 when nothing is open)."""
        return self.position(day).overdue_share

    def max_days_past_due(self, day: int, material: float = 0.0) -> int:
        """Days past due of the oldest overdue item whose open amount exceeds ``material``."""
        return self.position(day, material).max_dpd

    def overdue_amount(self, day: int, min_days: int = 1) -> float:
        return sum(i.open for i in self.open_items.values() if day - i.due_day >= min_days)

    def overdue_items(self, day: int, limit: int = 3) -> list[OpenItem]:
        """The oldest overdue items first: the evidence behind a ledger-based warning."""
        overdue = [i for i in self.open_items.values() if day > i.due_day]
        return sorted(overdue, key=lambda i: (i.due_day, i.event_id))[:limit]

    def material_default_day(self, material: float) -> int | None:
        """The day the open amount 90+ days past due first reached ``material`` (summed over
        the position, as FEEDS.md defines a default), or None while it has not.

        >>> book = Ledger()
        >>> book.invoice("a", 300.0, issue_day=0, due_day=10)
        >>> book.invoice("b", 300.0, issue_day=0, due_day=40)
        >>> book.material_default_day(500.0)
        130
        """
        if self._crossing is None or self._crossing[0] != material:
            self._crossing = material, self._first_day_over(material)
        return self._crossing[1]

    def _first_day_over(self, material: float) -> int | None:
        if self.total_open() < material * (1 - 1e-9):  # most books: nothing to sort
            return None
        total = 0.0
        for item in sorted(self.open_items.values(), key=attrgetter("due_day")):
            total += item.open
            if total >= material:
                return item.due_day + 90
        return None

    def dso(self, day: int, total: float | None = None) -> float:
        """Days sales outstanding: open receivables (``total``, if known) over the last 90
        days' sales, in days."""
        self._prune(day)
        sales = sum(self.sale_amounts)
        total = self.total_open() if total is None else total
        if sales <= _CENT:
            return 0.0 if total <= _CENT else 365.0
        return min(365.0, total / sales * SALES_WINDOW_DAYS)

    def _item(self, invoice_id: str) -> OpenItem | None:
        item = self.open_items.get(invoice_id)
        if item is None and RecentIds.key(invoice_id) not in self.closed:
            raise LedgerError("unknown_invoice", f"no invoice {invoice_id} for this customer")
        return item

    def _close(self, invoice_id: str, day: int) -> None:
        del self.open_items[invoice_id]
        self.closed.add(RecentIds.key(invoice_id), day)

    def _prune(self, day: int) -> None:
        if self.sale_days and day - min(self.sale_days) >= SALES_WINDOW_DAYS:
            kept = [i for i, d in enumerate(self.sale_days) if day - d < SALES_WINDOW_DAYS]
            self.sale_days = array("i", (self.sale_days[i] for i in kept))
            self.sale_amounts = array("d", (self.sale_amounts[i] for i in kept))
        if len(self.closed) > 16:
            self.closed.forget_before(day - CLOSED_MEMORY_DAYS + 1)


def _bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "over_90"
