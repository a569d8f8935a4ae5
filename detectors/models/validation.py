"""Progressive validation: the recent labels, each with every model's prediction made when
its snapshot was scored (long before the label was known), and the champion chosen on them.

The window is a ring of the last `WINDOW` validated labels, in the order they were
validated; a model that was not ready when a snapshot was scored has NaN there.

>>> window = ValidationWindow(("prior", "online"), size=4)
>>> window.add(np.array([0, 0, 0]), np.array([0, 1, 0], dtype=np.uint8),
...            np.array([[0.1, 0.2], [0.3, 0.9], [0.2, 0.1]]))
>>> metrics, labels, positives = window.metrics()
>>> {name: auc for name, (auc, _) in metrics.items()}, labels, positives
({'prior': 1.0, 'online': 1.0}, 3, 1)
"""

from __future__ import annotations

import numpy as np

from detectors.models.metrics import auc, log_loss

WINDOW = 50_000
"""How many recent labels the champion is chosen on (about two years of a mid-size book);
about 1 MB."""

PREFERENCE = ("boosted", "online", "calibrated")
"""The learned models, the most expressive first: trees refit on every stored label, a
logistic regression learned online, the prior scorecard's ranking with learned
probabilities. (The prior scorecard itself learns nothing and only scores until a learned
model is ready.)"""

Metrics = dict[str, tuple[float, float]]


class ValidationWindow:
    """A ring of (snapshot time, label, one prediction per model)."""

    def __init__(self, models: tuple[str, ...], size: int = WINDOW):
        self.models = models
        self.size = size
        self._at = np.zeros(size, dtype=np.int64)
        self._y = np.zeros(size, dtype=np.uint8)
        self._p = np.full((size, len(models)), np.nan, dtype=np.float32)
        self.count = 0
        """Labels ever added; the ring holds the last ``size`` of them."""

    def add(self, at: np.ndarray, y: np.ndarray, predictions: np.ndarray) -> None:
        """Append validated labels, ``predictions`` shaped (labels, models)."""
        for start in range(0, len(y), self.size):  # only the last `size` can stay anyway
            end = min(len(y), start + self.size)
            slots = (self.count + np.arange(end - start)) % self.size
            self._at[slots], self._y[slots] = at[start:end], y[start:end]
            self._p[slots] = predictions[start:end]
            self.count += end - start

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(snapshot times, labels, predictions) held now, oldest first."""
        n = min(self.count, self.size)
        order = (self.count - n + np.arange(n)) % self.size
        return self._at[order], self._y[order], self._p[order]

    def metrics(self, min_labels: int | None = None,
                min_positives: int = 1) -> tuple[Metrics, int, int]:
        """(AUC, mean log loss) per model over the window, restricted to labels that every
        model compared predicted; with the number of those labels and of their positives.
        The models compared are those ready at the latest label. Given ``min_labels``,
        while the labels all of them predicted are fewer, or hold fewer than
        ``min_positives`` positives or no negative, the model with the shortest history is
        left out: a model just grown has predicted only snapshots whose outcome is mostly
        not known yet, and would hold the others' comparison back."""
        _, ys, predictions = self.view()
        if not len(ys):
            return {}, 0, 0
        history = (~np.isnan(predictions)).sum(axis=0)
        ready = sorted((i for i in range(len(self.models)) if not np.isnan(predictions[-1, i])),
                       key=lambda i: -history[i])
        while True:
            common = ~np.isnan(predictions[:, ready]).any(axis=1)
            labels = ys[common]
            positives = int(labels.sum(dtype=np.int64))
            enough = min_labels is None or (len(labels) >= min_labels
                                            and min_positives <= positives < len(labels))
            if enough or len(ready) <= 1:
                break
            ready.pop()
        if not 0 < positives < len(labels):
            return {}, len(labels), positives
        metrics = {}
        for i in ready:
            p = predictions[common, i].astype(np.float64)
            metrics[self.models[i]] = (auc(labels, p), log_loss(labels, p))
        return metrics, len(labels), positives


def choose_champion(metrics: Metrics, margin: float,
                    preference: tuple[str, ...] = PREFERENCE) -> str | None:
    """The first model in ``preference`` order (the most expressive first) whose AUC over
    the window is within ``margin`` of the best one's; None when none has metrics. The
    warning policy works on ranks, so AUC decides; the margin keeps the champion from
    changing on noise: a window holds a few hundred positives, so AUCs that differ by a
    hundredth do not tell models apart, and every change of champion moves the PDs of the
    whole book at once.

    >>> metrics = {"prior": (0.9, 0.1), "online": (0.80, 0.2), "boosted": (0.78, 0.1)}
    >>> choose_champion(metrics, margin=0.03), choose_champion(metrics, margin=0.01)
    ('boosted', 'online')
    """
    ranked = [name for name in preference if name in metrics]
    if not ranked:
        return None
    best = max(metrics[name][0] for name in ranked)
    return next(name for name in ranked if metrics[name][0] >= best - margin)
