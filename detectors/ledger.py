"""The receivables ledgers of a bucket's customers: open invoices, aging, DSO, defaults.

Open invoices live in one columnar table for the whole bucket (amount still open, due day,
customer slot), found by a 64-bit key of (customer, invoice id); each customer lists its own
rows in the order they were invoiced, so its sums never depend on the other customers. Sales
are an intensity decaying over 90 days, so DSO needs no window of past invoices. Settled
invoices are remembered `CLOSED_MEMORY_DAYS`, so a late extra payment is unapplied cash
rather than an unknown invoice. Days are event-time day numbers; no clock is read.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass

import numpy as np

from config.errors import CreditRadarError
from detectors.base import Detector
from detectors.features import INDEX
from detectors.idmemory import IdMemory, key_of
from detectors.table import Column, Table

SALES_DAYS = 90.0
"""DSO's sales are those of about the last 90 days (an intensity with that time constant)."""
CLOSED_MEMORY_DAYS = 120
NEVER = 2**31 - 1
"""The default day of a customer whose ledger is not in default."""
_CENT = 0.005
_NO_DAY = -(10**9)


class LedgerError(CreditRadarError):
    """A ledger event that cannot apply; ``reason`` is the dead-letter code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a payment did: how late the invoice closed (if it did), and if it was partial."""

    closed: bool
    days_late: int | None
    partial: bool


