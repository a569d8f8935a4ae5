"""An online logistic regression over every catalogue feature, learned in numpy.

Inputs are put on a comparable footing first: day counts on a log scale (`LOG_SCALED`),
everything clipped to [-50, 50], then standardised with running per-column means and
variances of the values seen so far, and clipped to 10 deviations. A missing value (NaN)
is standardised to 0, the column's mean, so it adds nothing; the catalogue's presence
flags carry whether a feed reports at all. Labels are learned in mini-batches, in the order
given: each batch first updates the running moments, then takes one gradient step on the
batch's summed log loss plus L2 (summed, so a step is as large as that many per-row SGD
steps, but never so large that it overshoots: `capped_step`; on two simulated books it
learns as river's per-row SGD did, to 0.005 AUC). The
reason codes are additive: weight times standardised value per column, and the intercept
as the base.

>>> from detectors.features import INDEX, empty
>>> X = empty(400)
>>> X[:, INDEX["max_dpd"]] = np.arange(400) % 90
>>> y = (X[:, INDEX["max_dpd"]] > 60).astype(np.uint8)
>>> model = OnlineLogit(learning_rate=0.02)
>>> model.learn(X, y)
>>> late, early = model.predict(X[[80, 5]])
>>> bool(late > early)
True
"""

from __future__ import annotations

import hashlib

import numpy as np

from detectors.features import LOG_SCALED, WIDTH
from detectors.models.base import RiskModel
from detectors.models.link import log_odds, row_sums, sigmoid
from detectors.models.scorecard import BASE_RATE

CLIP = 50.0
Z_CLIP = 10.0
"""Standardised values are clipped too: early on, with few rows seen, a value far from
them would otherwise stand hundreds of deviations out and swamp the sum."""
VARIANCE_FLOOR = 1e-12
LOG_COLUMNS = np.flatnonzero(LOG_SCALED)
BATCH = 128
"""Rows per gradient step: per-row SGD in Python would cost 10 ms per 1,000 labels. On two
simulated books, batches of 1 to 128 rows gave the same progressive AUC (to 0.005)."""


def capped_step(rate: float, curvature: float) -> float:
    """The learning rate, cut so that a batch's summed step stays stable: at most 1 over
    the trace of the batch's log-loss Hessian (which bounds its largest curvature). Per
    row SGD never needs the cut at these rates; a batch of many risky rows would
    overshoot without it.

    >>> capped_step(0.01, 50.0), capped_step(0.01, 400.0)
    (0.01, 0.0025)
    """
    return rate if rate * curvature <= 1.0 else 1.0 / curvature


def model_inputs(X: np.ndarray) -> np.ndarray:
    """``X`` as the linear models see it: log-scaled where the catalogue says so
    (``sign(x) * log1p(|x|)``), clipped to [-50, 50]; NaN stays NaN."""
    out = np.array(X, dtype=np.float64, order="C")
    logged = out[:, LOG_COLUMNS]
    out[:, LOG_COLUMNS] = np.copysign(np.log1p(np.abs(logged)), logged)
    return np.clip(out, -CLIP, CLIP, out=out)


