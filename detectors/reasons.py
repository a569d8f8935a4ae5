"""Reasons that add up: a score's baseline and its features' contributions, as published.

Every model explains a row as a baseline log-odds plus one contribution per catalogue
column (`detectors.models.base.RiskModel.explain`), and those add up to the score's
log-odds. A warning lists the strongest risk-raising features and sums every other column
into one reason, `OTHER`, so that the baseline plus the listed contributions still give
the score: a desk can see how much the named reasons explain and how much the rest does.
A model's calibration is part of its explanation (the calibrated scorecard scales its rules'
points and folds its intercept into the baseline), so no separate step is left over.

>>> parts = np.zeros(len(CODES))
>>> parts[INDEX["max_dpd"]], parts[INDEX["dso"]], parts[INDEX["news_positive"]] = 1.5, 0.5, -0.25
>>> e = explanation(-4.0, parts, most=1)
>>> e.listed, e.top, e.log_odds
((('max_dpd', 1.5), ('other', 0.25)), 'max_dpd', -2.25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detectors.features import CODES, INDEX, OTHER

MAX_REASONS = 5
"""Features listed by name; the others are summed into `OTHER`."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """A score's baseline log-odds and its listed reasons: (feature code, contribution to
    the log-odds) of the strongest risk-raising features, strongest first, then `OTHER`
    with the sum of every other column (absent when they all contribute 0)."""

    base: float
    listed: tuple[tuple[str, float], ...]

    @property
    def log_odds(self) -> float:
        """The baseline plus every listed contribution: the score's log-odds."""
        return math.fsum([self.base, *(c for _, c in self.listed)])

    @property
    def top(self) -> str | None:
        """The strongest named feature, if any feature raised the risk."""
        return next((code for code, _ in self.listed if code in INDEX), None)


def explanation(base: float, contributions: np.ndarray, most: int = MAX_REASONS,
                ) -> Explanation:
    """The features that raised the log-odds most (at most ``most``, strongest first, ties
    by code), and the exact sum of the other columns as `OTHER`."""
    raising = np.flatnonzero(contributions > 0)
    ranked = sorted(raising.tolist(), key=lambda i: (-contributions[i], CODES[i]))[:most]
    listed = [(CODES[i], float(contributions[i])) for i in ranked]
    chosen = set(ranked)
    rest = [float(c) for i, c in enumerate(contributions.tolist()) if i not in chosen and c]
    if rest:
        listed.append((OTHER, math.fsum(rest)))
    return Explanation(float(base), tuple(listed))
