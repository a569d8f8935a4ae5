"""The shape every step of the monitor has, whatever runs it.

A step is a plain object fed the items of complete event-time days (`detectors.inbox`) in
day order. ``day`` applies one complete day's items; ``advance`` says every day up to
``through`` is complete (month ends happen there); ``finish`` is the end of input. Each
returns outputs: `Send`s, items for a named key of a downstream step on a given day, and
anything else, which is an output of the monitor (warnings, dead letters, audit records...).
The bytewax flow (`flows.engine`) and the in-process runners call these the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Send:
    """``item`` for key ``to`` of the next step, on event-time day ``day``."""

    to: str
    day: int
    item: Any


class Stage(Protocol):
    def day(self, day: int, items: list[Any]) -> list[Any]:
        """Apply the items of one complete day."""

    def advance(self, through: int) -> list[Any]:
        """Every day up to ``through`` is complete."""

    def finish(self) -> list[Any]:
        """The end of input."""
