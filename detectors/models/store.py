"""A bounded store of labelled rows for refits: float32 rows, uint8 labels, row weights.

Memory is capped whatever the size of the book, and the store stays a fair sample of every
row ever labelled: each class keeps every k-th row it was offered (k a power of two, its
rows' weight). When the store is full, the negatives' k doubles and every other stored
negative goes, so they remain the negatives whose arrival number is a multiple of k, from
the first month to the last, each weighing k. Positives, the scarce class, are all kept,
unless they alone fill half the store: then they are thinned the same way. A class's total
weight is its rows offered, to within one k, so calibration holds; and no row outweighs
another of its class, so no old row can stand for a whole year of the book. (Merging rows
two by two had left a few old rows weighing hundreds of thousands: on a book of annual
accounts, trees then read recent rows as risky, and the boosted model's PDs ran at three
times the observed rate.) Storage grows by doubling up to the cap, so a small book holds a
small store, and only the filled rows are pickled.

>>> store = LabelStore(cap=MIN_CAP)
>>> y = np.zeros(1000, dtype=np.uint8)
>>> y[::100] = 1
>>> store.add(np.zeros((1000, WIDTH)), y)
>>> rows, labels, weights = store.view()
>>> len(rows) <= MIN_CAP, int(labels.sum()), float(weights[labels == 0].sum())
(True, 10, 992.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detectors.features import WIDTH

MIN_CAP = 128
"""Enough that a full store always holds rows of a class to thin."""
CAP = 50_000
"""Rows kept at most: 50,000 x 55 float32 is 11 MB, and a refit on them takes well under
a second here."""


class LabelStore:
    """Labelled rows in arrival order, at most `cap` of them: per class, every k-th."""

    def __init__(self, cap: int = CAP, width: int = WIDTH):
        if cap < MIN_CAP:
            raise ValueError(f"a label store needs room for at least {MIN_CAP} rows")
        self.cap = cap
        self.width = width
        self._rows = np.empty((0, width), dtype=np.float32)
        self._labels = np.empty(0, dtype=np.uint8)
        self.count = 0
        self._every = [1, 1]
        """Per class (negative, positive): the k of every k-th row kept, each row's weight."""
        self._offered = [0, 0]
        """Per class: rows offered so far."""

    def __len__(self) -> int:
        return self.count

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored rows, labels and weights (rows and labels are views: do not
        modify)."""
        labels = self._labels[: self.count]
        weights = np.where(labels == 1, self._every[1], self._every[0]).astype(np.float32)
        return self._rows[: self.count], labels, weights

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Offer labelled rows in order: each class keeps its every k-th, thinning whenever
        the store is full."""
        y = np.asarray(y, dtype=np.uint8)
        start = 0
        while start < len(y):
            if self.count == self.cap:
                self._thin()
            rest = y[start:]
            keep = np.zeros(len(rest), dtype=bool)
            for cls in (0, 1):
                members = np.flatnonzero(rest == cls)
                arrival = self._offered[cls] + np.arange(len(members))
                keep[members[arrival % self._every[cls] == 0]] = True
            taken = np.flatnonzero(keep)[: self.cap - self.count]
            consumed = len(rest) if len(taken) < self.cap - self.count else int(taken[-1]) + 1
            positives = int(rest[:consumed].sum(dtype=np.int64))
            self._offered[0] += consumed - positives
            self._offered[1] += positives
            self._reserve(self.count + len(taken))
            at = self.count
            self._rows[at : at + len(taken)] = X[start + taken]
            self._labels[at : at + len(taken)] = rest[taken]
            self.count += len(taken)
            start += consumed

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._rows):
            return
        size = min(self.cap, max(rows, 2 * len(self._rows), 1024))
        n = self.count
        for name in ("_rows", "_labels"):
            old = getattr(self, name)
            grown = np.empty((size, *old.shape[1:]), dtype=old.dtype)
            grown[:n] = old[:n]
            setattr(self, name, grown)

    def _thin(self) -> None:
        """Drop every other stored negative (and, if positives fill half the store, every
        other positive), doubling that class's k: the first kept row of a class is its
        first row ever, so the rows left are again those whose arrival number is a
        multiple of the new k."""
        n = self.count
        labels = self._labels[:n]
        keep = np.ones(n, dtype=bool)
        for cls in (0, 1):
            members = np.flatnonzero(labels == cls)
            if len(members) < 2 or (cls == 1 and len(members) <= self.cap // 2):
                continue  # a class of one row has nothing to thin (its k stays)
            keep[members[1::2]] = False
            self._every[cls] *= 2
        kept = int(keep.sum())
        if kept == n:
            raise RuntimeError("the label store could not thin: raise its cap")
        self._rows[:kept] = self._rows[:n][keep]
        self._labels[:kept] = labels[keep]
        self.count = kept

    def __getstate__(self) -> dict[str, Any]:
        """Only the filled rows are pickled (the spare capacity is regrown on demand)."""
        state = dict(self.__dict__)
        for name in ("_rows", "_labels"):
            state[name] = state[name][: self.count].copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
