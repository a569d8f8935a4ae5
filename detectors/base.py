"""The one shape every per-customer detector has.

A detector owns some columns of its bucket's customer `Table` (one row per customer), is
updated one event at a time for one customer (its slot), and reads out its features for many
customers at once, as of a day, into a feature matrix (`detectors.features`). It does no I/O
and reads no clock: the same events give the same features.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from detectors.table import Column, Table


class Detector(ABC):
    """Per-customer state that turns events into features."""

    COLUMNS: ClassVar[tuple[Column, ...]]

    def __init__(self, table: Table) -> None:
        self.t = table

    @abstractmethod
    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        """Write this detector's features for ``slots`` as of ``day`` into ``X`` (one row per
        slot, NaN where the feeds said nothing)."""
