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
from detectors.models.base import RiskModel
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


def points(X: np.ndarray) -> np.ndarray:
    """Each rule's points per row of the feature matrix ``X`` (0 where the feature is NaN,
    and in the columns no rule uses)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.zeros((X.shape[0], WIDTH))
    for column, rule in RULES:
        values = X[:, column]
        out[:, column] = np.where(np.isnan(values), 0.0, rule.points(values))
    return out


class PriorScorecard(RiskModel):
    """The hand-set points model (it never learns)."""

    name = "prior"

    def __init__(self, base_rate: float = BASE_RATE):
        self.base_rate = base_rate
        self.intercept = log_odds(base_rate)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """The intercept plus every present rule's points, per row."""
        return row_sums(np.full(len(X), self.intercept), points(X), RULE_COLUMNS)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.log_odds(X))

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(X), self.intercept), points(X)

    def digest(self) -> str:
        """Names the rules and base rate (the catalogue may change them)."""
        rules = repr((self.base_rate, [(FEATURES[c].code, rule) for c, rule in RULES]))
        return hashlib.sha256(rules.encode()).hexdigest()[:16]
