"""What the engine asks of a risk model, and of the learner that keeps them.

Models work on feature matrices (`detectors.features`: float64, one column per catalogue
code, NaN where the feeds said nothing). A model is a plain object with no I/O; the engine
never mutates a published model, so a model handed to scorers must be a frozen copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class RiskModel(ABC):
    """One model of P(default within the horizon)."""

    name: str

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """PD per row of ``X``, in (0, 1); row ``i`` of the result depends on row ``i`` of
        ``X`` only (never on the other rows or their number), so any batching of the same
        rows gives the same bits."""

    @abstractmethod
    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(base, contributions)``: per row a baseline log-odds and one contribution per
        feature column, so that ``base + contributions.sum(axis=1) == logit(predict(X))``
        to 1e-6. Columns the model does not use contribute 0. (PDs are clamped to log-odds
        of +-30, `detectors.models.link.LOGIT_BOUND`, and float64 resolves a PD near 1 to
        about 1e-16: the identity holds where the log-odds lie within +-20.)"""

    @abstractmethod
    def digest(self) -> str:
        """A short stable digest of the learned state (the same state gives the same digest
        in every process)."""


@dataclass(frozen=True, slots=True)
class Published:
    """The model that scores from month end ``month`` (event-time seconds) on, and its
    version as written into scores and warnings."""

    month: int
    champion: RiskModel
    version: str
