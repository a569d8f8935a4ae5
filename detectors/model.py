"""The global risk model: a prior scorecard as champion until an online river model, learning
from delayed labels, beats it on progressive validation.

Both models are scored on every label before either learns from it, so the comparison uses
only predictions made without knowing the answer.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from river import compose, linear_model, optim, preprocessing

from config.settings import ModelSettings
from detectors.scorecard import LABELS, PriorScorecard, sigmoid

LOG_SCALED = ("max_dpd", "tl_dpd", "dso", "delay_level", "accounts_age_days", "tl_dpd_trend",
              "delay_trend")
LOSS_WINDOW = 5000
_EPS = 1e-6


def model_inputs(features: Mapping[str, float]) -> dict[str, float]:
    """Features as the linear model sees them: day counts on a log scale, ratios clipped."""
    out = {}
    for name, value in features.items():
        if name in LOG_SCALED:
            value = math.copysign(math.log1p(abs(value)), value)
        out[name] = max(-50.0, min(50.0, value))
    return out


class OnlineLogit:
    """Standardised online logistic regression (river) with additive reason codes.

    >>> model = OnlineLogit()
    >>> for i in range(200):
    ...     model.learn_one({"max_dpd": float(i % 90)}, int(i % 90 > 60))
    >>> model.predict_one({"max_dpd": 80.0}) > model.predict_one({"max_dpd": 5.0})
    True
    """

    def __init__(self, learning_rate: float = 0.02, l2: float = 1e-4, base_rate: float = 0.015):
        self.learning_rate = learning_rate
        self.l2 = l2
        self.base_rate = base_rate
        self._scaler = preprocessing.StandardScaler()
        self._logit = linear_model.LogisticRegression(
            optimizer=optim.SGD(learning_rate),
            l2=l2,
            intercept_init=math.log(base_rate / (1 - base_rate)),
            intercept_lr=learning_rate,
        )
        self._pipeline = compose.Pipeline(self._scaler, self._logit)

    def learn_one(self, x: Mapping[str, float], y: int) -> None:
        self._pipeline.learn_one(model_inputs(x), bool(y))

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        """Weight times standardised value per feature; with the intercept, the log-odds."""
        z = self._scaler.transform_one(model_inputs(x))
        weights = self._logit.weights
        return {name: weights.get(name, 0.0) * value for name, value in z.items()}

    @property
    def intercept(self) -> float:
        return float(self._logit.intercept)

    def predict_one(self, x: Mapping[str, float]) -> float:
        return sigmoid(self.intercept + sum(self.contributions(x).values()))

    def digest(self) -> str:
        state = sorted(self._logit.weights.items()) + [("_intercept", self.intercept)]
        return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Scored:
    pd: float
    contributions: dict[str, float]
    model: str


class RiskModel:
    """Champion/challenger between the prior scorecard and the online logit.

    >>> model = RiskModel(ModelSettings(min_labels=10, min_positives=2))
    >>> model.score({"max_dpd": 0.0}).model
    'prior'
    """

    def __init__(self, settings: ModelSettings):
        self.settings = settings
        self.prior = PriorScorecard()
        self.online = OnlineLogit(settings.learning_rate, settings.l2)
        self.labels = 0
        self.positives = 0
        self._version: str | None = None
        self._losses: dict[str, deque[float]] = {
            "prior": deque(maxlen=LOSS_WINDOW), "online": deque(maxlen=LOSS_WINDOW)
        }

    def learn_one(self, x: Mapping[str, float], y: int) -> None:
        for name, model in (("prior", self.prior), ("online", self.online)):
            p = min(1 - _EPS, max(_EPS, model.predict_one(x)))
            self._losses[name].append(-math.log(p if y else 1 - p))
        self.online.learn_one(x, y)
        self._version = None
        self.labels += 1
        self.positives += y

    def progressive_log_loss(self, name: str) -> float | None:
        losses = self._losses[name]
        return sum(losses) / len(losses) if losses else None

    @property
    def champion(self) -> str:
        ready = (self.labels >= self.settings.min_labels
                 and self.positives >= self.settings.min_positives)
        if not ready:
            return "prior"
        online, prior = self.progressive_log_loss("online"), self.progressive_log_loss("prior")
        return "online" if online is not None and prior is not None and online < prior else "prior"

    def score(self, x: Mapping[str, float]) -> Scored:
        name = self.champion
        model = self.online if name == "online" else self.prior
        return Scored(model.predict_one(x), model.contributions(x), name)

    def version(self) -> str:
        """A digest naming the model that scores now (which one, and its learned state)."""
        if self._version is None:
            self._version = (
                "prior-scorecard-v1" if self.champion == "prior"
                else f"online-{self.online.digest()}"
            )
        return self._version


def reason_label(code: str) -> str:
    """A sentence-case label for a feature code."""
    return LABELS.get(code, code.replace("_", " "))
