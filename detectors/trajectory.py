"""A customer's course against its own baseline: how far a few key figures stand from their
recent month-end level, and how steadily they have been moving.

Distress builds over months: payments slow, receivables age, limits fill up, month after
month. A brief dip looks different: the figure leaves its usual level and comes back. Two
numbers per figure tell these apart, both from the customer's own month-end history:

- ``<name>_vs_base``: the figure now minus an exponentially weighted mean of its earlier
  month-end values (weight ``base_weight`` per month: a memory of about six months);
- ``<name>_slope``: an exponentially weighted mean of its month-on-month changes, this
  month's change included (weight ``slope_weight``: about three months).

Only month-end values move the history (`month_end`), so the features depend on event time
alone; a snapshot between month ends reads them against the last month end. Three floats
per figure; a figure the feeds stop carrying forgets its history.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping

TRACKED = ("delay_level", "dso", "overdue_share", "utilisation", "max_dpd", "tl_dpd")
"""The figures followed: payment delay, DSO, overdue share, limit utilisation, the oldest
open invoice's days past due, and days past due at banks and bureaus."""
_DESCRIBED = {
    "delay_level": "payment delay", "dso": "DSO", "overdue_share": "overdue share",
    "utilisation": "credit limit utilisation", "max_dpd": "days past due (oldest invoice)",
    "tl_dpd": "days past due at banks and bureaus",
}
LABELS = {
    **{f"{name}_vs_base": f"{what} above its own recent level"
       for name, what in _DESCRIBED.items()},
    **{f"{name}_slope": f"{what} rising month after month" for name, what in _DESCRIBED.items()},
}
CODES = {name: (f"{name}_vs_base", f"{name}_slope") for name in TRACKED}
_NAN = math.nan


class Trajectory:
    """Per tracked figure: its baseline, last month-end value and smoothed monthly change.

    >>> t = Trajectory(base_weight=0.5, slope_weight=0.5)
    >>> t.month_end({"dso": 40.0})  # the first month end starts the history
    >>> t.features({"dso": 50.0})
    {'dso_vs_base': 10.0, 'dso_slope': 10.0}
    >>> t.month_end({"dso": 50.0})  # base 45, last 50, slope 10
    >>> t.features({"dso": 54.0})
    {'dso_vs_base': 9.0, 'dso_slope': 7.0}
    >>> t.month_end({})  # the feed stopped: the history is forgotten
    >>> t.features({"dso": 54.0})
    {}
    """

    __slots__ = ("base_weight", "slope_weight", "_state")

    def __init__(self, base_weight: float = 1 / 6, slope_weight: float = 1 / 3):
        self.base_weight = base_weight
        self.slope_weight = slope_weight
        self._state = array("d", [_NAN] * (3 * len(TRACKED)))
        """Per figure: baseline, last month-end value, smoothed change (NaN: none yet)."""

    def features(self, current: Mapping[str, float]) -> dict[str, float]:
        """The trajectory of ``current`` (today's figures) against the month-end history;
        a figure without a history, or absent today, gives nothing."""
        out: dict[str, float] = {}
        state = self._state
        for i, name in enumerate(TRACKED):
            value = current.get(name)
            base = state[3 * i]
            if value is None or math.isnan(base):
                continue
            vs_base, slope = CODES[name]
            out[vs_base] = value - base
            out[slope] = self._slope(value - state[3 * i + 1], state[3 * i + 2])
        return out

    def month_end(self, current: Mapping[str, float]) -> None:
        """Fold a month end's figures into the history."""
        state = self._state
        for i, name in enumerate(TRACKED):
            value = current.get(name)
            j = 3 * i
            if value is None:
                state[j] = state[j + 1] = state[j + 2] = _NAN
            elif math.isnan(state[j]):
                state[j] = state[j + 1] = value
            else:
                state[j + 2] = self._slope(value - state[j + 1], state[j + 2])
                state[j] += self.base_weight * (value - state[j])
                state[j + 1] = value

    def _slope(self, change: float, slope: float) -> float:
        return change if math.isnan(slope) else slope + self.slope_weight * (change - slope)

    def __getstate__(self) -> tuple[float, float, array]:
        return self.base_weight, self.slope_weight, self._state

    def __setstate__(self, state: tuple[float, float, array]) -> None:
        self.base_weight, self.slope_weight, self._state = state

    def __repr__(self) -> str:
        return f"Trajectory(base_weight={self.base_weight!r}, slope_weight={self.slope_weight!r})"
