"""Adverse news and company-registry signals, each an intensity that decays with time."""

from __future__ import annotations

import math

from detectors.base import Decaying, Detector

ADVERSE_WEIGHTS = {
    "fraud": 3.0,
    "plant_closure": 2.0,
    "layoffs": 1.5,
    "downgrade": 1.5,
    "late_payment": 1.5,
    "lawsuit": 1.0,
    "executive_departure": 1.0,
}
POSITIVE_WEIGHTS = {"expansion": 1.0, "new_contract": 1.0}
RATING_SCALE = """
    AAA AA+ AA AA- A+ A A- BBB+ BBB BBB- BB+ BB BB- B+ B B- CCC+ CCC CCC- CC C RD SD D
    """.split()


class NewsDetector(Detector):
    """Decayed intensity of adverse and of positive news.

    >>> news = NewsDetector(half_life_days=90.0)
    >>> news.item(["lawsuit"], sentiment=-0.8, day=0)
    >>> news.features(day=0)["news_adverse"]
    1.3
    """

    def __init__(self, half_life_days: float = 90.0):
        self.half_life_days = half_life_days
        self._adverse = Decaying()
        self._positive = Decaying()

    def item(self, categories: list[str], sentiment: float | None, day: int) -> None:
        tone = sentiment if sentiment is not None else 0.0
        adverse = sum(ADVERSE_WEIGHTS.get(c, 0.0) for c in categories)
        positive = sum(POSITIVE_WEIGHTS.get(c, 0.0) for c in categories)
        if not categories and tone < -0.3:
            adverse = 1.0
        if not categories and tone > 0.3:
            positive = 1.0
        if adverse:
            self._adverse.add(adverse * (0.5 + max(0.0, -tone)), day, self.half_life_days)
        if positive:
            self._positive.add(positive * (0.5 + max(0.0, tone)), day, self.half_life_days)

    def features(self, day: int) -> dict[str, float | None]:
        return {
            "news_adverse": self._adverse.value(day, self.half_life_days),
            "news_positive": self._positive.value(day, self.half_life_days),
        }


class RegistryDetector(Detector):
    """Distress seen in the company registry: restructuring, judgments, resignations,
    capital cuts, rating downgrades and late accounts.

    >>> registry = RegistryDetector(half_life_days=180.0)
    >>> registry.accounts_overdue(period_end_day=0, day=300)
    >>> registry.features(day=310)["accounts_overdue"]
    1.0
    >>> registry.accounts_filed(period_end_day=0)
    >>> registry.features(day=320)["accounts_overdue"]
    0.0
    """

    def __init__(self, half_life_days: float = 180.0):
        self.half_life_days = half_life_days
        self._distress = Decaying()
        self._downgrade = Decaying()
        self._overdue_period: int | None = None
        self.status = "active"

    def status_change(self, status: str, day: int) -> None:
        self.status = status
        weight = {"restructuring": 2.0, "dissolved": 3.0, "struck_off": 3.0}.get(status, 0.0)
        if weight:
            self._distress.add(weight, day, self.half_life_days)

    def judgment(self, amount: float, day: int) -> None:
        self._distress.add(1.0 + math.log10(1.0 + amount) / 5.0, day, self.half_life_days)

    def director_resigned(self, day: int) -> None:
        self._distress.add(0.5, day, self.half_life_days)

    def capital_change(self, delta: float, day: int) -> None:
        if delta < 0:
            self._distress.add(0.5, day, self.half_life_days)

    def rating_change(self, old: str | None, new: str, day: int) -> None:
        if old in RATING_SCALE and new in RATING_SCALE:
            notches = RATING_SCALE.index(new) - RATING_SCALE.index(old)
            if notches > 0:
                self._downgrade.add(min(notches, 6) / 3.0, day, self.half_life_days)

    def accounts_overdue(self, period_end_day: int, day: int) -> None:
        if self._overdue_period is None or period_end_day > self._overdue_period:
            self._overdue_period = period_end_day

    def accounts_filed(self, period_end_day: int) -> None:
        if self._overdue_period is not None and period_end_day >= self._overdue_period:
            self._overdue_period = None

    def features(self, day: int) -> dict[str, float | None]:
        return {
            "registry_distress": self._distress.value(day, self.half_life_days),
            "rating_downgrade": self._downgrade.value(day, self.half_life_days),
            "accounts_overdue": 0.0 if self._overdue_period is None else 1.0,
        }