class Ledgers(Detector):
    """The open invoices and sales of every customer of a bucket.

    >>> from detectors.table import Table
    >>> t = Table(Ledgers.COLUMNS)
    >>> ledgers = Ledgers(t, material=500.0)
    >>> slot = t.add()
    >>> t.credit_limit[slot] = 2000.0
    >>> ledgers.invoice(slot, "C1", "i1", 1000.0, issue_day=0, due_day=30, event_id="e1")
    >>> ledgers.pay(slot, "C1", "i1", 400.0, day=20)
    Settlement(closed=False, days_late=None, partial=True)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> ledgers.features(np.array([slot]), 45, X)
    >>> [float(X[0, INDEX[code]]) for code in ("overdue_share", "max_dpd", "utilisation")]
    [1.0, 15.0, 0.3]
    >>> ledgers.default_day(slot)  # 600 open, more than 500, due day 30: default at 120
    120
    """

    COLUMNS = (
        Column("credit_limit", "f8", np.nan),
        Column("led_seen", "i1"),
        Column("led_unapplied", "f8"),
        Column("led_sales", "f8"), Column("led_sales_day", "i4", _NO_DAY),
        Column("led_default_day", "i4", NEVER),
    )
    _ITEMS = (Column("open", "f8"), Column("due", "i4"), Column("slot", "i4", -1),
              Column("age", "i8"))
    """An open invoice: amount still open, due day, customer slot, and how many invoices
    the bucket had before it (ties on the due day keep invoice order)."""

    def __init__(self, table: Table, material: float) -> None:
        super().__init__(table)
        self.material = material
        self.items = Table(self._ITEMS, capacity=64)
        self.item_events: list[str] = []
        """The event id of each item row (evidence for warnings)."""
        self._free: list[int] = []
        self._rows: dict[int, list[int]] = {}
        """Per customer slot with open invoices: its rows by due day (and age)."""
        self._invoices = 0
        self._keys: dict[int, int] = {}
        """Invoice key (customer, invoice id) -> row, for open invoices."""
        self._closed = IdMemory(CLOSED_MEMORY_DAYS)

    # -- events -----------------------------------------------------------------------------

    def invoice(self, slot: int, customer_id: str, invoice_id: str, amount: float,
                issue_day: int, due_day: int, event_id: str) -> None:
        key = key_of(f"{customer_id}\x00{invoice_id}")
        if key in self._keys or self._closed.get(key) is not None:
            raise LedgerError("duplicate_invoice", f"invoice {invoice_id} already exists")
        row = self._free.pop() if self._free else self._add_row()
        self.items.open[row], self.items.due[row], self.items.slot[row] = amount, due_day, slot
        self.items.age[row] = self._invoices
        self._invoices += 1
        self.item_events[row] = event_id
        self._keys[key] = row
        insort(self._rows.setdefault(slot, []), row, key=self._due_order)
        t = self.t
        t.led_seen[slot] = 1
        since = int(t.led_sales_day[slot])
        if since == _NO_DAY:
            t.led_sales[slot], t.led_sales_day[slot] = amount, issue_day
        elif issue_day >= since:
            decay = math.exp((since - issue_day) / SALES_DAYS)
            t.led_sales[slot] = float(t.led_sales[slot]) * decay + amount
            t.led_sales_day[slot] = issue_day
        else:  # an invoice issued before the latest one: it has decayed already
            t.led_sales[slot] += amount * math.exp((issue_day - since) / SALES_DAYS)
        self._changed(slot)

    def pay(self, slot: int, customer_id: str, invoice_id: str, amount: float,
            day: int) -> Settlement:
        """Apply a payment; overpayment and payments on settled invoices become credit."""
        key, row = self._find(customer_id, invoice_id)
        if row is None:
            self.t.led_unapplied[slot] += amount
            return Settlement(closed=False, days_late=None, partial=False)
        open_amount = float(self.items.open[row])
        applied = min(amount, open_amount)
        self.t.led_unapplied[slot] += amount - applied
        left = open_amount - applied
        self.items.open[row] = left
        due = int(self.items.due[row])
        if left <= _CENT:
            self._close(slot, key, row, day)
            return Settlement(closed=True, days_late=day - due, partial=False)
        self._changed(slot)
        return Settlement(closed=False, days_late=None, partial=True)

    def credit(self, slot: int, customer_id: str, invoice_id: str, amount: float,
               day: int) -> None:
        """A credit note or write-off reduces the invoice without being a payment."""
        key, row = self._find(customer_id, invoice_id)
        if row is None:
            return
        left = max(0.0, float(self.items.open[row]) - amount)
        self.items.open[row] = left
        if left <= _CENT:
            self._close(slot, key, row, day)
        else:
            self._changed(slot)

    def forget(self, day: int) -> None:
        """Drop settled invoices remembered longer than `CLOSED_MEMORY_DAYS`."""
        self._closed.expire(day)

    # -- one customer -----------------------------------------------------------------------

    def total_open(self, slot: int) -> float:
        return sum(float(self.items.open[row]) for row in self._rows.get(slot, ()))

    def open_items(self, slot: int) -> list[tuple[str, float, int]]:
        """The customer's open invoices by due day: (event id, amount open, due day)."""
        return [(self.item_events[r], float(self.items.open[r]), int(self.items.due[r]))
                for r in self._rows.get(slot, ())]

    def has_open(self, slot: int) -> bool:
        return slot in self._rows

    def default_day(self, slot: int) -> int:
        """The day the open amount 90+ days past due first reached the material amount (as
        the contract defines a default), or `NEVER`."""
        return int(self.t.led_default_day[slot])

    def overdue_events(self, slot: int, day: int, limit: int = 3) -> tuple[str, ...]:
        """Event ids of the oldest overdue invoices: the evidence behind a ledger warning."""
        rows = [r for r in self._rows.get(slot, ()) if day > self.items.due[r]]
        rows.sort(key=lambda r: (int(self.items.due[r]), self.item_events[r]))
        return tuple(self.item_events[r] for r in rows[:limit])

    # -- many customers ---------------------------------------------------------------------

    def open_slots(self) -> np.ndarray:
        """The slots with open invoices."""
        return np.fromiter(self._rows, dtype=np.int64, count=len(self._rows))

    def exposure(self, slots: np.ndarray) -> np.ndarray:
        """Total open amount per slot."""
        rows, segment = self._gather(slots)
        return np.bincount(segment, self.items.open[rows], minlength=len(slots))

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        rows, segment = self._gather(slots)
        n = len(slots)
        amount = self.items.open[rows]
        late = day - self.items.due[rows]
        total = np.bincount(segment, amount, minlength=n)
        overdue = np.bincount(segment, np.where(late > 0, amount, 0.0), minlength=n)
        over_90 = np.bincount(segment, np.where(late > 90, amount, 0.0), minlength=n)
        max_dpd = np.zeros(n)
        material = (late > 0) & (amount > self.material)
        np.maximum.at(max_dpd, segment[material], late[material])
        t = self.t
        seen = t.led_seen[slots] == 1
        sales = _sales_at(t.led_sales[slots], t.led_sales_day[slots], day)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > _CENT, overdue / total, 0.0)
            dso = np.where(sales > _CENT, np.minimum(365.0, total / sales * SALES_DAYS),
                           np.where(total > _CENT, 365.0, 0.0))
            over_90_share = np.where(total > 0, over_90 / total, 0.0)
        X[:, INDEX["overdue_share"]] = np.where(seen, share, np.nan)
        X[:, INDEX["max_dpd"]] = np.where(seen, max_dpd, np.nan)
        X[:, INDEX["dso"]] = np.where(seen, dso, np.nan)
        X[:, INDEX["share_over_90"]] = np.where(seen, over_90_share, np.nan)
        X[:, INDEX["has_ledger"]] = seen.astype(np.float64)
        limit = t.credit_limit[slots]
        with np.errstate(divide="ignore", invalid="ignore"):
            used = np.where(limit > 0, total / limit, np.nan)
        X[:, INDEX["utilisation"]] = np.where(seen, used, np.nan)

    # -- inside -----------------------------------------------------------------------------

    def _gather(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The item rows of ``slots``, each customer's oldest first, and for each row the
        position of its slot in ``slots``."""
        rows: list[int] = []
        segment: list[int] = []
        lists = self._rows
        for position, slot in enumerate(slots.tolist()):
            own = lists.get(slot)
            if own:
                rows.extend(own)
                segment.extend([position] * len(own))
        return np.asarray(rows, dtype=np.int64), np.asarray(segment, dtype=np.int64)

    def _find(self, customer_id: str, invoice_id: str) -> tuple[int, int | None]:
        key = key_of(f"{customer_id}\x00{invoice_id}")
        row = self._keys.get(key)
        if row is None and self._closed.get(key) is None:
            raise LedgerError("unknown_invoice", f"no invoice {invoice_id} for this customer")
        return key, row

    def _close(self, slot: int, key: int, row: int, day: int) -> None:
        del self._keys[key]
        own = self._rows[slot]
        own.remove(row)
        if not own:
            del self._rows[slot]
        self.items.open[row], self.items.slot[row] = 0.0, -1
        self.item_events[row] = ""
        self._free.append(row)
        self._closed.put(key, 1, day)
        self._changed(slot)

    def _add_row(self) -> int:
        self.item_events.append("")
        return self.items.add()

    def _due_order(self, row: int) -> tuple[int, int]:
        return int(self.items.due[row]), int(self.items.age[row])

    def _changed(self, slot: int) -> None:
        """Work out the default day again (the open items change only on events): the due
        day, plus 90, of the invoice whose open amount, added to those due before it, first
        reaches the material amount."""
        total = 0.0
        crossing = NEVER
        opened, due = self.items.open, self.items.due
        for row in self._rows.get(slot, ()):
            total += float(opened[row])
            if total >= self.material:
                crossing = int(due[row]) + 90
                break
        self.t.led_default_day[slot] = crossing


def _sales_at(level: np.ndarray | float, since: np.ndarray | int, day: int) -> np.ndarray:
    """Decayed sales as of ``day``; invoices issued after ``day`` count in full."""
    return level * np.exp(-np.maximum(0, day - np.asarray(since)) / SALES_DAYS)
