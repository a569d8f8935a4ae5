"""The receivables ledgers of a bucket's customers: open invoices, aging, DSO, defaults.

Open invoices live in one columnar table for the whole bucket (key, amount still open, due
day, customer slot, event id), and each customer's invoices form a list through the table,
ordered by due day and then by invoicing order, so a customer's figures are summed in an
order that never depends on the other customers. No invoice is a Python object. Sales are
an intensity decaying over 90 days, so DSO needs no window of past invoices. Settled
invoices are remembered `CLOSED_MEMORY_DAYS`, so a late extra payment is unapplied cash
rather than an unknown invoice (the customer's latest `SETTLED_KEPT` of them). Days are
event-time day numbers; no clock is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from config.errors import CreditRadarError
from detectors.base import Detector
from detectors.features import INDEX
from detectors.idmemory import key_of
from detectors.strings import NONE, StringTable
from detectors.table import Column, Table

SALES_DAYS = 90.0
"""DSO's sales are those of about the last 90 days (an intensity with that time constant)."""
CLOSED_MEMORY_DAYS = 120
SETTLED_KEPT = 8
"""Settled invoices each customer remembers (the latest, within `CLOSED_MEMORY_DAYS`)."""
NEVER = 2**31 - 1
"""The default day of a customer whose ledger is not in default."""
END = -1
"""The end of a list of invoice rows (and of the free rows)."""
_CENT = 0.005
_NO_DAY = -(10**9)
_WALK_AT_MOST = 64
"""Customers whose figures are gathered by walking their lists; more, by sorting the table."""


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
    >>> ledgers = Ledgers(t, material=500.0, strings=StringTable())
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
        Column("led_material", "f8", np.nan),
        Column("led_seen", "i1"),
        Column("led_unapplied", "f8"),
        Column("led_sales", "f8"), Column("led_sales_day", "i4", _NO_DAY),
        Column("led_default_day", "i4", NEVER),
        Column("led_head", "i4", END),
        Column("led_settled", "u8", 0, (SETTLED_KEPT,)),
        Column("led_settled_day", "i4", _NO_DAY, (SETTLED_KEPT,)),
    )
    _ITEMS = (Column("key", "u8"), Column("open", "f8"), Column("due", "i4"),
              Column("slot", "i4", -1), Column("age", "i8"), Column("next", "i4", END),
              Column("event", "i4", NONE), Column("invoice", "i4", NONE))
    """An open invoice: its key (customer and invoice id), amount still open, due day,
    customer slot, how many invoices the bucket had before it (ties on the due day keep
    invoice order), the next row of its customer's list, and the handles of its event id
    and its invoice id."""

    def __init__(self, table: Table, material: float, strings: StringTable) -> None:
        """``material``: the material overdue amount of a customer whose ``led_material``
        (the amount in its own currency) is not set."""
        super().__init__(table)
        self.material = material
        self.strings = strings
        self.items = Table(self._ITEMS, capacity=64)
        self._free = END
        self._invoices = 0

    # -- events -----------------------------------------------------------------------------

    def invoice(self, slot: int, customer_id: str, invoice_id: str, amount: float,
                issue_day: int, due_day: int, event_id: str,
                material: float | None = None) -> None:
        """Book an invoice (``material``: the customer's material overdue amount from now on,
        as for `pay`)."""
        key = key_of(f"{customer_id}\x00{invoice_id}")
        if self._find(slot, key)[1] != END or self._settled(slot, key, issue_day):
            raise LedgerError("duplicate_invoice", f"invoice {invoice_id} already exists")
        self._line(slot, material)
        row = self._allocate()
        items = self.items
        items.key[row], items.open[row], items.due[row] = key, amount, due_day
        items.slot[row], items.age[row] = slot, self._invoices
        items.event[row] = self.strings.add(event_id)
        items.invoice[row] = self.strings.add(invoice_id)
        self._invoices += 1
        self._insert(slot, row, due_day)
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
            day: int, material: float | None = None) -> Settlement:
        """Apply a payment; overpayment and payments on settled invoices become credit.
        ``material``, the customer's material overdue amount (in its currency, at the day's
        rate) from now on, is taken only with a record the ledger accepts: a refused one
        leaves its default line where it was."""
        key, before, row = self._known(slot, customer_id, invoice_id, day)
        self._line(slot, material)
        if row == END:
            self.t.led_unapplied[slot] += amount
            return Settlement(closed=False, days_late=None, partial=False)
        open_amount = float(self.items.open[row])
        applied = min(amount, open_amount)
        self.t.led_unapplied[slot] += amount - applied
        left = open_amount - applied
        self.items.open[row] = left
        due = int(self.items.due[row])
        if left <= _CENT:
            self._close(slot, key, before, row, day)
            return Settlement(closed=True, days_late=day - due, partial=False)
        self._changed(slot)
        return Settlement(closed=False, days_late=None, partial=True)

    def credit(self, slot: int, customer_id: str, invoice_id: str, amount: float,
               day: int, material: float | None = None) -> None:
        """A credit note or write-off reduces the invoice without being a payment
        (``material`` as for `pay`)."""
        key, before, row = self._known(slot, customer_id, invoice_id, day)
        self._line(slot, material)
        if row == END:
            return
        left = max(0.0, float(self.items.open[row]) - amount)
        self.items.open[row] = left
        if left <= _CENT:
            self._close(slot, key, before, row, day)
        else:
            self._changed(slot)


    # -- one customer -----------------------------------------------------------------------

    def rows(self, slot: int) -> Iterator[int]:
        """The customer's open invoice rows, by due day (and invoicing order)."""
        row, following = int(self.t.led_head[slot]), self.items.next
        while row != END:
            yield row
            row = int(following[row])

    def total_open(self, slot: int) -> float:
        amounts = self.items.open
        return sum(float(amounts[row]) for row in self.rows(slot))

    def open_items(self, slot: int) -> list[tuple[str, float, int]]:
        """The customer's open invoices by due day: (event id, amount open, due day)."""
        items = self.items
        return [(self.strings.get(int(items.event[r])), float(items.open[r]),
                 int(items.due[r])) for r in self.rows(slot)]

    def overdue_items(self, slot: int, day: int) -> list[tuple[str, str, float, int]]:
        """The customer's invoices past due on ``day``, oldest first: (invoice id, event id,
        amount open, due day)."""
        return [self.item(r) for r in self.rows(slot) if self.items.due[r] < day]

    def has_open(self, slot: int) -> bool:
        return self.t.led_head[slot] != END

    def default_day(self, slot: int) -> int:
        """The day the open amount 90+ days past due first reached the material amount (as
        the contract defines a default), or `NEVER`."""
        return int(self.t.led_default_day[slot])

    def overdue_events(self, slot: int, day: int, limit: int = 3) -> tuple[str, ...]:
        """Event ids of the customer's oldest overdue invoices (as `overdue_handles`)."""
        items = self.items
        rows = [r for r in self.rows(slot) if items.due[r] < day][:limit]
        return tuple(self.strings.get(int(items.event[r])) for r in rows)

    # -- many customers ---------------------------------------------------------------------

    def open_slots(self) -> np.ndarray:
        """The slots with open invoices."""
        return np.flatnonzero(self.t.view("led_head") != END)

    def live_events(self) -> np.ndarray:
        """The string handles of every open invoice's event and invoice ids (kept by a
        compaction)."""
        n = self.items.size
        held = self.items.slot[:n] >= 0
        return np.concatenate((self.items.event[:n][held], self.items.invoice[:n][held]))

    def moved_events(self, moved: np.ndarray) -> None:
        """The string table was compacted: follow each open invoice's handles."""
        n = self.items.size
        for handles in (self.items.event[:n], self.items.invoice[:n]):
            live = handles != NONE
            handles[live] = moved[handles[live]]

    def overdue_handles(self, slots: np.ndarray, day: int, limit: int = 3) -> np.ndarray:
        """Per slot, the event handles of its oldest overdue invoices (by due day, then
        invoicing order; `NONE` where fewer): the evidence behind a ledger warning."""
        rows, segment = self._gather(slots)
        out = np.full((len(slots), limit), NONE, dtype=np.int32)
        overdue = self.items.due[rows] < day
        rows, segment = rows[overdue], segment[overdue]
        if len(rows):
            starts = np.r_[0, np.flatnonzero(np.diff(segment)) + 1]
            first = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
            rank = np.arange(len(rows)) - first
            keep = rank < limit
            out[segment[keep], rank[keep]] = self.items.event[rows[keep]]
        return out

    def coming_due(self, after: int, through: int, offset: int,
                   watched: np.ndarray) -> list[int]:
        """Open invoice rows whose due day plus ``offset`` falls in (``after``,
        ``through``], of customers ``watched`` (a mask by slot), ordered by that day, slot
        and invoicing order."""
        items, n = self.items, self.items.size
        slot = items.slot[:n]
        day = items.due[:n].astype(np.int64) + offset
        rows = np.flatnonzero((slot >= 0) & (day > after) & (day <= through))
        rows = rows[watched[slot[rows]]]
        order = np.lexsort((items.age[rows], slot[rows], day[rows]))
        return rows[order].tolist()

    def item(self, row: int) -> tuple[str, str, float, int]:
        """An open invoice row: (invoice id, event id, amount open, due day)."""
        items, get = self.items, self.strings.get
        return (get(int(items.invoice[row])), get(int(items.event[row])),
                float(items.open[row]), int(items.due[row]))

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
        material = (late > 0) & (amount > self._materials(slots)[segment])
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
        """The open rows of ``slots`` grouped by customer, each customer's in list order (by
        due day, then invoicing order), and for each row the position of its slot in
        ``slots``: a few customers by walking their lists, many by sorting the table."""
        if len(slots) <= _WALK_AT_MOST:
            rows: list[int] = []
            segment: list[int] = []
            for position, slot in enumerate(slots.tolist()):
                own = list(self.rows(slot))
                rows += own
                segment += [position] * len(own)
            return np.asarray(rows, dtype=np.int64), np.asarray(segment, dtype=np.int64)
        items, n = self.items, self.items.size
        position = np.full(self.t.size + 1, -1, dtype=np.int64)  # index -1: a free row
        position[slots] = np.arange(len(slots))
        where = position[items.slot[:n]]
        rows = np.flatnonzero(where >= 0)
        order = np.lexsort((items.age[rows], items.due[rows], where[rows]))
        return rows[order], where[rows[order]]

    def _known(self, slot: int, customer_id: str, invoice_id: str,
               day: int) -> tuple[int, int, int]:
        """The invoice's key, the row before it in its customer's list, and its row (`END`
        for an invoice settled lately); an invoice never seen is an error."""
        key = key_of(f"{customer_id}\x00{invoice_id}")
        before, row = self._find(slot, key)
        if row == END and not self._settled(slot, key, day):
            raise LedgerError("unknown_invoice", f"no invoice {invoice_id} for this customer")
        return key, before, row

    def _settled(self, slot: int, key: int, day: int) -> bool:
        """Whether the customer settled invoice ``key`` within `CLOSED_MEMORY_DAYS`."""
        kept = self.t.led_settled[slot]
        for i in np.flatnonzero(kept == key).tolist():
            if day - self.t.led_settled_day[slot, i] <= CLOSED_MEMORY_DAYS:
                return True
        return False

    def _find(self, slot: int, key: int) -> tuple[int, int]:
        before = END
        keys = self.items.key
        for row in self.rows(slot):
            if keys[row] == key:
                return before, row
            before = row
        return before, END

    def _insert(self, slot: int, row: int, due: int) -> None:
        """Link ``row`` into the customer's list after every invoice due on or before it."""
        items = self.items
        before, at = END, int(self.t.led_head[slot])
        while at != END and items.due[at] <= due:
            before, at = at, int(items.next[at])
        items.next[row] = at
        if before == END:
            self.t.led_head[slot] = row
        else:
            items.next[before] = row

    def _close(self, slot: int, key: int, before: int, row: int, day: int) -> None:
        items = self.items
        following = int(items.next[row])
        if before == END:
            self.t.led_head[slot] = following
        else:
            items.next[before] = following
        items.open[row], items.slot[row], items.event[row] = 0.0, -1, NONE
        items.invoice[row] = NONE
        items.next[row], self._free = self._free, row
        kept, days = self.t.led_settled[slot], self.t.led_settled_day[slot]
        kept[:-1], days[:-1] = kept[1:], days[1:]
        kept[-1], days[-1] = key, day
        self._changed(slot)

    def _materials(self, slots: np.ndarray) -> np.ndarray:
        """The material overdue amount of each slot, in its own currency."""
        own = self.t.led_material[slots]
        return np.where(np.isnan(own), self.material, own)

    def _allocate(self) -> int:
        row = self._free
        if row == END:
            return self.items.add()
        self._free = int(self.items.next[row])
        return row

    def _line(self, slot: int, material: float | None) -> None:
        if material is not None:
            self.t.led_material[slot] = material

    def _changed(self, slot: int) -> None:
        """Work out the default day again (the open items change only on events): the due
        day, plus 90, of the invoice whose open amount, added to those due before it, first
        reaches the material amount."""
        total = 0.0
        crossing = NEVER
        items = self.items
        material = float(self.t.led_material[slot])
        material = self.material if math.isnan(material) else material
        for row in self.rows(slot):
            total += float(items.open[row])
            if total >= material:
                crossing = int(items.due[row]) + 90
                break
        self.t.led_default_day[slot] = crossing


def _sales_at(level: np.ndarray | float, since: np.ndarray | int, day: int) -> np.ndarray:
    """Decayed sales as of ``day``; invoices issued after ``day`` count in full."""
    return level * np.exp(-np.maximum(0, day - np.asarray(since)) / SALES_DAYS)
