"""How a customer pays: delay level and trend, drift in delays (river), partial payments,
and unusual invoice amounts."""

from __future__ import annotations

import math

from river import drift, stats

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
        self._fast = stats.EWMean(fading_factor=fast)
        self._slow = stats.EWMean(fading_factor=slow)
        self._drift = drift.PageHinkley(
            min_instances=4, delta=2.0, threshold=drift_threshold, mode="up"
        )
        self._drift_signal = Decaying()
        self._partial = stats.EWMean(fading_factor=0.1)
        self._amount_mean = stats.EWMean(fading_factor=0.1)
        self._amount_var = stats.EWVar(fading_factor=0.1)
        self._invoices = 0
        self._amount_z = Decaying()
        self._settled = 0

    def settled(self, days_late: int, day: int) -> None:
        """An invoice closed ``days_late`` days after its due date (negative: early)."""
        late = float(max(-30, min(days_late, 365)))
        self._fast.update(late)
        self._slow.update(late)
        self._drift.update(late)
        if self._drift.drift_detected:
            self._drift_signal.add(1.0, day, DRIFT_HALF_LIFE_DAYS)
        self._partial.update(0.0)
        self._settled += 1

    def partial_payment(self) -> None:
        self._partial.update(1.0)

    def invoiced(self, amount: float, day: int) -> None:
        """Track invoice sizes; a far larger order than usual is a known pre-default pattern."""
        size = math.log1p(amount)
        if self._invoices >= 5:
            spread = math.sqrt(self._amount_var.get()) or 1.0
            z = (size - self._amount_mean.get()) / spread
            if z > 3.0:
                self._amount_z.add(min(z, 10.0) / 10.0, day, DRIFT_HALF_LIFE_DAYS)
        self._amount_mean.update(size)
        self._amount_var.update(size)
        self._invoices += 1

    def features(self, day: int) -> dict[str, float | None]:
        if self._settled == 0:
            return {"delay_level": None, "delay_trend": None, "delay_drift": None,
                    "partial_share": None, "amount_anomaly": None}
        return {
            "delay_level": self._fast.get(),
            "delay_trend": self._fast.get() - self._slow.get(),
            "delay_drift": self._drift_signal.value(day, DRIFT_HALF_LIFE_DAYS),
            "partial_share": self._partial.get(),
            "amount_anomaly": self._amount_z.value(day, DRIFT_HALF_LIFE_DAYS),
        }
