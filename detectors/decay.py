"""Figures that fade with time: intensities that halve every so many days, stored as a level
and the day it was set (`decayed`, `add`), and any level shrinking by a factor per period
(`faded`, as a tradeline's worst days past due do)."""

from __future__ import annotations

import numpy as np


def faded(level: np.ndarray | float, days: np.ndarray | float, factor: float,
          period: float) -> np.ndarray | float:
    """``level`` after ``days``, shrinking by ``factor`` every ``period`` days.

    >>> round(float(faded(90.0, 365, 0.9, 365.25 / 12)), 1)  # 10 % a month, a year on
    25.4
    """
    return level * factor ** (days / period)


def decayed(level: np.ndarray | float, since: np.ndarray | int, day: int,
            half_life: float) -> np.ndarray:
    """``level`` set on day ``since``, as of ``day`` (never grows, also for ``since`` later).

    >>> float(decayed(1.0, 0, 10, 10.0)), float(decayed(2.0, 12, 10, 10.0))
    (0.5, 2.0)
    """
    return faded(level, np.maximum(0, day - np.asarray(since)), 0.5, half_life)


def add(levels: np.ndarray, days: np.ndarray, slot: int, amount: float, day: int,
        half_life: float) -> None:
    """Add ``amount`` on ``day`` to the intensity of ``slot`` (one customer's event)."""
    since = int(days[slot])
    level = float(levels[slot])
    if level:
        level = faded(level, max(0, day - since), 0.5, half_life)
    levels[slot] = level + amount
    days[slot] = max(day, since)
