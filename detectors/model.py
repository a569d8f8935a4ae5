"""The global risk model: a prior scorecard as champion until a learned model, trained on
delayed labels only, beats it on progressive validation.

Every model scores each label before any model learns from it, so the comparison uses only
predictions made without knowing the answer.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from river import compose, linear_model, optim, preprocessing
from sklearn.metrics import roc_auc_score

from config.settings import ModelSettings
from detectors.clock import add_months
from detectors.gbm import RefitBoosting
from detectors.scorecard import LABELS, PriorScorecard, sigmoid
from detectors.trajectory import CODES as TRAJECTORY_CODES
from detectors.trajectory import LABELS as TRAJECTORY_LABELS

LOG_SCALED = frozenset((
    "max_dpd", "tl_dpd", "dso", "delay_level", "accounts_age_days", "tl_dpd_trend", "delay_trend",
    *(code for name in ("max_dpd", "tl_dpd", "dso", "delay_level")
      for code in TRAJECTORY_CODES[name]),
))
MODELS = ("prior", "calibrated", "online", "boosted")
"""Every model, in the order their predictions are stored (float32, NaN: not ready)."""
MAX_TRACKED = 1_000_000
"""Month-end predictions kept for validation at most (about 24 bytes each)."""
SCORED_WINDOW = 50_000
"""How many recent labels the champion is chosen on (about two years of a mid-size book)."""
_EPS = 1e-6


def model_inputs(features: Mapping[str, float]) -> dict[str, float]:
    """Features as the linear model sees them: day counts on a log scale, ratios clipped."""
    out = {}
    for name, value in features.items():
        if name in LOG_SCALED:
            value = math.copysign(math.log1p(abs(value)), value)
        # Clipped to [-50, 50] (NaN to 50), without the cost of two calls per feature.
        out[name] = value if -50.0 <= value <= 50.0 else (-50.0 if value < -50.0 else 50.0)
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

    def _weighted(self, x: Mapping[str, float]) -> Iterator[tuple[str, float]]:
        """(feature, weight times standardised value), in the features' order."""
        weights = self._logit.weights
        for name, value in self._scaler.transform_one(model_inputs(x)).items():
            yield name, weights.get(name, 0.0) * value

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        """Weight times standardised value per feature; with the intercept, the log-odds."""
        return dict(self._weighted(x))

    @property
    def intercept(self) -> float:
        return float(self._logit.intercept)

    def predict_one(self, x: Mapping[str, float]) -> float:
        return sigmoid(self.intercept + sum(part for _, part in self._weighted(x)))

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

    def learn_one(self, x: Mapping[str, float], y: int) -> None:
        self._platt.learn_one({"scorecard": self.prior.logit(x)}, bool(y))

    @property
    def _slope(self) -> float:
        return float(self._platt.weights.get("scorecard", 1.0))

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        slope = self._slope
        return {code: slope * points for code, points in self.prior.contributions(x).items()}

    def predict_one(self, x: Mapping[str, float]) -> float:
        return self.predict_logit(self.prior.logit(x))

    def predict_logit(self, prior_logit: float) -> float:
        """The calibrated probability for the prior scorecard's log-odds."""
        return sigmoid(float(self._platt.intercept) + self._slope * prior_logit)

    def digest(self) -> str:
        state = (self._slope, float(self._platt.intercept))
        return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


