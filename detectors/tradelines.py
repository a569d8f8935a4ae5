"""Bank and bureau tradelines: days past due elsewhere, its trend and its history (the worst
reported, fading, and the share of reports 30+ days past due), the share of the previous
balance paid in the period, and how old the latest report is (a report that stops coming is
news of its own: an account closed, or a bureau that lost sight of the customer)."""

from __future__ import annotations

import numpy as np

from detectors.base import Detector
from detectors.clock import DAYS_PER_MONTH
from detectors.decay import faded
from detectors.features import INDEX
from detectors.table import Column

STALE_AFTER_DAYS = 120
HISTORY = 4
"""Tradelines remembered for the trend: the latest against the oldest of these."""
FADE = 0.9
"""The worst days past due reported fade by this factor a month: 90 days past due a year ago
weigh as 25 days now. Card and bureau scoring read a past delinquency for a year or two."""
LATE_DAYS = 30
"""A report counts as late from this many days past due, as bureaus count delinquencies
("times 30+ days past due"): a payment a few days late is common among sound payers."""
LATE_WEIGHT = 1 / 12
"""Each report moves the share of reports 30+ days past due this far towards itself: about the
last year of monthly reports."""
_NO_DAY = -(10**9)


class TradelineDetector(Detector):
    """The latest tradeline and how it moved; silent once stale (no news is not good news,
    but neither is it evidence).

    >>> from detectors.table import Table
    >>> tradelines = TradelineDetector(Table(TradelineDetector.COLUMNS))
    >>> slot = tradelines.t.add()
    >>> tradelines.update(slot, 0, outstanding=900.0, overdue=0.0, limit=1000.0, paid=None,
    ...                   day=0)
    >>> tradelines.update(slot, 45, outstanding=990.0, overdue=300.0, limit=1000.0, paid=45.0,
    ...                   day=30)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> tradelines.features(np.array([slot]), 40, X)
    >>> float(X[0, INDEX["tl_dpd_trend"]]), float(X[0, INDEX["tl_utilisation"]])
    (45.0, 0.99)
    >>> float(X[0, INDEX["tl_paid_share"]])  # 45 paid of the 900 owed at the report before
    0.05
    >>> float(X[0, INDEX["tl_late_share"]])  # one report of two past due, the latest 1/12
    0.0833...
    """

    COLUMNS = (
        Column("tl_history", "i4", 0, (HISTORY,)), Column("tl_count", "i4"),
        Column("tl_outstanding", "f8"), Column("tl_overdue", "f8", np.nan),
        Column("tl_limit", "f8", np.nan), Column("tl_paid_share", "f8", np.nan),
        Column("tl_day", "i4", _NO_DAY), Column("tl_worst", "f4"), Column("tl_late", "f4"),
    )

    def update(self, slot: int, days_past_due: int, outstanding: float | None,
               overdue: float | None, limit: float | None, paid: float | None,
               day: int) -> None:
        """Take a report in; ``paid`` (paid in the period) is read against the balance of the
        report before, the one it paid down (unknown without both, or with nothing owed).
        A feed of payment statuses only gives no balance (None). The worst days past due
        remembered fade from the report before to this one, and this one joins the share of
        reports 30+ days past due."""
        t = self.t
        late = float(days_past_due >= LATE_DAYS)
        if t.tl_count[slot] == 0:
            t.tl_worst[slot] = days_past_due
            t.tl_late[slot] = late
        else:
            since = max(day - int(t.tl_day[slot]), 0)
            remembered = faded(t.tl_worst[slot], since, FADE, DAYS_PER_MONTH)
            t.tl_worst[slot] = max(days_past_due, remembered)
            t.tl_late[slot] += LATE_WEIGHT * (late - t.tl_late[slot])
        owed = float(t.tl_outstanding[slot])  # 0 before the first report, NaN if unknown
        t.tl_paid_share[slot] = (min(paid / owed, 1.0) if paid is not None and owed > 0
                                 else np.nan)
        history = t.tl_history[slot]
        history[:-1] = history[1:]
        history[-1] = days_past_due
        t.tl_count[slot] = min(HISTORY, int(t.tl_count[slot]) + 1)
        t.tl_outstanding[slot] = np.nan if outstanding is None else outstanding
        t.tl_overdue[slot] = np.nan if overdue is None else overdue
        t.tl_limit[slot] = np.nan if limit is None else limit
        t.tl_day[slot] = day

    def days_past_due(self, slot: int) -> int:
        """Days past due of the latest tradeline (0 before any)."""
        return int(self.t.tl_history[slot, -1])

    def fresh(self, slots: np.ndarray, day: int) -> np.ndarray:
        return day - self.t.tl_day[slots] <= STALE_AFTER_DAYS

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        t = self.t
        fresh = self.fresh(slots, day)
        reported = t.tl_day[slots]
        history = t.tl_history[slots]
        latest = history[:, -1].astype(np.float64)
        oldest = history[np.arange(len(slots)), HISTORY - t.tl_count[slots].clip(1)]
        outstanding = t.tl_outstanding[slots]
        overdue = t.tl_overdue[slots]
        limit = t.tl_limit[slots]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(outstanding > 0, overdue / outstanding, 0.0)
            utilisation = np.where(limit > 0, outstanding / limit, np.nan)
        ratio = np.where(np.isnan(overdue) | np.isnan(outstanding), np.nan, ratio)
        X[:, INDEX["tl_dpd"]] = np.where(fresh, latest, np.nan)
        X[:, INDEX["tl_dpd_trend"]] = np.where(fresh, latest - oldest, np.nan)
        worst = faded(t.tl_worst[slots], day - reported, FADE, DAYS_PER_MONTH)
        X[:, INDEX["tl_dpd_worst"]] = np.where(fresh, worst, np.nan)
        X[:, INDEX["tl_late_share"]] = np.where(fresh, t.tl_late[slots], np.nan)
        X[:, INDEX["tl_overdue_ratio"]] = np.where(fresh, ratio, np.nan)
        X[:, INDEX["tl_utilisation"]] = np.where(fresh, utilisation, np.nan)
        X[:, INDEX["tl_paid_share"]] = np.where(fresh, t.tl_paid_share[slots], np.nan)
        X[:, INDEX["tl_age_days"]] = np.where(reported == _NO_DAY, np.nan, day - reported)
