"""A customer's course against its own baseline: how far a few key figures stand from their
recent month-end level, and how steadily they have been moving.

Distress builds over months: payments slow, receivables age, limits fill up, month after
month. A brief dip looks different: the figure leaves its usual level and comes back. Two
numbers per figure tell these apart, both from the customer's own month-end history:

- ``<name>_vs_base``: the figure now minus an exponentially weighted mean of its earlier
  month-end values (weight `BASE_WEIGHT` per month: a memory of about six months);
- ``<name>_slope``: an exponentially weighted mean of its month-on-month changes, this
  month's change included (weight `SLOPE_WEIGHT`: about three months).

Only month-end values move the history (`Trajectory.month_end`), so the features depend on
event time alone; a snapshot between month ends reads them against the last month end. A
figure the feeds stop carrying forgets its history.
"""

from __future__ import annotations

import numpy as np

from detectors.base import Detector
from detectors.features import INDEX, TRACKED, TRAJECTORY_CODES
from detectors.table import Column

BASE_WEIGHT = 1 / 6
SLOPE_WEIGHT = 1 / 3
_FIGURES = np.array([INDEX[name] for name in TRACKED])
_VS_BASE = np.array([INDEX[TRAJECTORY_CODES[name][0]] for name in TRACKED])
_SLOPE = np.array([INDEX[TRAJECTORY_CODES[name][1]] for name in TRACKED])


class Trajectory(Detector):
    """Per tracked figure: its baseline, last month-end value and smoothed monthly change.

    >>> from detectors.table import Table
    >>> t = Trajectory(Table(Trajectory.COLUMNS))
    >>> slot = np.array([t.t.add()])
    >>> def month(dso):
    ...     X = np.full((1, len(INDEX)), np.nan)
    ...     X[0, INDEX["dso"]] = dso
    ...     return X
    >>> t.month_end(slot, month(40.0))  # the first month end starts the history
    >>> X = month(50.0); t.features(slot, 0, X)
    >>> float(X[0, INDEX["dso_vs_base"]]), float(X[0, INDEX["dso_slope"]])
    (10.0, 10.0)
    >>> t.month_end(slot, month(np.nan))  # the feed stopped: the history is forgotten
    >>> X = month(54.0); t.features(slot, 0, X)
    >>> bool(np.isnan(X[0, INDEX["dso_vs_base"]]))
    True
    """

    COLUMNS = (Column("traj", "f8", np.nan, (len(TRACKED), 3)),)
    """Per figure: baseline, last month-end value, smoothed change (NaN: none yet)."""

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        """The trajectory of the figures already in ``X`` (today's) against the history."""
        state = self.t.traj[slots]
        current = X[:, _FIGURES]
        X[:, _VS_BASE] = current - state[:, :, 0]
        X[:, _SLOPE] = _slope(current - state[:, :, 1], state[:, :, 2])

    def month_end(self, slots: np.ndarray, X: np.ndarray) -> None:
        """Fold a month end's figures (``X``, one row per slot) into the history."""
        state = self.t.traj[slots]
        value = X[:, _FIGURES]
        base, last, slope = state[:, :, 0], state[:, :, 1], state[:, :, 2]
        started = ~np.isnan(base)
        new_slope = np.where(started, _slope(value - last, slope), np.nan)
        new_base = np.where(started, base + BASE_WEIGHT * (value - base), value)
        self.t.traj[slots] = np.stack((new_base, value, new_slope), axis=2)


def _slope(change: np.ndarray, slope: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(slope), change, slope + SLOPE_WEIGHT * (change - slope))
