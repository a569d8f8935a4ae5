"""Platt scaling for the champion: its log-odds mapped through ``slope * z + intercept``,
fitted on labels whose predictions were made before the label was known.

A straight line in log-odds keeps the champion's ranking and its reason codes: each
contribution is multiplied by the slope, and the base (the log-odds before any feature)
becomes ``slope * base + intercept``, so the reasons still add up to the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_SLOPE = 0.05
"""A fitted slope never falls below this: the champion's ranking is kept, even when its
recent predictions barely rank (the champion is chosen on ranking, not here)."""
_CLIP = 1e-7


@dataclass(frozen=True, slots=True)
class Platt:
    """``p' = sigmoid(slope * logit(p) + intercept)``; the identity by default.

    >>> round(Platt(0.5, -1.0).logit(0.5), 6), Platt().logit(0.2) == math.log(0.25)
    (-1.0, True)
    """

    slope: float = 1.0
    intercept: float = 0.0

    def logit(self, p: float) -> float:
        """The calibrated log-odds of a probability ``p``."""
        p = min(max(p, _CLIP), 1.0 - _CLIP)
        return self.slope * math.log(p / (1.0 - p)) + self.intercept


def fit_platt(p: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> Platt:
    """Fit ``y ~ sigmoid(slope * logit(p) + intercept)`` by Newton's method, with a small ridge
    pulling towards the identity (``ridge`` pseudo-observations' worth), so that a handful of
    positives cannot throw the scale far.

    Two groups predicted at 10 % and 40 % that default at 5 % and 10 % (two points: the line
    fits them exactly without the ridge, and nearly with it):

    >>> p = np.array([0.1] * 1000 + [0.4] * 1000)
    >>> y = np.array([1] * 50 + [0] * 950 + [1] * 100 + [0] * 900)
    >>> def calibrated(fitted, q): return round(1 / (1 + math.exp(-fitted.logit(q))), 3)
    >>> exact, ridged = fit_platt(p, y, ridge=0.0), fit_platt(p, y)
    >>> calibrated(exact, 0.1), calibrated(exact, 0.4), calibrated(ridged, 0.4)
    (0.05, 0.1, 0.103)
    """
    z = np.log(np.clip(p, _CLIP, 1 - _CLIP) / (1 - np.clip(p, _CLIP, 1 - _CLIP)))
    x = np.column_stack([z, np.ones_like(z)]).astype(np.float64)
    y = y.astype(np.float64)
    theta = _newton(x, y, np.array([1.0, 0.0]), ridge, free=(0, 1))
    if theta[0] < MIN_SLOPE:
        theta = _newton(x, y, np.array([MIN_SLOPE, theta[1]]), ridge, free=(1,))
    return Platt(float(theta[0]), float(theta[1]))


def _newton(x: np.ndarray, y: np.ndarray, start: np.ndarray, ridge: float,
            free: tuple[int, ...]) -> np.ndarray:
    """Maximum likelihood over the ``free`` coordinates of ``theta`` from ``start``, with a
    ridge towards the identity (slope 1, intercept 0)."""
    theta, identity = start.copy(), np.array([1.0, 0.0])
    idx = list(free)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -35.0, 35.0)))
        grad = x.T @ (p - y) + ridge * (theta - identity)
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(2)
        step = np.linalg.solve(hess[np.ix_(idx, idx)], grad[idx])
        theta[idx] -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return theta
