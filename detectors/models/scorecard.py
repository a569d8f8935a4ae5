"""The prior scorecard: hand-set points that serve until enough labels exist.

Log-odds = logit(base rate) + the points of every catalogue feature that has a `prior` rule
(`detectors.features`), where the feature is present. The rules come from common credit
practice (days past due bands, the share of recent reports 30+ days past due, Altman Z''
on its rating scale, overdue share, credit lines used beyond 30 %, balances paid in full,
adverse signals), not from our data, so the cold start is sensible and never tuned to the
simulator. A feature the feeds said nothing about (NaN) scores no points: a rule's own value
for "unknown" (a `Steps` rule's ``otherwise``) would otherwise read silence as evidence.

>>> from detectors.features import INDEX, empty
>>> X = empty(3)
>>> X[0, INDEX["max_dpd"]], X[0, INDEX["overdue_share"]] = 0.0, 0.1
>>> X[1, INDEX["max_dpd"]], X[1, INDEX["overdue_share"]], X[1, INDEX["tl_dpd"]] = 75, 0.8, 70
>>> low, high, unknown = PriorScorecard().predict(X)
>>> bool(low < 0.02 < 0.2 < high), round(float(unknown), 3)
(True, 0.015)
"""

from __future__ import annotations

import hashlib

import numpy as np

from detectors.features import FEATURES, INDEX, WIDTH
from detectors.models.base import ROWS_AT_ONCE, RiskModel
from detectors.models.link import log_odds, row_sums, sigmoid
from detectors.term import cumulative_pd

BASE_RATE = 0.015
"""Prior probability of default of a customer with no signal, within `BASE_HORIZON_MONTHS`
(about 2 % a year)."""
BASE_HORIZON_MONTHS = 8


def default_rate(horizon_months: int) -> float:
    """`BASE_RATE` over another horizon, at the same monthly hazard (2.2 % within 12 months,
    0.19 % within one): the PD of a customer with no signal when the desk states none."""
    return cumulative_pd(BASE_RATE, BASE_HORIZON_MONTHS, horizon_months)


RULES = tuple((INDEX[f.code], f.prior) for f in FEATURES if f.prior is not None)
"""(column, points rule) of every feature the scorecard uses, in catalogue order."""
RULE_COLUMNS = np.array([column for column, _ in RULES], dtype=np.intp)
BIN_WIDTH = 0.05
"""Width of a bin of the scorecard's log-odds or points (`bin_counts`): a row counts at its
bin's centre, which moves a PD by at most 2.5 % of itself."""
LIMIT = 15.0
"""Values beyond +-LIMIT count in the outermost bins."""
CENTRES = np.linspace(-LIMIT, LIMIT, int(round(2 * LIMIT / BIN_WIDTH)) + 1)
"""The centre of every bin, in order."""


def points(X: np.ndarray) -> np.ndarray:
    """Each rule's points per row of the feature matrix ``X`` (0 where the feature is NaN,
    and in the columns no rule uses)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.zeros((X.shape[0], WIDTH))
    for column, rule in RULES:
        values = X[:, column]
        out[:, column] = np.where(np.isnan(values), 0.0, rule.points(values))
    return out


def points_sum(X: np.ndarray) -> np.ndarray:
    """Every present rule's points added up, per row of ``X``: the scorecard's log-odds
    without its intercept."""
    return row_sums(np.zeros(len(X)), points(X), RULE_COLUMNS)


def points_counts(X: np.ndarray) -> np.ndarray:
    """How many rows of ``X`` have their points in each bin of `CENTRES`, counted
    `ROWS_AT_ONCE` rows at a time, so a bucket's month end never holds every rule's points
    of the whole book at once."""
    counts = np.zeros(len(CENTRES), dtype=np.int64)
    for start in range(0, len(X), ROWS_AT_ONCE):
        counts += bin_counts(points_sum(X[start : start + ROWS_AT_ONCE]))
    return counts


def bin_counts(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """How many ``values`` (or how much of ``weights``) fall in each bin of `CENTRES`: the
    form in which the scorecard's log-odds are counted, so sums of counts never depend on
    the order of the rows."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), -LIMIT, LIMIT)
    bins = np.rint((clipped + LIMIT) / BIN_WIDTH).astype(np.intp)
    return np.bincount(bins, weights=weights, minlength=len(CENTRES))


class PriorScorecard(RiskModel):
    """The hand-set points model (it never learns). ``shift`` moves every customer's
    log-odds alike (`detectors.models.level`: the level of the defaults the book has shown),
    so it changes no ranking and no reason but the base."""

    name = "prior"

    def __init__(self, base_rate: float = BASE_RATE, shift: float = 0.0):
        self.base_rate = base_rate
        self.shift = shift
        self.intercept = log_odds(base_rate) + shift

    def shifted(self, shift: float) -> PriorScorecard:
        """The same rules and base rate, with the level moved by ``shift`` (log-odds)."""
        return self if shift == self.shift else PriorScorecard(self.base_rate, shift)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """The intercept plus every present rule's points, per row."""
        return row_sums(np.full(len(X), self.intercept), points(X), RULE_COLUMNS)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.log_odds(X))

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(X), self.intercept), points(X)

    def digest(self) -> str:
        """Names the rules, base rate and shift (the catalogue may change them; the book's
        defaults move the shift)."""
        level = (self.base_rate,) if self.shift == 0.0 else (self.base_rate, self.shift)
        rules = repr((*level, [(FEATURES[c].code, rule) for c, rule in RULES]))
        return hashlib.sha256(rules.encode()).hexdigest()[:16]
