"""The prior scorecard: a hand-set points model that serves until enough labels exist.

Each rule adds log-odds of default within the horizon. The weights come from common credit
practice (days past due bands, Altman Z'' zones, overdue share, adverse signals), not from
our data, so the cold start is sensible and never tuned to the simulator. The same rules give
the reason codes: every contribution is one rule's points, and they add up to the score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

BASE_RATE = 0.015
"""Prior probability of default within an 8-month horizon (about 2 % a year)."""


def _bands(value: float, bands: tuple[tuple[float, float], ...]) -> float:
    points = 0.0
    for lower, pts in bands:
        if value >= lower:
            points = pts
    return points


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


Rule = tuple[str, str, Callable[[float], float]]

RULES: tuple[Rule, ...] = (
    ("max_dpd", "oldest open invoice, days past due",
     lambda v: _bands(v, ((1, 0.3), (31, 1.0), (61, 1.8)))),
    ("overdue_share", "share of receivables overdue",
     lambda v: 2.0 * max(0.0, v - 0.2)),
    ("share_over_90", "share of receivables over 90 days", lambda v: 1.5 * v),
    ("delay_level", "payment delay (days late, recent average)",
     lambda v: 0.02 * _clip(v - 10.0, 0.0, 90.0)),
    ("delay_trend", "payment delays lengthening (days)",
     lambda v: 0.04 * _clip(v, 0.0, 60.0)),
    ("delay_drift", "shift in payment behaviour (drift detector)",
     lambda v: 0.8 * min(v, 1.0)),
    ("partial_share", "share of partial payments", lambda v: 1.0 * v),
    ("amount_anomaly", "unusually large orders", lambda v: 0.5 * v),
    ("utilisation", "credit limit utilisation", lambda v: 0.6 * _clip(v - 0.9, 0.0, 1.0)),
    ("tl_dpd", "days past due at banks and bureaus",
     lambda v: _bands(v, ((1, 0.5), (31, 1.3), (61, 2.2)))),
    ("tl_dpd_trend", "bureau days past due rising", lambda v: 0.02 * _clip(v, 0.0, 60.0)),
    ("news_adverse", "adverse news", lambda v: 0.5 * min(v, 4.0)),
    ("news_positive", "positive news", lambda v: -0.2 * min(v, 2.0)),
    ("registry_distress", "registry distress (judgments, resignations, restructuring)",
     lambda v: 0.5 * min(v, 4.0)),
    ("accounts_overdue", "accounts not filed on time", lambda v: 0.8 * v),
    ("rating_downgrade", "rating downgrade", lambda v: 0.6 * min(v, 2.0)),
    ("altman_z2", "Altman Z'' from filed accounts",
     lambda v: 1.2 if v < 1.1 else (0.4 if v < 2.6 else -0.3)),
    ("leverage", "liabilities exceed assets", lambda v: 0.6 if v > 1.0 else 0.0),
)
LABELS = {code: label for code, label, _ in RULES}
_POINTS = tuple((code, rule) for code, _, rule in RULES)


class PriorScorecard:
    """Log-odds = logit(base rate) + the points of every rule whose feature is present.

    >>> card = PriorScorecard()
    >>> low = card.predict_one({"max_dpd": 0.0, "overdue_share": 0.1})
    >>> high = card.predict_one({"max_dpd": 75.0, "overdue_share": 0.8, "tl_dpd": 70.0})
    >>> low < 0.02 < 0.2 < high
    True
    """

    def __init__(self, base_rate: float = BASE_RATE):
        self.base_rate = base_rate
        self.intercept = math.log(base_rate / (1.0 - base_rate))

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        """Each present rule's points; their sum plus the intercept is the log-odds."""
        return {code: rule(x[code]) for code, rule in _POINTS if code in x}

    def logit(self, x: Mapping[str, float]) -> float:
        """The log-odds: the intercept plus every present rule's points."""
        points = self.intercept
        for code, rule in _POINTS:
            value = x.get(code)
            if value is not None:
                points += rule(value)
        return points

    def predict_one(self, x: Mapping[str, float]) -> float:
        return sigmoid(self.logit(x))

    def learn_one(self, x: Mapping[str, float], y: int) -> None:
        """The prior does not learn; the method exists so it can stand where a model does."""

    def digest(self) -> str:
        """The hand-set rules' version (they never learn)."""
        return "v1"


def sigmoid(z: float) -> float:
    """The logistic function, without overflow for large negative log-odds."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)

