"""Bank and bureau tradelines: days past due elsewhere, and its trend."""

from __future__ import annotations

from detectors.base import Detector

STALE_AFTER_DAYS = 120


class TradelineDetector(Detector):
    """The latest tradeline and how it moved; silent once stale (no news is not good news,
    but neither is it evidence).

    >>> tradelines = TradelineDetector()
    >>> tradelines.update(days_past_due=0, outstanding=900.0, overdue=0.0, limit=1000.0, day=0)
    >>> tradelines.update(days_past_due=45, outstanding=990.0, overdue=300.0, limit=1000.0, day=30)
    >>> tradelines.features(day=40)["tl_dpd_trend"]
    45.0
    """

    def __init__(self, history: int = 4):
        self.history = history
        self._dpd: list[int] = []
        self._outstanding = 0.0
        self._overdue: float | None = None
        self._limit: float | None = None
        self._day: int | None = None

    def update(
        self,
        days_past_due: int,
        outstanding: float,
        overdue: float | None,
        limit: float | None,
        day: int,
    ) -> None:
        self._dpd = [*self._dpd, days_past_due][-self.history :]
        self._outstanding = outstanding
        self._overdue = overdue
        self._limit = limit
        self._day = day

    @property
    def days_past_due(self) -> int:
        return self._dpd[-1] if self._dpd else 0

    def features(self, day: int) -> dict[str, float | None]:
        if self._day is None or day - self._day > STALE_AFTER_DAYS:
            return {"tl_dpd": None, "tl_dpd_trend": None, "tl_overdue_ratio": None,
                    "tl_utilisation": None}
        overdue_ratio = None
        if self._overdue is not None:
            overdue_ratio = self._overdue / self._outstanding if self._outstanding > 0 else 0.0
        return {
            "tl_dpd": float(self._dpd[-1]),
            "tl_dpd_trend": float(self._dpd[-1] - self._dpd[0]),
            "tl_overdue_ratio": overdue_ratio,
            "tl_utilisation": self._outstanding / self._limit if self._limit else None,
        }
