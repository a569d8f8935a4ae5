"""What the engine asks of a risk model, and of the learner that keeps them.

Models work on feature matrices (`detectors.features`: float64, one column per catalogue
code, NaN where the feeds said nothing). A model is a plain object with no I/O; the engine
never mutates a published model, so a model handed to scorers must be a frozen copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from detectors.term import TermCurve


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


ROWS_AT_ONCE = 1024
"""Rows a model scores or explains at a time in `predict_rows` and `explain_rows`."""


def predict_rows(model: RiskModel, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)``, `ROWS_AT_ONCE` rows at a time: the same bits (a row's PD
    depends on that row alone), with the working memory of one chunk for any book."""
    parts = [model.predict(X[start : start + ROWS_AT_ONCE])
             for start in range(0, len(X), ROWS_AT_ONCE)]
    return np.concatenate(parts) if parts else model.predict(X)


def explain_rows(model: RiskModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``model.explain(X)``, `ROWS_AT_ONCE` rows at a time (as `predict_rows`)."""
    parts = [model.explain(X[start : start + ROWS_AT_ONCE])
             for start in range(0, len(X), ROWS_AT_ONCE)]
    if not parts:
        return model.explain(X)
    return np.concatenate([b for b, _ in parts]), np.concatenate([c for _, c in parts])


@dataclass(frozen=True, slots=True)
class Published:
    """The model that scores from month end ``month`` (event-time seconds) on, its version
    as written into scores and warnings, and the term curve that spreads its PD over the
    horizons of a term structure (`detectors.term`)."""

    month: int
    champion: RiskModel
    version: str
    term: TermCurve