class RiskModel:
    """Champion and challengers: the prior scorecard, the same calibrated online, an online
    logit over all features (river) and a boosted model refit every few months. Whichever
    has the lowest progressive log loss over the recent labels (each scored before it was
    learned) scores the portfolio.

    >>> model = RiskModel(ModelSettings(min_labels=10, min_positives=2))
    >>> model.champion, round(model.score_many([{"max_dpd": 0.0}])[0], 3)
    ('prior', 0.015)
    """

    def __init__(self, settings: ModelSettings, horizon_months: int = 8):
        self.settings = settings
        self.horizon_months = horizon_months
        self._waiting: list[tuple[int, Mapping[str, float]]] = []
        self._open: dict[str, tuple[array, array]] = {}
        """Per customer: the times of its tracked month-end snapshots, and per time one
        prediction per model (`MODELS`); kept flat because every customer has some."""
        self._tracked = 0
        self.prior = PriorScorecard()
        self.calibrated = CalibratedScorecard()
        self.online = OnlineLogit(settings.learning_rate, settings.l2)
        self.boosted = RefitBoosting(settings.min_labels, settings.min_positives, settings.seed)
        self._scored_y = np.zeros(SCORED_WINDOW, dtype=np.uint8)
        self._scored_p = np.full((SCORED_WINDOW, len(MODELS)), np.nan, dtype=np.float32)
        self._scored_count = 0
        """Labels with the predictions made before them, in a ring of `SCORED_WINDOW`."""
        self._champion = "prior"
        self._version: str | None = None

    def track(self, snapshots: Sequence[tuple[str, int]],
              predictions: Mapping[str, Sequence[float]]) -> None:
        """Remember every ready model's prediction (`predict_all`) for month-end snapshots
        ``(customer, at)``, made now, before any label for them exists: when the label comes,
        this is the progressive validation the champion is chosen on."""
        snapshots = snapshots[: max(0, MAX_TRACKED - self._tracked)]
        columns = [predictions.get(name) for name in MODELS]
        for i, (customer_id, at) in enumerate(snapshots):
            entry = self._open.get(customer_id)
            if entry is None:
                entry = self._open[customer_id] = (array("q"), array("f"))
            times, values = entry
            times.append(at)
            values.extend(math.nan if column is None else column[i] for column in columns)
        self._tracked += len(snapshots)

    def _take(self, customer_id: str, at: int) -> array | None:
        """The predictions tracked for the snapshot at ``at``, forgotten once taken. A
        customer's labels come in time order, so earlier untaken ones will never be asked."""
        entry = self._open.get(customer_id)
        if entry is None:
            return None
        times, values = entry
        try:
            i = times.index(at)
        except ValueError:
            return None
        width = len(MODELS)
        taken = values[i * width : (i + 1) * width]
        del times[: i + 1], values[: (i + 1) * width]
        self._tracked -= i + 1
        if not times:
            del self._open[customer_id]
        return taken

    def predict_all(self, xs: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
        """Every ready model's probabilities for ``xs``."""
        logits = [self.prior.logit(x) for x in xs]
        out = {"prior": [sigmoid(z) for z in logits],
               "calibrated": [self.calibrated.predict_logit(z) for z in logits],
               "online": [self.online.predict_one(x) for x in xs]}
        if self.boosted.ready:
            out["boosted"] = self.boosted.predict_many(xs)
        return out

    def learn_many(self, labels: Sequence[tuple[str, int, Mapping[str, float], int]],
                   now: int) -> None:
        """Take a day's labels ``(customer, snapshot time, features, y)``, known at ``now``.

        The learners learn them, except positives whose horizon is still open: those wait
        until it closes. Otherwise the recent past would hold only positives (their negatives
        are not known yet) and a learner would take "recent" for "risky".
        """
        for customer_id, at, x, y in labels:
            predicted = self._take(customer_id, at)
            if predicted is not None:
                slot = self._scored_count % SCORED_WINDOW
                self._scored_y[slot], self._scored_p[slot] = y, predicted
                self._scored_count += 1
            if y and add_months(at, self.horizon_months) > now:
                self._waiting.append((at, x))
            else:
                self._learn(x, y)
        self._release(now)

    def _release(self, now: int) -> None:
        ready, waiting = [], []
        for at, x in self._waiting:
            (ready if add_months(at, self.horizon_months) <= now else waiting).append((at, x))
        self._waiting = waiting
        for _, x in ready:
            self._learn(x, 1)

    def _learn(self, x: Mapping[str, float], y: int) -> None:
        self._version = None  # a learned champion changes with what it learns
        self.calibrated.learn_one(x, y)
        self.online.learn_one(x, y)
        self.boosted.learn_one(x, y)

    def refit(self) -> None:
        """The periodic step (every few event-time months): choose the champion on the
        labels scored so far, then refit the boosted model on every label learnt."""
        self._choose()
        if self.boosted.refit():
            self._version = None

    def scored(self) -> tuple[np.ndarray, np.ndarray]:
        """The recent labels and, per label, each model's prediction made before it (`MODELS`
        order; NaN where a model was not ready), in no particular order."""
        n = min(self._scored_count, SCORED_WINDOW)
        return self._scored_y[:n], self._scored_p[:n]

    def progressive_metrics(self) -> tuple[dict[str, tuple[float, float]], int, int]:
        """(AUC, mean log loss) per model over the recent labels, each predicted when its
        snapshot was scored (long before its label), restricted to labels that every model
        ready now predicted; with the number of those labels and of positives."""
        ys, predictions = self.scored()
        if not len(ys):
            return {}, 0, 0
        latest = self._scored_p[(self._scored_count - 1) % SCORED_WINDOW]
        ready = [i for i in range(len(MODELS)) if not np.isnan(latest[i])]
        window = ~np.isnan(predictions[:, ready]).any(axis=1)
        ys = ys[window]
        positives = int(ys.sum())
        if not 0 < positives < len(ys):
            return {}, len(ys), positives
        metrics = {}
        for i in ready:
            ps = np.clip(predictions[window, i].astype(np.float64), _EPS, 1 - _EPS)
            loss = float(-np.mean(np.where(ys == 1, np.log(ps), np.log1p(-ps))))
            metrics[MODELS[i]] = (float(roc_auc_score(ys, ps)), loss)
        return metrics, len(ys), positives

    def _choose(self) -> None:
        """Once enough labels are known, the learned model that ranks the recent labels best
        (the warning policy works on ranks) becomes champion; log loss breaks ties."""
        metrics, labels, positives = self.progressive_metrics()
        if labels < self.settings.min_labels or positives < self.settings.min_positives:
            return
        learned = {name: m for name, m in metrics.items() if name != "prior"}
        best = max(learned, key=lambda name: (learned[name][0], -learned[name][1], name))
        if best != self._champion:
            self._champion = best
            self._version = None

    @property
    def champion(self) -> str:
        return self._champion

    def _model(self) -> PriorScorecard | CalibratedScorecard | OnlineLogit | RefitBoosting:
        return getattr(self, self._champion)  # the attributes are named as in `MODELS`

    def score_many(self, xs: Sequence[Mapping[str, float]]) -> list[float]:
        """The champion's probabilities of default for ``xs``."""
        model = self._model()
        if isinstance(model, RefitBoosting):
            return model.predict_many(xs)
        return [model.predict_one(x) for x in xs]

    def explain(self, x: Mapping[str, float]) -> dict[str, float]:
        """The champion's reason codes for ``x``: log-odds contributions per feature."""
        return self._model().contributions(x)

    def version(self) -> str:
        """A digest naming the model that scores now (which one, and its learned state)."""
        if self._version is None:
            self._version = f"{self._champion}-{self._model().digest()}"
        return self._version


def reason_label(code: str) -> str:
    """A sentence-case label for a feature code."""
    return LABELS.get(code) or TRAJECTORY_LABELS.get(code) or code.replace("_", " ")
