"""How a customer pays: delay level and trend, drift in delays (river), partial payments,
and unusual invoice amounts."""

from __future__ import annotations

import math

from river import drift

from detectors.base import Decaying, Detector

DRIFT_HALF_LIFE_DAYS = 60.0


class PaymentBehaviour(Detector):
    """Online view of payment delays, in days past the due date.

    A fast and a slow exponentially weighted mean give the level and its trend; river's
    Page-Hinkley test flags an upward shift in delays, which decays over two months.

    >>> behaviour = PaymentBehaviour()
    >>> for day, late in enumerate([0, 2, 1, 0, 3, 2, 1, 30, 45, 60, 75, 90]):
    ...     behaviour.settled(days_late=late, day=day * 30)
    >>> features = behaviour.features(day=360)
    >>> features["delay_trend"] > 0, features["delay_drift"] > 0
    (True, True)
    """

    def __init__(self, fast: float = 0.4, slow: float = 0.08, drift_threshold: float = 40.0):
        self.fast = fast
        self.slow = slow
        self.drift_threshold = drift_threshold
        self._drift = drift.PageHinkley(
            min_instances=4, delta=2.0, threshold=drift_threshold, mode="up"
        )
        self._drift_signal = Decaying()
        self._amount_z = Decaying()
        # Plain floats rather than river stats objects: a customer's state must stay small.
        self._level_fast = self._level_slow = self._partial = 0.0
        self._size_mean = self._size_square = 0.0
        self._settled = self._payments = self._invoices = 0

    def settled(self, days_late: int, day: int) -> None:
        """An invoice closed ``days_late`` days after its due date (negative: early)."""
        late = float(max(-30, min(days_late, 365)))
        first = self._settled == 0
        self._level_fast = _ew(self._level_fast, late, self.fast, first)
        self._level_slow = _ew(self._level_slow, late, self.slow, first)
        self._drift.update(late)
        if self._drift.drift_detected:
            self._drift_signal.add(1.0, day, DRIFT_HALF_LIFE_DAYS)
        self._settled += 1
        self._paid(partial=False)

    def partial_payment(self) -> None:
        self._paid(partial=True)

    def _paid(self, partial: bool) -> None:
        self._partial = _ew(self._partial, float(partial), 0.1, self._payments == 0)
        self._payments += 1

    def invoiced(self, amount: float, day: int) -> None:
        """Track invoice sizes; a far larger order than usual is a known pre-default pattern."""
        size = math.log1p(amount)
        if self._invoices >= 5:
            spread = math.sqrt(max(0.0, self._size_square - self._size_mean**2)) or 1.0
            z = (size - self._size_mean) / spread
            if z > 3.0:
                self._amount_z.add(min(z, 10.0) / 10.0, day, DRIFT_HALF_LIFE_DAYS)
        first = self._invoices == 0
        self._size_mean = _ew(self._size_mean, size, 0.1, first)
        self._size_square = _ew(self._size_square, size * size, 0.1, first)
        self._invoices += 1

    def features(self, day: int) -> dict[str, float | None]:
        if self._settled == 0:
            return {"delay_level": None, "delay_trend": None, "delay_drift": None,
                    "partial_share": None, "amount_anomaly": None}
        return {
            "delay_level": self._level_fast,
            "delay_trend": self._level_fast - self._level_slow,
            "delay_drift": self._drift_signal.value(day, DRIFT_HALF_LIFE_DAYS),
            "partial_share": self._partial,
            "amount_anomaly": self._amount_z.value(day, DRIFT_HALF_LIFE_DAYS),
        }


def _ew(mean: float, value: float, weight: float, first: bool) -> float:
    """Exponentially weighted mean; the first value starts it."""
    return value if first else weight * value + (1.0 - weight) * mean
