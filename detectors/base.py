"""The one abstract base every per-customer detector follows, and a decaying signal.

A detector holds a small piece of one customer's state, is updated by events in event time,
and reads out named features as of a day. It does no I/O and keeps its constructor arguments
under their own names, so it can be cloned, pickled (bytewax recovery) and printed.
"""

from __future__ import annotations

import copy
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass


class Detector(ABC):
    """Per-customer state that turns events into features."""

    @abstractmethod
    def features(self, day: int) -> dict[str, float | None]:
        """Named features as of event-time ``day``; ``None`` where the feed says nothing."""

    def clone(self) -> Detector:
        """A fresh detector with the same parameters and no history."""
        params = inspect.signature(type(self)).parameters
        return type(self)(**{name: getattr(self, name) for name in params})

    def copy(self) -> Detector:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        params = inspect.signature(type(self)).parameters
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in params)
        return f"{type(self).__name__}({args})"


@dataclass(slots=True)
class Decaying:
    """A non-negative intensity that halves every ``half_life`` days.

    >>> signal = Decaying()
    >>> signal.add(1.0, day=0, half_life=10.0)
    >>> round(signal.value(day=10, half_life=10.0), 3)
    0.5
    """

    level: float = 0.0
    day: int = 0

    def add(self, amount: float, day: int, half_life: float) -> None:
        self.level = self.value(day, half_life) + amount
        self.day = max(day, self.day)

    def value(self, day: int, half_life: float) -> float:
        if self.level == 0.0:
            return 0.0
        return self.level * 0.5 ** (max(0, day - self.day) / half_life)
