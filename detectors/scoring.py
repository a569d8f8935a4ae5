"""Scoring where the customers live, and ranking the whole book at month ends.

`Scorer` runs beside each bucket of customers: it scores the bucket's snapshots as one
matrix with the model the learner published (the model of the last month end; a month-end
snapshot gets the model published at that month end), and works out reasons only for rows
graded where a warning may follow. Only what ranking needs leaves the worker: per bucket and
day, the probabilities (`Pds`). `Ranker`, one step for the book, ranks each month end's
probabilities of every bucket at once (riskiest first, ties by customer id), and places
snapshots between month ends against the last month end's ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.grading import GRADES
from detectors.hard import HardEvent
from detectors.insurance import CoverCut, DeadlineNotice
from detectors.models.base import Published, explain_rows, predict_rows
from detectors.reasons import Explanation, explanation
from detectors.snapshots import DefaultNotice, Snapshots
from detectors.stage import Send
from detectors.term import TermCurve

RANKER = "ranker"

_FOR_THE_DESK = (DefaultNotice, HardEvent, DeadlineNotice, CoverCut)
"""Notices the scorer passes on to its desk as they are."""


@dataclass(slots=True)
class Scored:
    """Snapshots with their PD, grade (index into `GRADES`), explanation (for rows graded
    where a warning may follow; None otherwise), the version of the model and its term
    curve."""

    snapshots: Snapshots
    pd: np.ndarray
    grade: np.ndarray
    reasons: list[Explanation | None]
    model_version: str
    term: TermCurve


@dataclass(frozen=True, slots=True)
class Pds:
    """A bucket's probabilities of one day, month-end or not, for the ranker."""

    bucket: str
    month_end: bool
    pd: np.ndarray
    customer_ids: list[str]


@dataclass(frozen=True, slots=True)
class Ranks:
    """The ranks (1 is the riskiest) of a `Pds` batch, in its row order, among
    ``portfolio_size`` customers ranked at the month end."""

    month_end: bool
    rank: np.ndarray
    portfolio_size: int


def grades_of(pd: np.ndarray, bounds: list[float]) -> np.ndarray:
    """Grade indices (0 is A) of probabilities, by the upper bounds of grades A to D.

    >>> [GRADES[g] for g in grades_of(np.array([0.01, 0.02, 0.5]), [0.02, 0.06, 0.15, 0.35])]
    ['A', 'B', 'E']
    """
    return np.searchsorted(np.asarray(bounds), pd, side="right").astype(np.int8)


class Scorer:
    """Scores the snapshots of the bucket ``name``."""

    def __init__(self, name: str, initial: Published, grade_bounds: list[float],
                 warn_from: str) -> None:
        self.name = name
        self.model = initial
        self.grade_bounds = list(grade_bounds)
        self.warn_from = GRADES.index(warn_from)

    def day(self, day: int, items: list[Any]) -> list[Any]:
        """Between month ends the last published model scores; at a month end, the model
        published at it (a day's items: the bucket's snapshots, notices of defaults, hard
        events and insurers' deadlines, passed on to the desk, and a model if the learner
        published one at the end of the day)."""
        published = [i for i in items if isinstance(i, Published)]
        snapshots = [i for i in items if isinstance(i, Snapshots)]
        out: list[Any] = []
        for batch in (s for s in snapshots if not s.month_end):
            out.extend(self._score(day, batch))
        out.extend(Send(self.name, day, n) for n in items if isinstance(n, _FOR_THE_DESK))
        for model in sorted(published, key=lambda p: p.month):
            self.model = model
        for batch in (s for s in snapshots if s.month_end):
            out.extend(self._score(day, batch))
        return out

    def advance(self, through: int) -> list[Any]:
        return []

    def finish(self) -> list[Any]:
        return []

    def _score(self, day: int, snapshots: Snapshots) -> list[Send]:
        model = self.model.champion
        pd = predict_rows(model, snapshots.X)
        grade = grades_of(pd, self.grade_bounds)
        reasons: list[Explanation | None] = [None] * len(pd)
        explain = np.flatnonzero(grade >= self.warn_from)
        if len(explain):
            bases, contributions = explain_rows(model, snapshots.X[explain])
            for row, base, values in zip(explain.tolist(), bases.tolist(), contributions,
                                         strict=True):
                reasons[row] = explanation(base, values)
        scored = Scored(snapshots, pd, grade, reasons, self.model.version, self.model.term)
        pds = Pds(self.name, snapshots.month_end, pd, snapshots.customer_ids)
        return [Send(RANKER, day, pds), Send(self.name, day, scored)]


class Ranker:
    """Ranks of every bucket's probabilities, for the warning policy and the watchlist."""

    def __init__(self) -> None:
        self._month_end = np.zeros(0)
        """The last month end's probabilities, ascending."""

    def day(self, day: int, items: list[Pds]) -> list[Any]:
        out: list[Any] = []
        month_ends = sorted((p for p in items if p.month_end), key=lambda p: p.bucket)
        others = sorted((p for p in items if not p.month_end), key=lambda p: p.bucket)
        for pds in others:
            out.append(Send(pds.bucket, day, self._place(pds)))
        if month_ends:
            out.extend(self._rank(day, month_ends))
        return out

    def advance(self, through: int) -> list[Any]:
        return []

    def finish(self) -> list[Any]:
        return []

    def _place(self, pds: Pds) -> Ranks:
        """Snapshots between month ends: 1 + how many month-end probabilities are higher."""
        ranked = self._month_end
        higher = len(ranked) - np.searchsorted(ranked, pds.pd, side="right")
        return Ranks(False, higher + 1, max(len(ranked), 1))

    def _rank(self, day: int, batches: list[Pds]) -> list[Send]:
        pd = np.concatenate([b.pd for b in batches])
        if not len(pd):  # only customers in default were listed: the last ranking stands
            size = max(len(self._month_end), 1)
            return [Send(b.bucket, day, Ranks(True, np.zeros(0, dtype=np.int64), size))
                    for b in batches]
        ids = np.array([c for b in batches for c in b.customer_ids])
        order = np.lexsort((ids, -pd))
        rank = np.empty(len(pd), dtype=np.int64)
        rank[order] = np.arange(1, len(pd) + 1)
        self._month_end = np.sort(pd)
        out, start = [], 0
        for batch in batches:
            end = start + len(batch.pd)
            out.append(Send(batch.bucket, day, Ranks(True, rank[start:end], len(pd))))
            start = end
        return out
