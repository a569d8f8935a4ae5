"""The prior scorecard's ranking with probabilities fitted to recent labels (Platt scaling).

PD = sigmoid(intercept + slope * s), s the prior scorecard's log-odds. `learn` counts the
labelled rows and their defaults by bin of s (`scorecard.bin_counts`); `month_end` fits slope and
intercept to the counts by Newton's method (the maximum of the likelihood, with a weak pull
towards the prior itself, `PULL`, so a month without defaults still has an answer), then ages
the counts by `DECAY`, so the fit follows the latest months' level. The prior never changes,
so its old scores are still its scores and counts of them never go stale; only the level
moves.

Why a fit rather than a gradient step per batch: the prior's PDs run several times the
observed rate, and small steps took most of a year of labels to come down (on a
5,000-customer receivables book, PDs above 0.5 then defaulted at 0.31); a fit is at the
labels' level from the first month end that has labels.

The ranking stays the scorecard's (a positive slope keeps the order), so the reasons stay
its rules: each rule's points times the slope, with the intercept plus the slope times the
prior's intercept as the base. Counts are sums of whole numbers per month end, so the fit
does not depend on the order the rows came in.

>>> from detectors.features import INDEX, empty
>>> X = empty(300)
>>> X[:, INDEX["max_dpd"]] = 75.0
>>> card = CalibratedScorecard()
>>> card.learn(X, np.zeros(300, dtype=np.uint8))
>>> card.month_end()
>>> bool(card.predict(X[:1])[0] < card.prior.predict(X[:1])[0])
True
"""

from __future__ import annotations

import hashlib

import numpy as np

from detectors.models.base import RiskModel
from detectors.models.link import sigmoid
from detectors.models.scorecard import CENTRES, PriorScorecard, bin_counts, points

DECAY = 0.5 ** (1 / 3)
"""Counts halve every 3 month ends. On the receivables books a fit on the latest 3 months
of labels was nearer the observed rates later on than one on 6 or 12 (the level rises over
the simulated books' first years)."""
PULL = 1.0
"""Weight of the pull towards slope 1 and intercept 0 (the prior): a few rows' worth."""
ITERATIONS = 50


class CalibratedScorecard(RiskModel):
    """Platt scaling of `PriorScorecard`, fitted at each month end on recent labels."""

    name = "calibrated"

    def __init__(self, prior: PriorScorecard | None = None) -> None:
        self.prior = prior if prior is not None else PriorScorecard()
        self.slope = 1.0
        self.intercept = 0.0
        size = len(CENTRES)
        self.rows = np.zeros(size)
        """Labelled rows per bin, aged by `DECAY` at each month end; ``defaults`` likewise."""
        self.defaults = np.zeros(size)
        self._month_rows = np.zeros(size, dtype=np.int64)
        self._month_defaults = np.zeros(size, dtype=np.int64)

    def learn(self, X: np.ndarray, y: np.ndarray) -> None:
        """Count labelled rows ``(X, y)``; they enter the fit at the next `month_end`."""
        scores = self.prior.log_odds(X)
        self._month_rows += bin_counts(scores)
        defaults = bin_counts(scores, np.asarray(y, dtype=np.float64))
        self._month_defaults += defaults.astype(np.int64)

    def month_end(self) -> None:
        """Add the month's counts, fit slope and intercept to all counts, then age them."""
        self.rows += self._month_rows
        self.defaults += self._month_defaults
        self._month_rows[:] = 0
        self._month_defaults[:] = 0
        if self.rows.any():
            self.slope, self.intercept = platt_fit(CENTRES, self.rows, self.defaults,
                                                   self.slope, self.intercept)
        self.rows *= DECAY
        self.defaults *= DECAY

    def predict(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.intercept + self.slope * self.prior.log_odds(X))

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = self.intercept + self.slope * self.prior.intercept
        return np.full(len(X), base), self.slope * points(X)

    def digest(self) -> str:
        state = np.array([self.slope, self.intercept]).tobytes() + self.prior.digest().encode()
        return hashlib.sha256(state).hexdigest()[:16]


def platt_fit(s: np.ndarray, rows: np.ndarray, defaults: np.ndarray, slope: float,
              intercept: float) -> tuple[float, float]:
    """Slope and intercept maximising the likelihood of ``defaults`` out of ``rows`` at
    log-odds ``s``, less ``PULL / 2`` times the squared distance from (1, 0); Newton's
    method from (``slope``, ``intercept``), each step halved until the objective rises.

    >>> s = np.array([-2.0, 0.0, 2.0])
    >>> rows = np.full(3, 100_000.0)
    >>> true = 1 / (1 + np.exp(-(0.5 * s - 1.0)))
    >>> slope, intercept = platt_fit(s, rows, rows * true, 1.0, 0.0)
    >>> round(slope, 3), round(intercept, 3)
    (0.5, -1.0)
    """
    used = rows > 0
    s, n, k = s[used], rows[used], defaults[used]

    def objective(a: float, b: float) -> float:
        z = a * s + b
        return float((k * z - n * np.logaddexp(0.0, z)).sum()) - PULL / 2 * (
            (a - 1.0) ** 2 + b * b)

    a, b = slope, intercept
    current = objective(a, b)
    for _ in range(ITERATIONS):
        p = sigmoid(a * s + b)
        residual = k - n * p
        w = n * p * (1.0 - p)
        gradient = np.array([(residual * s).sum() - PULL * (a - 1.0), residual.sum() - PULL * b])
        cross = (w * s).sum()
        hessian = np.array([[(w * s * s).sum() + PULL, cross], [cross, w.sum() + PULL]])
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            tried = objective(a + step[0], b + step[1])
            if tried >= current:
                break
            step = step / 2
        else:
            break
        a, b = a + float(step[0]), b + float(step[1])
        improved, current = tried - current, tried
        if improved < 1e-10 * (1.0 + abs(current)):
            break
    return a, b
