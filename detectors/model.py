"""The global risk model: a prior scorecard as champion until a learned model, trained on
delayed labels only, beats it on progressive validation.

Every model scores each label before any model learns from it, so the comparison uses only
predictions made without knowing the answer.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from river import compose, linear_model, optim, preprocessing

from config.settings import ModelSettings
from detectors.gbm import RefitBoosting
from detectors.scorecard import LABELS, PriorScorecard, sigmoid

LOG_SCALED = ("max_dpd", "tl_dpd", "dso", "delay_level", "accounts_age_days", "tl_dpd_trend",
              "delay_trend")
LOSS_WINDOW = 50_000
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


class CalibratedScorecard:
    """The prior scorecard's ranking with probabilities learnt from labels: an online
    logistic regression (river) on the scorecard's log-odds (Platt scaling).

    >>> card = CalibratedScorecard()
    >>> for _ in range(300):
    ...     card.learn_one({"max_dpd": 75.0}, 0)
    >>> card.predict_one({"max_dpd": 75.0}) < card.prior.predict_one({"max_dpd": 75.0})
    True
    """

    def __init__(self, learning_rate: float = 0.01):
        self.learning_rate = learning_rate
        self.prior = PriorScorecard()
        self._platt = linear_model.LogisticRegression(
            optimizer=optim.SGD(learning_rate), intercept_lr=learning_rate, l2=0.0,
            initializer=optim.initializers.Constant(1.0),
        )

    def _logit(self, x: Mapping[str, float]) -> float:
        return self.prior.intercept + sum(self.prior.contributions(x).values())

    def learn_one(self, x: Mapping[str, float], y: int) -> None:
        self._platt.learn_one({"scorecard": self._logit(x)}, bool(y))

    @property
    def _slope(self) -> float:
        return float(self._platt.weights.get("scorecard", 1.0))

    @property
    def intercept(self) -> float:
        return float(self._platt.intercept) + self._slope * self.prior.intercept

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        slope = self._slope
        return {code: slope * points for code, points in self.prior.contributions(x).items()}

    def predict_one(self, x: Mapping[str, float]) -> float:
        return sigmoid(self.intercept + sum(self.contributions(x).values()))

    def digest(self) -> str:
        state = (self._slope, float(self._platt.intercept))
        return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Scored:
    pd: float
    model: str


class RiskModel:
    """Champion and challengers: the prior scorecard, the same calibrated online, an online
    logit over all features (river) and a boosted model refit every few months. Whichever
    has the lowest progressive log loss over the recent labels (each scored before it was
    learned) scores the portfolio.

    >>> model = RiskModel(ModelSettings(min_labels=10, min_positives=2))
    >>> model.score_many([{"max_dpd": 0.0}])[0].model
    'prior'
    """

    def __init__(self, settings: ModelSettings):
        self.settings = settings
        self.prior = PriorScorecard()
        self.calibrated = CalibratedScorecard()
        self.online = OnlineLogit(settings.learning_rate, settings.l2)
        self.boosted = RefitBoosting(settings.min_labels, settings.min_positives, settings.seed)
        self.labels = 0
        self.positives = 0
        self._losses: deque[tuple[int, dict[str, float]]] = deque(maxlen=LOSS_WINDOW)
        self._champion = "prior"
        self._version: str | None = None

    def learn_many(self, examples: Sequence[tuple[Mapping[str, float], int]]) -> None:
        """Score a day's examples with every ready model first (progressive validation: no
        model has seen any of them), then let the online model learn them and store them
        for the next refit."""
        if not examples:
            return
        xs = [x for x, _ in examples]
        predictions = {"prior": [self.prior.predict_one(x) for x in xs],
                       "calibrated": [self.calibrated.predict_one(x) for x in xs],
                       "online": [self.online.predict_one(x) for x in xs]}
        if self.boosted.ready:
            predictions["boosted"] = self.boosted.predict_many(xs)
        for i, (x, y) in enumerate(examples):
            losses = {name: _log_loss(p[i], y) for name, p in predictions.items()}
            self._losses.append((y, losses))
            self.calibrated.learn_one(x, y)
            self.online.learn_one(x, y)
            self.boosted.learn_one(x, y)
            self.labels += 1
            self.positives += y
        self._choose()

    def refit(self) -> None:
        """Refit the boosted model on every label known now (called once a month)."""
        if self.boosted.refit():
            self._version = None

    def progressive_log_loss(self) -> tuple[dict[str, float], int, int]:
        """Mean log loss per model over the recent labels that every model ready now scored,
        with the number of those labels and of positives among them."""
        if not self._losses:
            return {}, 0, 0
        names = set(self._losses[-1][1])
        window = [(y, losses) for y, losses in self._losses if names <= set(losses)]
        means = {n: sum(w[n] for _, w in window) / len(window) for n in sorted(names)}
        return means, len(window), sum(y for y, _ in window)

    def _choose(self) -> None:
        losses, labels, positives = self.progressive_log_loss()
        if labels < self.settings.min_labels or positives < self.settings.min_positives:
            return
        best = min(losses, key=lambda name: (losses[name], name))
        if best != self._champion:
            self._champion = best
            self._version = None
        elif best != "prior":
            self._version = None  # the learned champion changed with what it learned

    @property
    def champion(self) -> str:
        return self._champion

    def _model(self) -> PriorScorecard | CalibratedScorecard | OnlineLogit | RefitBoosting:
        return {"prior": self.prior, "calibrated": self.calibrated, "online": self.online,
                "boosted": self.boosted}[self._champion]

    def score_many(self, xs: Sequence[Mapping[str, float]]) -> list[Scored]:
        model = self._model()
        if isinstance(model, RefitBoosting):
            pds = model.predict_many(xs)
        else:
            pds = [model.predict_one(x) for x in xs]
        return [Scored(pd, self._champion) for pd in pds]

    def explain(self, x: Mapping[str, float]) -> dict[str, float]:
        """The champion's reason codes for ``x``: log-odds contributions per feature."""
        return self._model().contributions(x)

    def version(self) -> str:
        """A digest naming the model that scores now (which one, and its learned state)."""
        if self._version is None:
            digests = {"prior": lambda: "v1", "calibrated": self.calibrated.digest,
                       "online": self.online.digest, "boosted": self.boosted.digest}
            self._version = f"{self._champion}-{digests[self._champion]()}"
        return self._version


def _log_loss(p: float, y: int) -> float:
    p = min(1 - _EPS, max(_EPS, p))
    return -math.log(p if y else 1 - p)


def reason_label(code: str) -> str:
    """A sentence-case label for a feature code."""
    return LABELS.get(code, code.replace("_", " "))
