"""Growing boosted trees on binned features, in numpy: gradient boosting of the log loss
with Newton steps, as histogram GBMs do (LightGBM, scikit-learn's HistGradientBoosting).

Each column is cut into at most `Growth.bins` bins at quantiles of its values (the cut
points are values of the data, so a float32 comparison with them at prediction time sends
a row exactly where its bin went in training), plus one bin for missing values. A tree
grows level by level to `Growth.depth`: per node, per column, histograms of gradients,
hessians and row counts give every split's gain at once; missing values try both sides.
Of two sibling nodes only the smaller is counted, the other is its parent minus it. A
column whose values all fall in one bin (missing on every row, as a feed the book lacks
leaves it) can never split, so it is left out of the histograms: a book pays for the
columns its feeds fill.
Nothing is random, so the same rows give the same trees, bit for bit.

>>> rng = np.random.default_rng(0)
>>> X = np.full((2000, 43), np.nan, dtype=np.float32)
>>> X[:, 0] = rng.uniform(0, 120, 2000)
>>> y = (rng.uniform(0, 1, 2000) < np.where(X[:, 0] > 60, 0.3, 0.01)).astype(np.uint8)
>>> model = grow(X, y, np.ones(2000, dtype=np.float32), Growth(trees=30, learning_rate=0.3))
>>> late, early = model.predict(np.array([[90.0] + [np.nan] * 42, [10.0] + [np.nan] * 42]))
>>> bool(late > 0.2 > 0.01 > early)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.models.link import sigmoid
from detectors.models.trees import TreeEnsemble


@dataclass(frozen=True, slots=True)
class Growth:
    """How trees grow. The defaults keep trees small: defaults are rare, and deep trees
    fitted on a few hundred positives rank later months worse."""

    trees: int = 40
    learning_rate: float = 0.1
    """The rate while defaults are few (`rate_for`)."""
    fastest_rate: float = 0.2
    positives_per_rate: float = 100_000.0
    """The rate is the positive rows (weighted) over this, between `learning_rate` and
    `fastest_rate`: a book with many defaults learns a finer shape of risk (`rate_for`)."""
    depth: int = 2
    min_samples_leaf: int = 100
    l2: float = 1.0
    bins: int = 255
    """Bins per column for present values (at most 255, as scikit-learn's); missing values
    get one more. 64 ranked later months 0.003-0.008 AUC worse on the simulated books."""
    binning_rows: int = 20_000
    """Cut points come from at most this many rows, every k-th one."""
    min_hessian: float = 1e-3

    def rate_for(self, positives: float) -> float:
        """The learning rate on rows holding ``positives`` positive rows (weighted). A
        faster rate rather than more trees: the same gain on a large card book, and a
        refit and a score cost the same.

        >>> [Growth().rate_for(p) for p in (500, 10_000, 15_000, 40_000)]
        [0.1, 0.1, 0.15, 0.2]
        """
        return max(self.learning_rate, min(self.fastest_rate,
                                           positives / self.positives_per_rate))


def cut_points(column: np.ndarray, bins: int) -> np.ndarray:
    """At most ``bins - 1`` ascending values of ``column`` (NaN ignored): bin ``k`` holds
    the values above cut ``k - 1`` and at most cut ``k``.

    >>> cut_points(np.array([3.0, 1.0, np.nan, 2.0, 2.0], dtype=np.float32), 8).tolist()
    [1.0, 2.0]
    """
    values = np.sort(column[~np.isnan(column)])
    distinct = np.unique(values)
    if len(distinct) <= bins:
        return distinct[:-1]
    at = (np.arange(1, bins) * len(values)) // bins
    return np.unique(values[at])


def bin_columns(X: np.ndarray, cuts: list[np.ndarray], missing: int) -> np.ndarray:
    """The bin of every value, column by column (Fortran order, uint8); NaN: ``missing``."""
    codes = np.empty(X.shape, dtype=np.uint8, order="F")
    for j, cut in enumerate(cuts):
        column = X[:, j]
        codes[:, j] = np.where(np.isnan(column), missing, np.searchsorted(cut, column))
    return codes


@dataclass(slots=True)
class _Histogram:
    """Per live column (`_Grower.live`) and bin (the last bin: missing): gradient, hessian
    and row sums."""

    g: np.ndarray
    h: np.ndarray
    n: np.ndarray

    def __sub__(self, other: _Histogram) -> _Histogram:
        return _Histogram(self.g - other.g, self.h - other.h, self.n - other.n)


@dataclass(frozen=True, slots=True)
class _Split:
    feature: int
    bin: int
    missing_left: bool


class _Grower:
    """Grows trees on one binned data set."""

    def __init__(self, X: np.ndarray, growth: Growth):
        self.growth = growth
        step = max(1, -(-len(X) // growth.binning_rows))
        sample = X[::step]
        self.cuts = [cut_points(sample[:, j], growth.bins) for j in range(X.shape[1])]
        self.missing = growth.bins
        self.codes = bin_columns(X, self.cuts, self.missing)
        size = self.missing + 1
        counts = np.stack([np.bincount(self.codes[:, j], minlength=size)
                           for j in range(X.shape[1])])
        varies = np.count_nonzero(counts, axis=1) > 1
        varies[0] = True
        self.live = np.flatnonzero(varies)
        """The columns histograms are counted for: those with values in two bins or more
        (a column with one, such as a feed the book lacks, can never split), and the first,
        whose sums give every node's totals."""
        live_counts = counts[self.live]
        self.root_counts = live_counts.astype(np.float64)
        self.orders, self.starts, self.bins = [], [], []
        # A column's order (its rows sorted by bin): the refit's largest arrays, kept narrow.
        index = np.uint16 if len(X) <= 2**16 else np.int32
        for j, column_counts in zip(self.live, live_counts, strict=True):
            filled = np.flatnonzero(column_counts)
            self.orders.append(np.argsort(self.codes[:, j], kind="stable").astype(index))
            self.starts.append(np.r_[0, np.cumsum(column_counts[filled])[:-1]])
            self.bins.append(filled)

    def root_histogram(self, g: np.ndarray, h: np.ndarray) -> _Histogram:
        """The histograms of every row: per live column, gradients and hessians (packed as one
        complex number, so one gather serves both) taken in bin order and summed per bin.
        Summing runs of a sorted copy is several times faster than `np.bincount`, whose
        adds into one bin wait on each other when the data has few distinct values."""
        packed = g + 1j * h
        sums = np.zeros(self.root_counts.shape, dtype=np.complex128)
        for j, (order, starts, filled) in enumerate(zip(self.orders, self.starts, self.bins,
                                                        strict=True)):
            sums[j, filled] = np.add.reduceat(packed[order], starts)
        return _Histogram(sums.real.copy(), sums.imag.copy(), self.root_counts)

    def histogram(self, rows: np.ndarray, g: np.ndarray, h: np.ndarray) -> _Histogram:
        """The histograms of ``rows`` (``g`` and ``h`` are theirs)."""
        size = self.missing + 1
        hg, hh, counts = (np.empty(self.root_counts.shape) for _ in range(3))
        for k, j in enumerate(self.live):
            codes = self.codes[:, j][rows].astype(np.intp)
            hg[k] = np.bincount(codes, weights=g, minlength=size)
            hh[k] = np.bincount(codes, weights=h, minlength=size)
            counts[k] = np.bincount(codes, minlength=size)
        return _Histogram(hg, hh, counts)

    def best_split(self, hist: _Histogram) -> _Split | None:
        """The split with the largest gain, or None when none gains or leaves enough rows
        on both sides. Ties go to the first column, then the first bin, missing right."""
        growth = self.growth
        lam, smallest, min_h = growth.l2, growth.min_samples_leaf, growth.min_hessian
        sums = []
        for stat in (hist.g, hist.h, hist.n):
            present = np.cumsum(stat[:, :-1], axis=1)
            sums.append(np.stack([present, present + stat[:, -1:]]))  # missing right, left
        left_g, left_h, left_n = sums
        total_g = left_g[1, 0, -1]  # every column's bins hold the same rows
        total_h, total_n = left_h[1, 0, -1], left_n[1, 0, -1]
        right_g, right_h, right_n = total_g - left_g, total_h - left_h, total_n - left_n
        gain = (left_g**2 / (left_h + lam) + right_g**2 / (right_h + lam)
                - total_g**2 / (total_h + lam))
        valid = ((left_n >= smallest) & (right_n >= smallest)
                 & (left_h >= min_h) & (right_h >= min_h))
        gain = np.where(valid, gain, -np.inf)
        side, live, bin_ = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if not gain[side, live, bin_] > 0.0:
            return None
        return _Split(int(self.live[live]), int(bin_), bool(side))

    def threshold(self, split: _Split) -> np.float32:
        cut = self.cuts[split.feature]
        return np.float32(cut[split.bin]) if split.bin < len(cut) else np.float32(np.inf)

    def goes_left(self, rows: np.ndarray | None, split: _Split) -> np.ndarray:
        codes = self.codes[:, split.feature]
        codes = codes if rows is None else codes[rows]
        left = codes <= split.bin
        return left | (codes == self.missing) if split.missing_left else left

    def tree(self, g: np.ndarray, h: np.ndarray) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray | None]]:
        """One tree on gradients ``g`` and hessians ``h``: its arrays (values without the
        learning rate) and, per leaf, its rows (None: every row)."""
        depth, lam = self.growth.depth, self.growth.l2
        internal = 2**depth - 1
        feature = np.zeros(internal, dtype=np.int16)
        threshold = np.full(internal, np.inf, dtype=np.float32)
        missing_left = np.ones(internal, dtype=bool)
        value = np.zeros(2 * internal + 1)
        rows: list[np.ndarray | None] = [None]
        """Per node, its rows (None: all); a node's histograms are only counted when it
        may split, a leaf needs its sums only."""
        hists: list[_Histogram | None] = [self.root_histogram(g, h) if depth else None]
        for node in range(2 * internal + 1):
            here, hist = rows[node], hists[node]
            if here is not None and not len(here):  # the empty side of a node that kept all
                value[node] = value[(node - 1) // 2]
            elif hist is not None:
                value[node] = -hist.g[0].sum() / (hist.h[0].sum() + lam)
            else:
                sums = (g.sum(), h.sum()) if here is None else (g[here].sum(), h[here].sum())
                value[node] = -sums[0] / (sums[1] + lam)
            if node >= internal:
                continue
            split = self.best_split(hist) if hist is not None else None
            if split is None:
                rows += [here, np.zeros(0, dtype=np.intp)]
                hists += [hist, None]
                continue
            feature[node], missing_left[node] = split.feature, split.missing_left
            threshold[node] = self.threshold(split)
            left = self.goes_left(here, split)
            index = np.arange(len(g)) if here is None else here
            sides = [index[left], index[~left]]
            rows += sides
            if 2 * node + 1 >= internal:  # the children are leaves
                hists += [None, None]
                continue
            small = 0 if len(sides[0]) <= len(sides[1]) else 1
            counted = self.histogram(sides[small], g[sides[small]], h[sides[small]])
            hists += [counted, hist - counted] if small == 0 else [hist - counted, counted]
        return feature, threshold, missing_left, value, rows[internal:]


def grow(X: np.ndarray, y: np.ndarray, weights: np.ndarray, growth: Growth) -> TreeEnsemble:
    """Boosted trees of the log loss on rows ``X`` (float32, NaN: missing), labels ``y``
    and row weights."""
    if not 2 <= growth.bins <= 255:
        raise ValueError("bins must be within 2..255 (codes are uint8, one is missing)")
    grower = _Grower(X, growth)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    positive = float((w * y).sum())
    if not 0.0 < positive < float(w.sum()):
        raise ValueError("boosting needs weighted positives and negatives")
    base = float(np.log(positive / (float(w.sum()) - positive)))
    scores = np.full(len(y), base)
    arrays: list[list[np.ndarray]] = [[], [], [], []]
    rate = growth.rate_for(positive)
    for _ in range(growth.trees):
        p = sigmoid(scores)
        g, h = w * (p - y), w * p * (1.0 - p)
        *tree, leaves = grower.tree(g, h)
        tree[3] = tree[3] * rate
        first_leaf = len(tree[0])
        for k, rows in enumerate(leaves):
            if rows is None:
                scores += tree[3][first_leaf + k]
            elif len(rows):
                scores[rows] += tree[3][first_leaf + k]
        for kept, array in zip(arrays, tree, strict=True):
            kept.append(array)
    return TreeEnsemble(base, *(np.stack(kept) for kept in arrays))
