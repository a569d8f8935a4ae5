"""Intensities that halve every so many days, stored as a level and the day it was set."""

from __future__ import annotations

import numpy as np


def decayed(level: np.ndarray | float, since: np.ndarray | int, day: int,
            half_life: float) -> np.ndarray:
    """``level`` set on day ``since``, as of ``day`` (never grows, also for ``since`` later).

    >>> float(decayed(1.0, 0, 10, 10.0)), float(decayed(2.0, 12, 10, 10.0))
    (0.5, 2.0)
    """
    return level * 0.5 ** (np.maximum(0, day - np.asarray(since)) / half_life)


def add(levels: np.ndarray, days: np.ndarray, slot: int, amount: float, day: int,
        half_life: float) -> None:
    """Add ``amount`` on ``day`` to the intensity of ``slot`` (one customer's event)."""
    since = int(days[slot])
    level = float(levels[slot])
    if level:
        level *= 0.5 ** (max(0, day - since) / half_life)
    levels[slot] = level + amount
    days[slot] = max(day, since)
