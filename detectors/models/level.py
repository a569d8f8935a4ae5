"""The book's default rate as its defaults show it: the prior scorecard's level before labels.

A label is known a horizon after its snapshot, so for the first horizon and more of a book
the prior scorecard scores alone, at a level set by hand (`model.prior_default_rate`). The
book's defaults, though, are seen as they happen. Once ``min_defaults`` of them are known,
`BookLevel` estimates the monthly default rate as the defaults known over the month-end
snapshots taken before them, and `shift` gives the step in log-odds that puts the mean PD
of the latest month end's snapshots at ``1 - (1 - rate) ** horizon``. Every customer moves
alike, so no ranking changes; only the level does, towards what the book itself shows (on
the simulated books the hand-set level gave 0.05 on average where card accounts defaulted
at 0.17, and 0.11 where trade debtors defaulted at 0.015).

Below ``min_defaults`` nothing moves: a few defaults say little, and a book whose defaults
cannot have come yet (every account opened within the last months) has shown none.

The buckets send, at each month end, how many snapshots they took by bin of the
scorecard's points (`detectors.models.scorecard.points_counts`); counts add up the same in
any order, so the level does not depend on which bucket spoke first.

>>> from detectors.models.link import log_odds
>>> from detectors.models.scorecard import CENTRES, bin_counts
>>> level = BookLevel(horizon_months=8, min_defaults=20)
>>> for month in range(3):  # 10,000 snapshots a month, their points spread over 0..2
...     level.snapshots(month, bin_counts(np.linspace(0.0, 2.0, 10_000)))
...     level.month_end(month, defaults=0 if month == 0 else 100)
>>> level.rate  # 200 defaults over the 20,000 snapshots of months 0 and 1
0.01
>>> step = level.shift(log_odds(0.015))
>>> mean_pd = (bin_counts(np.linspace(0.0, 2.0, 10_000)) / 10_000
...            / (1 + np.exp(-(CENTRES + log_odds(0.015) + step)))).sum()
>>> round(float(mean_pd), 4), round(1 - 0.99 ** 8, 4)
(0.0773, 0.0773)
"""

from __future__ import annotations

import numpy as np

from detectors.models.link import LOGIT_BOUND, sigmoid
from detectors.models.scorecard import CENTRES

ITERATIONS = 64
"""Halvings of the search interval: far below any PD's precision."""


class BookLevel:
    """Month-end snapshots and defaults known so far, and the prior's shift they imply."""

    def __init__(self, horizon_months: int, min_defaults: int) -> None:
        self.horizon_months = horizon_months
        self.min_defaults = min_defaults
        self.at_risk = 0
        """Month-end snapshots taken before the latest month end's: each could have
        defaulted in the month after it."""
        self.defaults = 0
        """Defaults known so far (of customers with a month-end snapshot)."""
        self.latest = np.zeros(len(CENTRES), dtype=np.int64)
        """The latest month end's snapshots by bin of the scorecard's points (none where
        the month end took none)."""
        self._taken: dict[int, np.ndarray] = {}
        """Snapshots by month, as the buckets report them, until that month end."""

    def snapshots(self, month: int, counts: np.ndarray) -> None:
        """A bucket took ``counts`` month-end snapshots (by bin of points) at ``month``."""
        taken = self._taken.setdefault(month, np.zeros(len(CENTRES), dtype=np.int64))
        taken += np.asarray(counts, dtype=np.int64)

    def month_end(self, month: int, defaults: int) -> None:
        """At the month end ``month``: ``defaults`` more are known, the snapshots of earlier
        months are at risk, and this month's are the book the shift is fitted to."""
        self.defaults += defaults
        for earlier in [m for m in self._taken if m < month]:
            self.at_risk += int(self._taken.pop(earlier).sum())
        self.at_risk += int(self.latest.sum())  # the snapshots before are at risk from now on
        self.latest = self._taken.pop(month, np.zeros(len(CENTRES), dtype=np.int64))

    @property
    def rate(self) -> float | None:
        """The monthly default rate the book has shown (None before ``min_defaults``)."""
        if self.min_defaults == 0 or self.defaults < self.min_defaults or not self.at_risk:
            return None
        return self.defaults / self.at_risk

    def shift(self, intercept: float) -> float:
        """The step in log-odds that puts the mean PD over the horizon of the latest
        snapshots, scored at ``intercept`` plus their points, at the book's rate over the
        horizon; 0 while the rate is unknown."""
        rate = self.rate
        rows = int(self.latest.sum())
        if rate is None or not rows:
            return 0.0
        target = 1.0 - (1.0 - min(rate, 1.0)) ** self.horizon_months
        used = self.latest > 0
        points, weights = CENTRES[used] + intercept, self.latest[used] / rows
        low, high = -LOGIT_BOUND, LOGIT_BOUND  # the link clamps beyond
        for _ in range(ITERATIONS):  # the mean PD rises with the shift: halve the interval
            middle = (low + high) / 2
            if float((weights * sigmoid(points + middle)).sum()) < target:
                low = middle
            else:
                high = middle
        return (low + high) / 2
