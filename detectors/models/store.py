"""A bounded store of labelled rows for refits: float32 rows, uint8 labels, row weights.

Memory is capped whatever the size of the book: when the store is full, every other
negative is dropped and the kept ones count twice (the first negative, the third...), so
the negatives' total weight, and with it the calibration, is kept (within one row's weight)
while the store halves its negatives. Positives, the scarce class, are all kept, unless
they alone fill half the store: then they are thinned the same way. Storage grows by
doubling up to the cap, so a small book holds a small store.

>>> store = LabelStore(cap=8)
>>> X = np.arange(10, dtype=np.float64)[:, None].repeat(43, axis=1)
>>> store.add(X, np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=np.uint8))
>>> rows, labels, weights = store.view()
>>> labels.tolist(), weights.tolist()
([1, 0, 0, 0, 0, 0, 1], [1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.features import WIDTH

CAP = 50_000
"""Rows kept at most: 50,000 x 43 float32 is 8.6 MB, and a refit on them takes well under
a second here."""


class LabelStore:
    """Labelled rows in arrival order, at most `cap` of them."""

    def __init__(self, cap: int = CAP, width: int = WIDTH):
        if cap < 4:
            raise ValueError("a store needs room for a few rows")
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
        """Drop every other negative (and, if positives fill half the store, every other
        positive); the kept ones of a thinned class count twice."""
        n = self.count
        labels = self._labels[:n]
        keep = np.ones(n, dtype=bool)
        for cls in (0, 1):
            members = labels == cls
            if cls == 1 and int(members.sum()) <= self.cap // 2:
                continue
            kept = members & (np.cumsum(members) % 2 == 1)
            keep &= ~members | kept
            self._weights[:n][kept] *= 2.0
        kept = int(keep.sum())
        self._rows[:kept] = self._rows[:n][keep]
        self._labels[:kept] = labels[keep]
        self._weights[:kept] = self._weights[:n][keep]
        self.count = kept

    def __getstate__(self) -> dict[str, Any]:
        """Only the filled rows are pickled (the spare capacity is regrown on demand)."""
        state = dict(self.__dict__)
        for name in ("_rows", "_labels", "_weights"):
            state[name] = state[name][: self.count].copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
