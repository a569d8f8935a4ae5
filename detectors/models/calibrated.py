"""The prior scorecard's ranking with probabilities learned from labels (Platt scaling).

PD = sigmoid(intercept + slope * prior log-odds), with slope and intercept learned online
by mini-batch gradient steps on the log loss (capped as the online logit's are), starting
from the prior itself (slope 1, intercept 0). The ranking stays the scorecard's (a
positive slope keeps the order), so the reasons stay its rules: each rule's points times
the slope, with the intercept plus the slope times the prior's intercept as the base.

>>> from detectors.features import INDEX, empty
>>> X = empty(300)
>>> X[:, INDEX["max_dpd"]] = 75.0
>>> card = CalibratedScorecard()
>>> card.learn(X, np.zeros(300, dtype=np.uint8))
>>> bool(card.predict(X[:1])[0] < card.prior.predict(X[:1])[0])
True
"""

from __future__ import annotations

import hashlib

import numpy as np

from detectors.models.base import RiskModel
from detectors.models.link import sigmoid
from detectors.models.logit import capped_step
from detectors.models.scorecard import PriorScorecard, points

BATCH = 128


class CalibratedScorecard(RiskModel):
    """Platt scaling of `PriorScorecard`, learned online."""

    name = "calibrated"

    def __init__(self, learning_rate: float = 0.01, batch: int = BATCH):
        self.learning_rate = learning_rate
        self.batch = batch
        self.prior = PriorScorecard()
        self.slope = 1.0
        self.intercept = 0.0

    def learn(self, X: np.ndarray, y: np.ndarray) -> None:
        """Learn labelled rows ``(X, y)`` in order."""
        scores = self.prior.log_odds(X)
        y = np.asarray(y, dtype=np.float64)
        rate = self.learning_rate
        for start in range(0, len(scores), self.batch):
            s = scores[start : start + self.batch]
            p = 0.5 + 0.5 * np.tanh(0.5 * (self.intercept + self.slope * s))
            residual = p - y[start : start + self.batch]
            step = capped_step(rate, float((p * (1.0 - p) * (1.0 + s * s)).sum()))
            self.slope -= step * float((residual * s).sum())
            self.intercept -= step * float(residual.sum())

    def predict(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.intercept + self.slope * self.prior.log_odds(X))

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = self.intercept + self.slope * self.prior.intercept
        return np.full(len(X), base), self.slope * points(X)

    def digest(self) -> str:
        state = np.array([self.slope, self.intercept]).tobytes()
        return hashlib.sha256(state).hexdigest()[:16]
