"""The simulation calendar: day numbers since the start date, month boundaries, date strings.

Everything inside the simulator counts time in whole days from ``start`` (day 0), so numpy can
do the arithmetic; dates only become strings when a record is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

NEVER = int(np.iinfo(np.int64).max)
"""The day number of something that does not happen (a failure, a default, a filing)."""
_PADDING_DAYS = 800
"""Dates are precomputed past the horizon for events drawn beyond it (they are dropped)."""


@dataclass(frozen=True)
class Timeline:
    """Month boundaries of a run of ``months`` months beginning on ``start``."""

    start: date
    months: int
    month_start: np.ndarray
    """Day number of the first day of each month, plus one entry for the end of the horizon."""
    dates: tuple[str, ...]
    """``YYYY-MM-DD`` for every day number from 0 to the horizon plus padding."""

    @classmethod
    def build(cls, start: date, months: int) -> Timeline:
        """Lay out ``months`` calendar months from ``start`` (which is moved to the 1st)."""
        first = start.replace(day=1)
        bounds = []
        year, month = first.year, first.month
        for _ in range(months + 1):
            bounds.append((date(year, month, 1) - first).days)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        total = bounds[-1] + _PADDING_DAYS
        dates = tuple((first + timedelta(days=d)).isoformat() for d in range(total))
        return cls(first, months, np.asarray(bounds, dtype=np.int64), dates)

    @property
    def end(self) -> int:
        """First day number after the horizon; no event is written on or after it."""
        return int(self.month_start[-1])

    @property
    def month_length(self) -> np.ndarray:
        return np.diff(self.month_start)

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index of each day number, clipped to the horizon (for looking up health)."""
        idx = np.searchsorted(self.month_start, days, side="right") - 1
        return np.clip(idx, 0, self.months - 1)

    def day_of(self, when: date) -> int:
        """Day number of a calendar date (negative before the start)."""
        return (when - self.start).days
