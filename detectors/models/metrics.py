"""How well predictions ranked and fitted labels: ROC AUC and mean log loss, in numpy.

>>> y = np.array([0, 0, 1, 1, 0], dtype=np.uint8)
>>> p = np.array([0.1, 0.3, 0.4, 0.8, 0.4])  # a positive ties a negative: half a win
>>> round(auc(y, p), 4), round(log_loss(y, p), 4)
(0.9167, 0.4225)
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """The probability that a random positive is scored above a random negative (ties
    count half): the Mann-Whitney statistic on average ranks. NaN without both classes."""
    y = np.asarray(y).astype(bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(p, kind="stable")
    ranked = np.asarray(p)[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # average 1-based ranks
    above = float(ranks[y[order]].sum()) - positives * (positives + 1) / 2.0
    return above / (positives * negatives)


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean log loss, probabilities clipped to [1e-6, 1 - 1e-6]."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return float(-np.mean(np.where(np.asarray(y) == 1, np.log(p), np.log1p(-p))))
