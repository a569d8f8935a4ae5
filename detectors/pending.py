"""Month-end snapshots each customer holds until their label is known.

A month-end snapshot taken at month ``m`` is a training example labelled 1 if the customer
defaults within the horizon, 0 if the horizon passes without a default. Its label is known
either at the default or ``horizon + 1`` month ends later, so each customer holds at most
``horizon + 1`` of them: a ring indexed by month, features as float16 (training needs no
more precision, and this is the largest part of a customer's state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.features import WIDTH
from detectors.table import Column, Table

EMPTY = -1


@dataclass(frozen=True, slots=True)
class Resolved:
    """Labelled month-end snapshots: slot, snapshot month and label, features (float16, as
    held), and for a positive the months from the snapshot to the default (0 for a
    negative)."""

    slots: np.ndarray
    months: np.ndarray
    y: np.ndarray
    X: np.ndarray
    lag: np.ndarray


class PendingLabels:
    """The ring of month-end snapshots awaiting their label, per customer.

    >>> t = Table(PendingLabels.columns(horizon=2))
    >>> pending = PendingLabels(t, horizon=2)
    >>> a, b = t.add(), t.add()
    >>> X = np.zeros((2, WIDTH)); X[:, 0] = [1.0, 2.0]
    >>> for month in range(3):
    ...     _ = pending.month_end(np.array([a, b]), month, X)
    >>> resolved = pending.defaulted(b, before_month=3, within_from=1)  # all three of b
    >>> resolved.months.tolist(), resolved.y.tolist()  # month 0's horizon had passed
    ([0, 1, 2], [0, 1, 1])
    >>> resolved = pending.month_end(np.array([a]), 3, X[:1])
    >>> resolved.slots.tolist(), resolved.months.tolist(), resolved.y.tolist()  # month 0 of a
    ([0], [0], [0])
    """

    def __init__(self, table: Table, horizon: int) -> None:
        self.t = table
        self.horizon = horizon
        self.ring = horizon + 1

    @staticmethod
    def columns(horizon: int) -> tuple[Column, ...]:
        return (Column("pend_month", "i4", EMPTY, (horizon + 1,)),
                Column("pend_x", "f2", np.nan, (horizon + 1, WIDTH)))

    def month_end(self, slots: np.ndarray, month: int, X: np.ndarray) -> Resolved:
        """At the end of ``month``: resolve, for every customer, the snapshot whose horizon
        has now passed without a default (negative), then keep ``X`` as the snapshots of
        ``slots`` for ``month``. Both use the ring position of ``month``."""
        position = month % self.ring
        held = self.t.pend_month[: self.t.size, position]
        due = np.flatnonzero(held == month - self.ring)
        resolved = Resolved(due, held[due].copy(), np.zeros(len(due), dtype=np.uint8),
                            self.t.pend_x[due, position], np.zeros(len(due), dtype=np.uint8))
        self.t.pend_month[due, position] = EMPTY
        self.t.pend_month[slots, position] = month
        self.t.pend_x[slots, position] = X
        return resolved

    def defaulted(self, slot: int, before_month: int, within_from: int) -> Resolved:
        """A customer defaulted: every snapshot it holds from before ``before_month`` gets
        its label: positive from month ``within_from`` on (the default fell within their
        horizon), negative before (their horizon passed first; the month end that would
        have said so had not come yet). ``before_month`` is the first month starting at or
        after the default, so a positive snapshot of month m saw it come within
        ``before_month - m`` months. Later snapshots are dropped: a snapshot at or after a
        default has no label."""
        months = self.t.pend_month[slot]
        keep = np.flatnonzero((months != EMPTY) & (months < before_month))
        keep = keep[np.argsort(months[keep], kind="stable")]
        held = months[keep].copy()
        y = (held >= within_from).astype(np.uint8)
        resolved = Resolved(np.full(len(keep), slot), held, y,
                            self.t.pend_x[slot, keep],
                            np.where(y == 1, before_month - held, 0).astype(np.uint8))
        self.t.pend_month[slot] = EMPTY
        return resolved
