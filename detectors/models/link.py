"""The logistic link and row sums that give every row the same bits whatever the batch.

Scores must not depend on how rows are batched (a customer scored alone or with the whole
book gets the same PD), so nothing here reduces across rows or hands a row's sum to BLAS,
whose blocking depends on the matrix shape: sums run column by column, left to right, as
element-wise additions, and the link works element-wise on contiguous arrays.

>>> z = np.array([-40.0, -2.0, 0.0, 2.0, 40.0])
>>> p = sigmoid(z)
>>> bool(((p > 0) & (p < 1)).all()), float(p[2])
(True, 0.5)
>>> [round(float(v), 6) for v in logit(sigmoid(z[1:4]))]
[-2.0, 0.0, 2.0]
>>> row_sums(np.array([1.0, 2.0]), np.array([[0.5, 0.25], [1.0, -1.0]])).tolist()
[1.75, 2.0]
"""

from __future__ import annotations

import math

import numpy as np

LOGIT_BOUND = 30.0
"""Log-odds are clamped to +-30 before the link, so a PD stays strictly inside (0, 1)
(within about 1e-13 of either end) and its log loss finite. Below +-20 the clamp never
applies and ``logit(sigmoid(z))`` gives ``z`` back to 1e-6."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function of log-odds ``z``, element-wise and without overflow."""
    z = np.clip(np.ascontiguousarray(z, dtype=np.float64), -LOGIT_BOUND, LOGIT_BOUND)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def logit(p: np.ndarray) -> np.ndarray:
    """The log-odds of probabilities ``p``, element-wise."""
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def log_odds(rate: float) -> float:
    """The log-odds of one probability."""
    return math.log(rate / (1.0 - rate))


def row_sums(base: np.ndarray, parts: np.ndarray, columns: np.ndarray | None = None,
             ) -> np.ndarray:
    """``base`` plus each row's ``parts`` (only ``columns`` of them when given), added
    column by column in order: row ``i`` of the result depends on row ``i`` alone."""
    total = np.array(base, dtype=np.float64, copy=True)
    for j in range(parts.shape[1]) if columns is None else columns:
        total += parts[:, j]
    return total
