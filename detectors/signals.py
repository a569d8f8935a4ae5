"""Adverse news and company-registry signals, each an intensity that decays with time."""

from __future__ import annotations

import math

import numpy as np

from detectors.base import Detector
from detectors.decay import add, decayed
from detectors.features import INDEX
from detectors.table import Column, Table

ADVERSE_WEIGHTS = {
    "insolvency": 3.0,
    "fraud": 3.0,
    "plant_closure": 2.0,
    "layoffs": 1.5,
    "downgrade": 1.5,
    "late_payment": 1.5,
    "default": 1.5,
    "lawsuit": 1.0,
    "executive_departure": 1.0,
    "management_exit": 1.0,
}
"""Weights of the feed's adverse categories (docs/feeds.md) and of the headline reader's
(`detectors.news.lexicon.CATEGORIES`)."""
POSITIVE_WEIGHTS = {"expansion": 1.0, "new_contract": 1.0, "positive": 1.0}
RATING_ACTION = "rating_action"
NEWS_CATEGORIES = frozenset((*ADVERSE_WEIGHTS, *POSITIVE_WEIGHTS, RATING_ACTION))
"""Every category a news feed may tag an item with (docs/feeds.md): each weighs."""
RATING_WEIGHTS = (1.5, 1.0)
"""A rating action counts as adverse (first weight) when its sentiment is negative, else as
positive (second weight)."""
RATING_SCALE = """
    AAA AA+ AA AA- A+ A A- BBB+ BBB BBB- BB+ BB BB- B+ B B- CCC+ CCC CCC- CC C RD SD D
    """.split()
STATUS_DISTRESS = {"restructuring": 2.0, "dissolved": 3.0, "struck_off": 3.0}
_NO_DAY = -(10**9)


class NewsDetector(Detector):
    """Decayed intensity of adverse and of positive news.

    >>> from detectors.table import Table
    >>> news = NewsDetector(Table(NewsDetector.COLUMNS), half_life_days=90.0)
    >>> slot = news.t.add()
    >>> news.item(slot, ("lawsuit",), sentiment=-0.8, day=0)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> news.features(np.array([slot]), 0, X)
    >>> round(float(X[0, INDEX["news_adverse"]]), 6)
    1.3
    """

    COLUMNS = (
        Column("news_adverse", "f8"), Column("news_adverse_day", "i4", _NO_DAY),
        Column("news_positive", "f8"), Column("news_positive_day", "i4", _NO_DAY),
    )

    def __init__(self, table: Table, half_life_days: float = 90.0) -> None:
        super().__init__(table)
        self.half_life_days = half_life_days

    def item(self, slot: int, categories: tuple[str, ...], sentiment: float | None,
             day: int) -> None:
        t = self.t
        tone = sentiment if sentiment is not None else 0.0
        adverse = sum(ADVERSE_WEIGHTS.get(c, 0.0) for c in categories)
        positive = sum(POSITIVE_WEIGHTS.get(c, 0.0) for c in categories)
        if RATING_ACTION in categories:
            if tone < 0:
                adverse += RATING_WEIGHTS[0]
            else:
                positive += RATING_WEIGHTS[1]
        if not categories and tone < -0.3:
            adverse = 1.0
        if not categories and tone > 0.3:
            positive = 1.0
        if adverse:
            add(t.news_adverse, t.news_adverse_day, slot, adverse * (0.5 + max(0.0, -tone)),
                day, self.half_life_days)
        if positive:
            add(t.news_positive, t.news_positive_day, slot, positive * (0.5 + max(0.0, tone)),
                day, self.half_life_days)

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        t = self.t
        half = self.half_life_days
        X[:, INDEX["news_adverse"]] = decayed(t.news_adverse[slots], t.news_adverse_day[slots],
                                              day, half)
        X[:, INDEX["news_positive"]] = decayed(t.news_positive[slots],
                                               t.news_positive_day[slots], day, half)


class RegistryDetector(Detector):
    """Distress seen in the company registry: restructuring, judgments, resignations,
    capital cuts, rating downgrades and late accounts.

    >>> from detectors.table import Table
    >>> registry = RegistryDetector(Table(RegistryDetector.COLUMNS), half_life_days=180.0)
    >>> slot = registry.t.add()
    >>> registry.accounts_overdue(slot, period_end_day=0)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> registry.features(np.array([slot]), 310, X)
    >>> float(X[0, INDEX["accounts_overdue"]])
    1.0
    >>> registry.accounts_filed(slot, period_end_day=0)
    >>> registry.features(np.array([slot]), 320, X)
    >>> float(X[0, INDEX["accounts_overdue"]])
    0.0
    """

    COLUMNS = (
        Column("reg_distress", "f8"), Column("reg_distress_day", "i4", _NO_DAY),
        Column("reg_downgrade", "f8"), Column("reg_downgrade_day", "i4", _NO_DAY),
        Column("reg_overdue_period", "i4", _NO_DAY),
    )

    def __init__(self, table: Table, half_life_days: float = 180.0) -> None:
        super().__init__(table)
        self.half_life_days = half_life_days

    def _distress(self, slot: int, amount: float, day: int) -> None:
        add(self.t.reg_distress, self.t.reg_distress_day, slot, amount, day,
            self.half_life_days)

    def status_change(self, slot: int, status: str, day: int) -> None:
        weight = STATUS_DISTRESS.get(status, 0.0)
        if weight:
            self._distress(slot, weight, day)

    def judgment(self, slot: int, amount: float, day: int) -> None:
        self._distress(slot, 1.0 + math.log10(1.0 + amount) / 5.0, day)

    def director_resigned(self, slot: int, day: int) -> None:
        self._distress(slot, 0.5, day)

    def capital_change(self, slot: int, delta: float, day: int) -> None:
        if delta < 0:
            self._distress(slot, 0.5, day)

    def rating_change(self, slot: int, old: str | None, new: str, day: int) -> None:
        if old in RATING_SCALE and new in RATING_SCALE:
            notches = RATING_SCALE.index(new) - RATING_SCALE.index(old)
            if notches > 0:
                add(self.t.reg_downgrade, self.t.reg_downgrade_day, slot,
                    min(notches, 6) / 3.0, day, self.half_life_days)

    def accounts_overdue(self, slot: int, period_end_day: int) -> None:
        self.t.reg_overdue_period[slot] = max(int(self.t.reg_overdue_period[slot]),
                                              period_end_day)

    def accounts_filed(self, slot: int, period_end_day: int) -> None:
        if period_end_day >= self.t.reg_overdue_period[slot]:
            self.t.reg_overdue_period[slot] = _NO_DAY

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        t = self.t
        half = self.half_life_days
        X[:, INDEX["registry_distress"]] = decayed(t.reg_distress[slots],
                                                   t.reg_distress_day[slots], day, half)
        X[:, INDEX["rating_downgrade"]] = decayed(t.reg_downgrade[slots],
                                                  t.reg_downgrade_day[slots], day, half)
        X[:, INDEX["accounts_overdue"]] = (t.reg_overdue_period[slots] != _NO_DAY).astype(float)
