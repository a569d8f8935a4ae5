"""How a customer pays: delay level and trend, drift in delays, partial payments, and
unusually large invoices."""

from __future__ import annotations

import math

import numpy as np

from detectors.base import Detector
from detectors.decay import add, decayed
from detectors.features import INDEX
from detectors.table import Column

DRIFT_HALF_LIFE_DAYS = 60.0
FAST, SLOW, PARTIAL, SIZE = 0.4, 0.08, 0.1, 0.1
"""Weights of the exponentially weighted means: delay level (fast and slow), share of partial
payments, invoice size."""
PH_DELTA, PH_THRESHOLD, PH_ALPHA, PH_MIN = 2.0, 40.0, 0.9999, 4
"""The Page-Hinkley test for an upward shift in delays (as river's ``drift.PageHinkley``
with ``mode="up"``): tolerance, threshold, forgetting factor, observations before testing."""
_NO_DAY = -(10**9)


class PaymentBehaviour(Detector):
    """Online view of payment delays, in days past the due date.

    A fast and a slow exponentially weighted mean give the level and its trend; a
    Page-Hinkley test flags an upward shift in delays, which then decays over two months.

    >>> from detectors.table import Table
    >>> behaviour = PaymentBehaviour(Table(PaymentBehaviour.COLUMNS))
    >>> slot = behaviour.t.add()
    >>> for day, late in enumerate([0, 2, 1, 0, 3, 2, 1, 30, 45, 60, 75, 90]):
    ...     behaviour.settled(slot, days_late=late, day=day * 30)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> behaviour.features(np.array([slot]), 360, X)
    >>> bool(X[0, INDEX["delay_trend"]] > 0), bool(X[0, INDEX["delay_drift"]] > 0)
    (True, True)
    """

    COLUMNS = (
        Column("bh_fast", "f8"), Column("bh_slow", "f8"), Column("bh_settled", "i4"),
        Column("bh_partial", "f8"), Column("bh_payments", "i4"),
        Column("bh_size_mean", "f8"), Column("bh_size_square", "f8"),
        Column("bh_invoices", "i4"),
        Column("ph_n", "i4"), Column("ph_mean", "f8"), Column("ph_sum", "f8"),
        Column("ph_min", "f8", math.inf), Column("ph_hit", "i1"),
        Column("bh_drift", "f8"), Column("bh_drift_day", "i4", _NO_DAY),
        Column("bh_anomaly", "f8"), Column("bh_anomaly_day", "i4", _NO_DAY),
    )

    def settled(self, slot: int, days_late: int, day: int) -> None:
        """An invoice closed ``days_late`` days after its due date (negative: early)."""
        t = self.t
        late = float(max(-30, min(days_late, 365)))
        first = t.bh_settled[slot] == 0
        t.bh_fast[slot] = _ew(t.bh_fast[slot], late, FAST, first)
        t.bh_slow[slot] = _ew(t.bh_slow[slot], late, SLOW, first)
        if self._shift_detected(slot, late):
            add(t.bh_drift, t.bh_drift_day, slot, 1.0, day, DRIFT_HALF_LIFE_DAYS)
        t.bh_settled[slot] += 1
        self._paid(slot, partial=False)

    def partial_payment(self, slot: int) -> None:
        self._paid(slot, partial=True)

    def invoiced(self, slot: int, amount: float, day: int) -> None:
        """Track invoice sizes; a far larger order than usual is a known pre-default pattern."""
        t = self.t
        size = math.log1p(amount)
        if t.bh_invoices[slot] >= 5:
            mean = float(t.bh_size_mean[slot])
            spread = math.sqrt(max(0.0, float(t.bh_size_square[slot]) - mean * mean)) or 1.0
            z = (size - mean) / spread
            if z > 3.0:
                add(t.bh_anomaly, t.bh_anomaly_day, slot, min(z, 10.0) / 10.0, day,
                    DRIFT_HALF_LIFE_DAYS)
        first = t.bh_invoices[slot] == 0
        t.bh_size_mean[slot] = _ew(t.bh_size_mean[slot], size, SIZE, first)
        t.bh_size_square[slot] = _ew(t.bh_size_square[slot], size * size, SIZE, first)
        t.bh_invoices[slot] += 1

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        t = self.t
        known = t.bh_settled[slots] > 0
        fast = t.bh_fast[slots]
        X[:, INDEX["delay_level"]] = np.where(known, fast, np.nan)
        X[:, INDEX["delay_trend"]] = np.where(known, fast - t.bh_slow[slots], np.nan)
        drift = decayed(t.bh_drift[slots], t.bh_drift_day[slots], day, DRIFT_HALF_LIFE_DAYS)
        X[:, INDEX["delay_drift"]] = np.where(known, drift, np.nan)
        X[:, INDEX["partial_share"]] = np.where(known, t.bh_partial[slots], np.nan)
        anomaly = decayed(t.bh_anomaly[slots], t.bh_anomaly_day[slots], day,
                          DRIFT_HALF_LIFE_DAYS)
        X[:, INDEX["amount_anomaly"]] = np.where(known, anomaly, np.nan)

    def _paid(self, slot: int, partial: bool) -> None:
        t = self.t
        t.bh_partial[slot] = _ew(t.bh_partial[slot], float(partial), PARTIAL,
                                 t.bh_payments[slot] == 0)
        t.bh_payments[slot] += 1

    def _shift_detected(self, slot: int, late: float) -> bool:
        """One Page-Hinkley step; after a detection the test starts afresh."""
        t = self.t
        if t.ph_hit[slot]:
            t.ph_n[slot], t.ph_mean[slot], t.ph_sum[slot], t.ph_min[slot] = 0, 0.0, 0.0, math.inf
            t.ph_hit[slot] = 0
        n = int(t.ph_n[slot]) + 1
        mean = float(t.ph_mean[slot]) + (late - float(t.ph_mean[slot])) / n
        total = PH_ALPHA * float(t.ph_sum[slot]) + (late - mean) - PH_DELTA
        lowest = min(float(t.ph_min[slot]), total)
        t.ph_n[slot], t.ph_mean[slot], t.ph_sum[slot], t.ph_min[slot] = n, mean, total, lowest
        hit = n >= PH_MIN and total - lowest > PH_THRESHOLD
        t.ph_hit[slot] = hit
        return hit


def _ew(mean: float, value: float, weight: float, first: bool) -> float:
    """Exponentially weighted mean; the first value starts it."""
    return value if first else weight * value + (1.0 - weight) * float(mean)