class RunningMoments:
    """Per column: the count, mean and sum of squared deviations of the values seen
    (NaN skipped), merged a batch at a time (Chan et al.)."""

    def __init__(self, width: int = WIDTH):
        self.count = np.zeros(width)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)

    def update(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Merge batches of rows ``parts`` (batches, rows, columns; NaN-padded) one after
        the other; return per batch the means and scales (1 / std) after merging it."""
        present = ~np.isnan(parts)
        counts = present.sum(axis=1).astype(np.float64)
        seen = counts > 0
        values = np.where(present, parts, 0.0)
        means = np.divide(values.sum(axis=1), counts, out=np.zeros_like(counts), where=seen)
        deviations = np.where(present, parts - means[:, None, :], 0.0)
        m2s = (deviations * deviations).sum(axis=1)
        after_mean, after_scale = np.empty_like(means), np.empty_like(means)
        for k in range(len(parts)):
            self._merge(counts[k], means[k], m2s[k], seen[k])
            after_mean[k], after_scale[k] = self.mean, self.scale()
        return after_mean, after_scale

    def _merge(self, n: np.ndarray, mean: np.ndarray, m2: np.ndarray, seen: np.ndarray) -> None:
        total = self.count + n
        share = np.divide(n, total, out=np.zeros_like(n), where=seen)
        delta = mean - self.mean
        self.mean = np.where(seen, self.mean + delta * share, self.mean)
        self.m2 = np.where(seen, self.m2 + m2 + delta**2 * self.count * share, self.m2)
        self.count = total

    def scale(self) -> np.ndarray:
        """1 / std per column; 0 where the column has not varied yet (a variance within
        rounding of 0 counts as none)."""
        variance = np.divide(self.m2, self.count, out=np.zeros(len(self.m2)),
                             where=self.count > 0)
        varied = variance > VARIANCE_FLOOR * np.maximum(1.0, self.mean**2)
        return np.divide(1.0, np.sqrt(variance), out=np.zeros(len(variance)), where=varied)


def standardise(U: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(U - mean) * scale``, clipped to +-`Z_CLIP`; NaN (nothing said) is 0, the mean."""
    Z = np.clip((U - mean) * scale, -Z_CLIP, Z_CLIP)
    return np.where(np.isnan(Z), 0.0, Z)


class OnlineLogit(RiskModel):
    """Standardised logistic regression, learned online a mini-batch at a time. Its
    intercept starts at ``base_rate``, the PD of a customer with no signal (the learner
    passes the prior scorecard's), so its first PDs are at the level the desk stated."""

    name = "online"

    def __init__(self, learning_rate: float = 0.005, l2: float = 1e-4,
                 base_rate: float = BASE_RATE, batch: int = BATCH):
        self.learning_rate = learning_rate
        self.l2 = l2
        self.batch = batch
        self.moments = RunningMoments()
        self.weights = np.zeros(WIDTH)
        self.intercept = log_odds(base_rate)

    def learn(self, X: np.ndarray, y: np.ndarray) -> None:
        """Learn labelled rows ``(X, y)`` in order."""
        if not len(X):
            return
        U = model_inputs(X)
        batches = -(-len(U) // self.batch)
        parts = np.full((batches * self.batch, WIDTH), np.nan)
        parts[: len(U)] = U
        parts = parts.reshape(batches, self.batch, WIDTH)
        means, scales = self.moments.update(parts)
        Z = standardise(parts, means[:, None, :], scales[:, None, :]).reshape(-1, WIDTH)[: len(U)]
        y = np.asarray(y, dtype=np.float64)
        rate, l2 = self.learning_rate, self.l2
        for start in range(0, len(Z), self.batch):
            part = Z[start : start + self.batch]
            # Learning needs the same bits for the same rows, not batch independence: a
            # row-wise numpy sum will do.
            p = 0.5 + 0.5 * np.tanh(0.5 * (self.intercept + (part * self.weights).sum(axis=1)))
            residual = p - y[start : start + self.batch]
            gradient = (part * residual[:, None]).sum(axis=0) + l2 * len(part) * self.weights
            curvature = float((p * (1.0 - p) * (1.0 + (part * part).sum(axis=1))).sum())
            step = capped_step(rate, curvature)
            self.weights = self.weights - step * gradient
            self.intercept -= step * float(residual.sum())

    def _standardised(self, X: np.ndarray) -> np.ndarray:
        return standardise(model_inputs(X), self.moments.mean, self.moments.scale())

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = self._standardised(X)
        return np.full(len(Z), self.intercept), Z * self.weights

    def predict(self, X: np.ndarray) -> np.ndarray:
        Z = self._standardised(X)
        return sigmoid(row_sums(np.full(len(Z), self.intercept), Z * self.weights))

    def digest(self) -> str:
        state = hashlib.sha256(np.float64(self.intercept).tobytes())
        for part in (self.weights, self.moments.count, self.moments.mean, self.moments.m2):
            state.update(part.tobytes())
        return state.hexdigest()[:16]
