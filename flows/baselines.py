"""The baselines `flows.evaluate` measures the monitor against, on the same month-end rows:
the days-past-due rule, Altman Z'' and a gradient-boosted batch model fitted offline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from detectors.clock import add_months
from detectors.records import EARLY_KINDS
from flows import metrics as m
from flows.monthends import Rows, in_top_share

DPD_THRESHOLD = 60.0
ALTMAN_DISTRESS = 1.1
BATCH_SEED = 0


@dataclass(frozen=True)
class Warner:
    """One way of warning under evaluation: a ranking score per row (aligned with the rows it
    is evaluated on), optional probabilities for brier and calibration, and its alerts."""

    scores: list[float]
    probs: list[float]
    alerts: list[m.Alert]



def first_alerts(rows: Rows, flags: Sequence[bool], index: Sequence[int]) -> list[m.Alert]:
    """One warning per customer, at its first row (of ``index``) where the flag is set."""
    out: dict[str, m.Alert] = {}
    for i in index:
        customer = rows.customers[i]
        if flags[i] and customer not in out:
            out[customer] = m.Alert(customer, rows.times[i], EARLY_KINDS[0])
    return list(out.values())


def rule_warner(rows: Rows, scores: np.ndarray, flags: np.ndarray,
                index: Sequence[int]) -> Warner:
    return Warner([float(scores[i]) for i in index], [float(flags[i]) for i in index],
                  first_alerts(rows, flags.tolist(), index))


def dpd60(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """(score, flag): the worst days past due on the ledger or a tradeline (missing: 0), the
    ranking a days-past-due rule gives, and the flag of 60 or more."""
    worst = np.fmax(rows.column("max_dpd"), rows.column("tl_dpd"))  # fmax ignores one NaN
    days = np.nan_to_num(worst, nan=0.0)
    return days, days >= DPD_THRESHOLD


def altman(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """(score, flag): -Z'' (missing: the median, neutral) and the distress zone Z'' < 1.1."""
    z = rows.column("altman_z2")
    present = ~np.isnan(z)
    neutral = float(np.median(-z[present])) if present.any() else 0.0
    distress = present & (np.nan_to_num(z, nan=np.inf) < ALTMAN_DISTRESS)
    return np.where(present, -z, neutral), distress


def batch_training(rows: Rows, labels: list[int | None], split: int,
                   known_within: int | None = None) -> list[int]:
    """The labelled rows before ``split`` a batch model is fitted on: all of them (with
    hindsight), or with ``known_within`` (the horizon, in months) only those whose label
    was known at the split, their horizon closed before it, as a live model's would be.

    >>> rows = Rows(["a", "a", "b"], [0, 2_678_400, 5_097_600], [0.1] * 3, [], np.empty((3, 0)))
    >>> batch_training(rows, [0, 1, 0], split=5_097_600)
    [0, 1]
    >>> batch_training(rows, [0, 1, 0], split=5_097_600, known_within=1)  # Jan's closed in Feb
    [0]
    """
    return [i for i, y in enumerate(labels)
            if y is not None and rows.times[i] < split
            and (known_within is None or add_months(rows.times[i], known_within) < split)]


def batch_warner(rows: Rows, labels: list[int | None], train: list[int], share: float,
                 index: Sequence[int], absolute: int | None = None) -> Warner:
    """Gradient boosting fitted on the rows ``train`` (`batch_training`), scored on
    ``index``. A feature that no training row has is left out: it can teach nothing, and
    the model's binning fails on a column without a value (a short first half, as of a
    book of a few months, has no trajectories yet)."""
    known = ~np.isnan(rows.matrix[train]).all(axis=0)
    model = HistGradientBoostingClassifier(random_state=BATCH_SEED)
    model.fit(rows.matrix[train][:, known], np.asarray([labels[i] for i in train]))
    probs = model.predict_proba(rows.matrix[list(index)][:, known])[:, 1].tolist()
    top = in_top_share(rows, dict(zip(index, probs, strict=True)), share, absolute)
    return Warner(probs, probs, first_alerts(rows, top, index))
