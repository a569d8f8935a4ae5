"""A bounded store of labelled rows for refits: float32 rows, uint8 labels, row weights.

Memory is capped whatever the size of the book: when the store is full, its negatives are
merged two by two (of two rows of the same weight, the first is kept at twice the weight),
so the negatives' total weight, and with it the calibration, is kept exactly while their
rows halve. Positives, the scarce class, are all kept, unless they alone fill half the
store: then they are merged the same way. Storage grows by doubling up to the cap, so a
small book holds a small store, and only the filled rows are pickled.

>>> store = LabelStore(cap=MIN_CAP)
>>> y = np.zeros(1000, dtype=np.uint8)
>>> y[::100] = 1
>>> store.add(np.zeros((1000, WIDTH)), y)
>>> rows, labels, weights = store.view()
>>> len(rows) <= MIN_CAP, int(labels.sum()), float(weights[labels == 0].sum())
(True, 10, 990.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.features import WIDTH

MIN_CAP = 128
"""Enough that a full store always holds two rows of one class and weight to merge (there
are at most about 40 weights: each is a power of two)."""
CAP = 50_000
"""Rows kept at most: 50,000 x 43 float32 is 8.6 MB, and a refit on them takes well under
a second here."""


class LabelStore:
    """Labelled rows in arrival order, at most `cap` of them."""

    def __init__(self, cap: int = CAP, width: int = WIDTH):
        if cap < MIN_CAP:
            raise ValueError(f"a label store needs room for at least {MIN_CAP} rows")
        self.cap = cap
        self.width = width
        self._rows = np.empty((0, width), dtype=np.float32)
        self._labels = np.empty(0, dtype=np.uint8)
        self._weights = np.empty(0, dtype=np.float32)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored rows, labels and weights (views: do not modify)."""
        n = self.count
        return self._rows[:n], self._labels[:n], self._weights[:n]

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append labelled rows in order, thinning whenever the store is full."""
        start = 0
        while start < len(X):
            if self.count == self.cap:
                self._thin()
            self._reserve(min(self.cap, self.count + len(X) - start))
            take = min(len(X) - start, len(self._rows) - self.count)
            end, at = start + take, self.count
            self._rows[at : at + take] = X[start:end]
            self._labels[at : at + take] = y[start:end]
            self._weights[at : at + take] = 1.0
            self.count += take
            start = end

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._rows):
            return
        size = min(self.cap, max(rows, 2 * len(self._rows), 1024))
        n = self.count
        for name in ("_rows", "_labels", "_weights"):
            old = getattr(self, name)
            grown = np.empty((size, *old.shape[1:]), dtype=old.dtype)
            grown[:n] = old[:n]
            setattr(self, name, grown)

    def _thin(self) -> None:
        """Merge the negatives two by two (and, if positives fill half the store, the
        positives too): of each pair of rows of one weight the first is kept at twice the
        weight, so a class's total weight is kept exactly; a row left without a partner
        stays as it was. (Every other row of a mix of weights would drop light rows and
        keep heavy ones as often as not, and the weights would drift a little more with
        every round.)"""
        n = self.count
        labels, weights = self._labels[:n], self._weights[:n]
        before = weights.copy()
        keep = np.ones(n, dtype=bool)
        for cls in (0, 1):
            members = labels == cls
            if cls == 1 and int(members.sum()) <= self.cap // 2:
                continue
            for weight in np.unique(before[members]):
                group = np.flatnonzero(members & (before == weight))
                paired = 2 * (len(group) // 2)
                keep[group[1:paired:2]] = False
                weights[group[0:paired:2]] = 2 * weight
        kept = int(keep.sum())
        if kept == n:
            raise RuntimeError("the label store could not thin: raise its cap")
        self._rows[:kept] = self._rows[:n][keep]
        self._labels[:kept] = labels[keep]
        self._weights[:kept] = weights[keep]
        self.count = kept

    def __getstate__(self) -> dict[str, Any]:
        """Only the filled rows are pickled (the spare capacity is regrown on demand)."""
        state = dict(self.__dict__)
        for name in ("_rows", "_labels", "_weights"):
            state[name] = state[name][: self.count].copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
