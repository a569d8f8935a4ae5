"""A fitted ensemble of small boosted trees: the boosted model as scorers see it.

Every tree is a complete binary tree of the same depth, stored as arrays in heap order
(node ``i`` has children ``2i + 1`` and ``2i + 2``; the last ``2 ** depth`` nodes are the
leaves). A node sends a row left when its value, as float32, is at most the threshold, and
a missing value (NaN) the way the node learned it should go. A node that did not split
sends everything left (threshold +inf) to a child of the same value, so shallower trees
fit the same arrays. Each node's value is the log-odds step its rows would get had the tree
stopped there (learning rate included), which makes reason codes exact (Saabas): along a
row's path every change of value is credited to the feature the node split on, so the
base, the roots' values and the credits add up to the log-odds.

>>> tree = TreeEnsemble(base=-4.0, feature=np.array([[3]]), threshold=np.array([[30.0]]),
...                     missing_left=np.array([[True]]), value=np.array([[0.0, -1.0, 2.0]]))
>>> X = np.full((3, 43), np.nan)
>>> X[:, 3] = [10.0, 90.0, np.nan]
>>> [round(float(z), 3) for z in np.log(tree.predict(X) / (1 - tree.predict(X)))]
[-5.0, -2.0, -5.0]
>>> base, parts = tree.explain(X)
>>> base.tolist(), parts[:, 3].tolist()
([-4.0, -4.0, -4.0], [-1.0, 2.0, -1.0])
"""

from __future__ import annotations

import hashlib

import numpy as np

from detectors.features import WIDTH
from detectors.models.base import ROWS_AT_ONCE, RiskModel
from detectors.models.link import sigmoid


class TreeEnsemble(RiskModel):
    """Boosted trees of one depth: ``feature``, ``threshold`` and ``missing_left`` per
    internal node, shaped (trees, 2**depth - 1); ``value`` per node, (trees, 2**(depth+1)-1).
    Immutable once built (a refit builds a new one), so it is published as it is."""

    name = "boosted"

    def __init__(self, base: float, feature: np.ndarray, threshold: np.ndarray,
                 missing_left: np.ndarray, value: np.ndarray):
        self.base = float(base)
        self.feature = np.ascontiguousarray(feature, dtype=np.int16)
        self.threshold = np.ascontiguousarray(threshold, dtype=np.float32)
        self.missing_left = np.ascontiguousarray(missing_left, dtype=bool)
        self.value = np.ascontiguousarray(value, dtype=np.float64)
        internal = self.feature.shape[1]
        self.depth = int(internal + 1).bit_length() - 1
        if (internal + 1 != 2**self.depth or self.value.shape[1] != 2 * internal + 1
                or self.threshold.shape != self.feature.shape
                or self.missing_left.shape != self.feature.shape):
            raise ValueError("tree arrays do not describe complete trees of one depth")
        self._freeze()

    def _freeze(self) -> None:
        for array in (self.feature, self.threshold, self.missing_left, self.value):
            array.flags.writeable = False

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._freeze()  # unpickled arrays come back writeable

    @property
    def trees(self) -> int:
        return len(self.feature)

    def _paths(self, X: np.ndarray) -> np.ndarray:
        """The node every row of ``X`` (at most `ROWS_AT_ONCE` rows) reaches at every level of
        every tree, as flat indices into ``value.ravel()``: (depth + 1, trees, rows), root
        first."""
        values = np.asarray(X, dtype=np.float32)
        trees, internal = self.feature.shape
        paths = np.empty((self.depth + 1, trees, len(values)), dtype=np.intp)
        offsets = (np.arange(trees) * (2 * internal + 1))[:, None]
        columns = np.ascontiguousarray(values.T)[self.feature.ravel()]  # (trees * internal, rows)
        right = ~((columns <= self.threshold.reshape(-1, 1))
                  | (np.isnan(columns) & self.missing_left.reshape(-1, 1)))
        right = right.reshape(trees, internal, -1)
        node = np.zeros(right.shape[::2], dtype=np.intp)
        paths[0] = offsets
        decisions: list[np.ndarray] = []
        for level in range(self.depth):
            # The decision at each row's node of this level: pick among the level's nodes
            # by the decisions taken above, the latest first.
            first = 2**level - 1
            options = [right[:, first + k] for k in range(2**level)]
            for taken in reversed(decisions):
                options = [np.where(taken, b, a) for a, b in zip(options[::2], options[1::2],
                                                               strict=True)]
            decisions.append(options[0])
            node = 2 * node + 1 + options[0]
            paths[level + 1] = node + offsets
        return paths

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """The base plus every tree's leaf value, added tree by tree; rows go in chunks of
        `ROWS_AT_ONCE`, so memory stays small for a batch of any size."""
        total = np.full(len(X), self.base)
        for start in range(0, len(X), ROWS_AT_ONCE):
            rows = slice(start, start + ROWS_AT_ONCE)
            leaves = self.value.ravel()[self._paths(X[rows])[-1]]
            part = total[rows]  # a view: the sums go to ``total``
            for t in range(self.trees):
                part += leaves[t]
        return total

    def predict(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.log_odds(X))

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(X)
        base = np.full(n, self.base + float(self.value[:, 0].sum()))
        parts = [self._credits(X[start : start + ROWS_AT_ONCE])
                 for start in range(0, n, ROWS_AT_ONCE)]
        return base, np.concatenate(parts) if parts else np.zeros((0, WIDTH))

    def _credits(self, X: np.ndarray) -> np.ndarray:
        """Per row of ``X`` (at most `ROWS_AT_ONCE` rows) and feature, the change of log-odds its
        splits made along the row's paths."""
        n = len(X)
        paths = self._paths(X)
        values = self.value.ravel()[paths]  # (depth + 1, trees, rows)
        internal = self.feature.shape[1]
        node_feature = np.pad(self.feature, ((0, 0), (0, internal + 1))).ravel()  # leaves: 0
        features = node_feature[paths[:-1]].astype(np.intp)
        credits = values[1:] - values[:-1]  # (depth, trees, rows)
        cells = features + np.arange(n) * WIDTH
        # Ordered by row, then tree, then level, one bincount adds each row's credits in
        # the same order whatever the batch.
        order = (2, 1, 0)
        parts = np.bincount(cells.transpose(order).ravel(),
                            weights=credits.transpose(order).ravel(), minlength=n * WIDTH)
        return parts.reshape(n, WIDTH)

    def digest(self) -> str:
        state = hashlib.sha256(np.float64(self.base).tobytes())
        for array in (self.feature, self.threshold, self.missing_left, self.value):
            state.update(array.tobytes())
        return state.hexdigest()[:16]
