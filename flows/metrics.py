"""Pure metric functions of the evaluation report, on plain lists (no files, no flow).

Times are event-time seconds (as in `detectors.clock`); calendar windows ("within 12
months", "6 or more months ahead") use `add_months`, so they mean calendar months.

- Ranking: `roc_auc` and `pr_auc` (average precision) of scores against 0/1 labels, and the
  curves behind them (`roc_points`, `pr_points`) for the plots.
- Probabilities: `brier` and `calibration_table` (fixed PD bins, `CALIBRATION_EDGES`).
- Portfolio: `top_share_capture`, the share of positive rows found in the riskiest share of
  each month's rows (ties share their slots fractionally, so binary rules are not helped or
  hurt by an arbitrary tie order).
- Warnings: `window_alerts` restricts a warning history to a period; `first_lasting_warnings`
  finds each customer's first warning not resolved within `LASTING_MONTHS`, and
  `standing_warnings` when the warning still standing at the default began; `lead_stats`
  and `false_warnings` turn them into lead times and false-alarm rates, and
  `healthy_under_warning` into the share of healthy customers kept under warning.

A metric that cannot be computed (no positives, no eligible defaulter) is ``None``.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from detectors.clock import DAY, DAYS_PER_MONTH, add_months
from detectors.records import EARLY_KINDS, RESOLVED

__all__ = [
    "CALIBRATION_EDGES", "LASTING_MONTHS", "LEAD_MONTHS", "FALSE_WINDOW_MONTHS",
    "Alert", "CalibrationBin", "LeadStats", "FalseWarnings", "horizon_label", "roc_auc",
    "pr_auc", "roc_points", "pr_points", "brier", "calibration_table", "calibration_error",
    "bands_off", "top_share_capture",
    "histories", "window_alerts", "first_lasting_warnings", "standing_warnings", "lead_stats",
    "false_warnings", "healthy_under_warning",
]

CALIBRATION_EDGES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)
"""PD bin edges of the calibration table: fine where most of a portfolio sits."""
BAND_MIN_ROWS = 200
"""A PD band is judged (`bands_off`) once it holds this many rows."""
BAND_RATIO = (0.67, 1.5)
"""A judged band's observed rate should lie within these multiples of its mean PD."""
LASTING_MONTHS = 3
"""A warning is lasting when no ``resolved`` follows it within this many months."""
LEAD_MONTHS = 6
"""A defaulter counts as warned in time when warned this many months or more ahead."""
FALSE_WINDOW_MONTHS = 12
"""A warning is false when its customer does not default within this many months."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One warning-policy decision: ``kind`` is early_warning, escalation or resolved."""

    customer_id: str
    at: int
    kind: str


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """Rows whose predicted PD fell in [low, high): their mean PD and observed rate."""

    low: float
    high: float
    rows: int
    mean_pd: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class LeadStats:
    """How early the defaulters were warned (see `lead_stats`)."""

    eligible_defaulters: int
    warned: int
    warned_6m: int
    leads_months: tuple[float, ...]

    @property
    def warned_6m_share(self) -> float | None:
        return self.warned_6m / self.eligible_defaulters if self.eligible_defaulters else None

    @property
    def median_lead_months(self) -> float | None:
        return statistics.median(self.leads_months) if self.leads_months else None


@dataclass(frozen=True, slots=True)
class FalseWarnings:
    """Warnings to customers who did not default soon after, per customer-years observed."""

    judged: int
    false: int
    customer_years: float

    @property
    def per_1000_customer_years(self) -> float | None:
        return 1000 * self.false / self.customer_years if self.customer_years else None


def horizon_label(at: int, default_at: int | None, horizon_months: int) -> int:
    """1 if the default falls in (at, at + horizon months], else 0.

    >>> jan, jun = 1_609_459_200, 1_622_505_600  # 2021-01-01, 2021-06-01
    >>> horizon_label(jan, jun, 6), horizon_label(jan, jun, 4), horizon_label(jun, jun, 6)
    (1, 0, 0)
    """
    return int(default_at is not None and at < default_at <= add_months(at, horizon_months))


def lead_windows(horizon_months: int) -> list[tuple[int, int]]:
    """The windows of months ahead (first, last) that `lead_label` reads: the next month,
    2 to 5 months ahead, and 6 months ahead to the horizon, each cut at the horizon. They
    split (0, horizon] without overlap, so each positive row counts in exactly one.

    >>> lead_windows(8), lead_windows(12), lead_windows(3)
    ([(1, 1), (2, 5), (6, 8)], [(1, 1), (2, 5), (6, 12)], [(1, 1), (2, 3)])
    """
    bounds = ((1, 1), (2, 5), (6, horizon_months))
    return [(first, min(last, horizon_months)) for first, last in bounds
            if first <= horizon_months]


def lead_label(at: int, default_at: int | None, window: tuple[int, int],
               horizon_months: int) -> int | None:
    """A row's label for the AUC of one window of months ahead: 1 if the default falls in
    (at + first - 1 months, at + last months]; 0 if none falls within the horizon; None (the
    row is left out) if it falls within the horizon outside the window. So the AUC asks how
    well the scores of rows that far ahead of a default stand out from rows of customers
    that do not default: "one month before" is window (1, 1), "6-8 months before" (6, 8).

    >>> jan, mar, jul = 1_609_459_200, 1_614_556_800, 1_625_097_600  # 2021-01-01, 03-01, 07-01
    >>> [lead_label(jan, d, (1, 1), 8) for d in (jan + 86_400, mar, jul, None)]
    [1, None, None, 0]
    >>> [lead_label(jan, d, (6, 8), 8) for d in (mar, jul)]
    [None, 1]
    """
    first, last = window
    if not horizon_label(at, default_at, horizon_months):
        return 0
    assert default_at is not None  # a positive horizon label has a default
    inside = add_months(at, first - 1) < default_at <= add_months(at, last)
    return 1 if inside else None


def _both_classes(labels: Sequence[int]) -> bool:
    return 0 < sum(labels) < len(labels)


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (ties count one half); None without both classes."""
    return float(roc_auc_score(labels, scores)) if _both_classes(labels) else None


def pr_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Average precision: precision at each positive's threshold, averaged over positives."""
    return float(average_precision_score(labels, scores)) if _both_classes(labels) else None


def roc_points(labels: Sequence[int], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """(false positive rates, true positive rates) of the ROC curve."""
    if not _both_classes(labels):
        return [], []
    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr.tolist(), tpr.tolist()


def pr_points(labels: Sequence[int], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """(recalls, precisions) of the precision-recall curve."""
    if not _both_classes(labels):
        return [], []
    precision, recall, _ = precision_recall_curve(labels, scores)
    return recall.tolist(), precision.tolist()


def brier(labels: Sequence[int], probs: Sequence[float]) -> float | None:
    """Mean squared difference between predicted probability and outcome."""
    if not labels:
        return None
    return sum((p - y) ** 2 for y, p in zip(labels, probs, strict=True)) / len(labels)


def calibration_table(labels: Sequence[int], probs: Sequence[float],
                      edges: Sequence[float] = CALIBRATION_EDGES) -> list[CalibrationBin]:
    """Mean predicted PD against the observed rate, per PD bin [low, high) (the last bin
    includes 1.0); empty bins are left out."""
    bins: list[list[tuple[int, float]]] = [[] for _ in edges[1:]]
    for y, p in zip(labels, probs, strict=True):
        index = next((i for i, high in enumerate(edges[1:]) if p < high), len(edges) - 2)
        bins[index].append((y, p))
    return [
        CalibrationBin(edges[i], edges[i + 1], len(rows),
                       sum(p for _, p in rows) / len(rows), sum(y for y, _ in rows) / len(rows))
        for i, rows in enumerate(bins) if rows
    ]


def calibration_error(table: Sequence[CalibrationBin]) -> float | None:
    """Expected calibration error: the rows' mean distance between a band's mean PD and its
    observed rate.

    >>> calibration_error([CalibrationBin(0.0, 0.1, 300, 0.05, 0.04),
    ...                    CalibrationBin(0.1, 0.2, 100, 0.15, 0.19)])
    0.0175
    """
    rows = sum(b.rows for b in table)
    if not rows:
        return None
    return round(sum(b.rows * abs(b.mean_pd - b.observed_rate) for b in table) / rows, 6)


def bands_off(table: Sequence[CalibrationBin], min_rows: int = BAND_MIN_ROWS,
              ratio: tuple[float, float] = BAND_RATIO) -> list[CalibrationBin]:
    """The bands of at least ``min_rows`` rows whose observed rate lies outside
    ``ratio`` times their mean PD.

    >>> [b.low for b in bands_off([CalibrationBin(0.0, 0.1, 300, 0.05, 0.09),
    ...                            CalibrationBin(0.1, 0.2, 900, 0.15, 0.16),
    ...                            CalibrationBin(0.2, 0.3, 50, 0.25, 0.90)])]
    [0.0]
    """
    low, high = ratio
    return [b for b in table if b.rows >= min_rows
            and not low * b.mean_pd <= b.observed_rate <= high * b.mean_pd]


def _by_group(groups: Sequence[object], labels: Sequence[int],
              scores: Sequence[float]) -> dict[object, list[tuple[float, int]]]:
    """Each group's (score, label) rows, in the order given."""
    by_group: dict[object, list[tuple[float, int]]] = {}
    for g, y, s in zip(groups, labels, scores, strict=True):
        by_group.setdefault(g, []).append((s, y))
    return by_group


def within_group_auc(groups: Sequence[object], labels: Sequence[int],
                     scores: Sequence[float]) -> float | None:
    """The AUC within each group (month) of rows, averaged with each group weighted by its
    positive rows; groups of one class are left out (None if every group is). A desk ranks
    each month's book, so this is the ranking it works with; the pooled AUC also counts
    pairs of rows from different months, and so moves with the level of each month's
    scores.

    >>> # Each month ranked perfectly, but the second month's scores run lower.
    >>> months, labels = [1, 1, 1, 2, 2, 2], [0, 0, 1, 0, 0, 1]
    >>> scores = [0.2, 0.3, 0.4, 0.01, 0.02, 0.03]
    >>> within_group_auc(months, labels, scores), roc_auc(labels, scores)
    (1.0, 0.75)
    """
    weighted = []
    for rows in _by_group(groups, labels, scores).values():
        ys, ss = [y for _, y in rows], [s for s, _ in rows]
        if _both_classes(ys):
            weighted.append((sum(ys), roc_auc(ys, ss)))
    total = sum(w for w, _ in weighted)
    return sum(w * auc for w, auc in weighted if auc is not None) / total if total else None


def top_share_capture(groups: Sequence[object], labels: Sequence[int], scores: Sequence[float],
                      share: float = 0.1) -> float | None:
    """Share of all positive rows that rank in the top ``share`` of their group (month).

    Each group keeps ``ceil(share * size)`` slots, filled from the highest score down; when
    a block of equal scores straddles the cut, each of its positives counts for the share
    of the block that fits (the expectation under a random order of the ties).
    """
    positives = sum(labels)
    if not positives:
        return None
    captured = 0.0
    for rows in _by_group(groups, labels, scores).values():
        slots = math.ceil(share * len(rows))
        ties: dict[float, list[int]] = {}
        for s, y in rows:
            ties.setdefault(s, []).append(y)
        for s in sorted(ties, reverse=True):
            if slots <= 0:
                break
            block = ties[s]
            taken = min(slots, len(block))
            captured += sum(block) * taken / len(block)
            slots -= taken
    return captured / positives


def histories(alerts: Iterable[Alert]) -> dict[str, list[Alert]]:
    """Each customer's alerts in time order (customers in id order)."""
    history: dict[str, list[Alert]] = {}
    for alert in sorted(alerts, key=lambda a: (a.customer_id, a.at)):
        history.setdefault(alert.customer_id, []).append(alert)
    return history


def window_alerts(alerts: Iterable[Alert], since: int) -> list[Alert]:
    """The alerts from ``since`` on; a warning still standing at ``since`` (no ``resolved``
    after it yet) is restated as issued at ``since``, so that a comparison over a late period
    credits the warnings the desk already had in hand."""
    out: list[Alert] = []
    for customer, items in histories(alerts).items():
        before = [a for a in items if a.at < since]
        if before and before[-1].kind != RESOLVED:
            out.append(Alert(customer, since, EARLY_KINDS[0]))
        out.extend(a for a in items if a.at >= since)
    return out


def first_lasting_warnings(alerts: Iterable[Alert], defaults: Mapping[str, int | None],
                           lasting_months: int = LASTING_MONTHS) -> dict[str, int]:
    """Each customer's first warning before its default that no ``resolved`` follows within
    ``lasting_months`` (a resolution after the default does not count)."""
    first: dict[str, int] = {}
    for customer, items in histories(alerts).items():
        default = defaults.get(customer)
        end = math.inf if default is None else default
        resolved = [a.at for a in items if a.kind == RESOLVED and a.at < end]
        for alert in items:
            if alert.kind == RESOLVED or alert.at >= end:
                continue
            until = add_months(alert.at, lasting_months)
            if not any(alert.at < r <= until for r in resolved):
                first[customer] = alert.at
                break
    return first


def standing_warnings(alerts: Iterable[Alert], defaults: Mapping[str, int | None],
                      ) -> dict[str, int]:
    """Per defaulter warned when it defaulted, when that warning began: its first early
    warning or escalation after the last ``resolved`` before the default. A stricter
    reading than `first_lasting_warnings`: a warning resolved before the default, however
    long it stood, does not count.

    >>> at = [Alert("a", 10, "early_warning"), Alert("a", 20, RESOLVED),
    ...       Alert("a", 30, "early_warning"), Alert("a", 40, "escalation"),
    ...       Alert("b", 10, "early_warning"), Alert("b", 20, RESOLVED)]
    >>> standing_warnings(at, {"a": 50, "b": 50})
    {'a': 30}
    """
    standing: dict[str, int] = {}
    for customer, items in histories(alerts).items():
        default = defaults.get(customer)
        if default is None:
            continue
        for alert in items:
            if alert.at >= default:
                break
            if alert.kind == RESOLVED:
                standing.pop(customer, None)
            else:
                standing.setdefault(customer, alert.at)
    return standing


def lead_stats(first_warned: Mapping[str, int], defaults: Mapping[str, int | None],
               first_seen: Mapping[str, int], lead_months: int = LEAD_MONTHS) -> LeadStats:
    """Lead times of the defaulters that could have been warned ``lead_months`` ahead.

    A defaulter is eligible when its first month-end row (``first_seen``) lies at least
    ``lead_months`` before its default; it is warned when its warning time in
    ``first_warned`` (its first lasting warning, or the start of the one standing at the
    default) came before the default, and warned in time when ``lead_months`` or more
    before it. Leads are in months of `DAYS_PER_MONTH` days.
    """
    eligible = warned = in_time = 0
    leads: list[float] = []
    for customer in sorted(first_seen):
        default = defaults.get(customer)
        if default is None or add_months(first_seen[customer], lead_months) > default:
            continue
        eligible += 1
        at = first_warned.get(customer)
        if at is None or at >= default:
            continue
        warned += 1
        in_time += add_months(at, lead_months) <= default
        leads.append((default - at) / (DAY * DAYS_PER_MONTH))
    return LeadStats(eligible, warned, in_time, tuple(leads))


def false_warnings(warnings: Iterable[tuple[str, int]], defaults: Mapping[str, int | None],
                   customer_months: int, judged_until: int | None = None,
                   window_months: int = FALSE_WINDOW_MONTHS) -> FalseWarnings:
    """Count warnings ``(customer, at)`` whose customer did not default in
    [at, at + window_months]; warnings at or after the customer's default are no warnings.

    With ``judged_until``, only warnings whose window ends by then are judged (the others'
    outcome is not known yet); ``customer_months`` should cover the same period.
    """
    judged = false = 0
    for customer, at in warnings:
        default = defaults.get(customer)
        if default is not None and at >= default:
            continue
        until = add_months(at, window_months)
        if judged_until is not None and until > judged_until:
            continue
        judged += 1
        false += default is None or default > until
    return FalseWarnings(judged, false, customer_months / 12)


def healthy_under_warning(alerts: Iterable[Alert], rows: Iterable[tuple[str, int]],
                          defaults: Mapping[str, int | None], judged_until: int,
                          window_months: int = FALSE_WINDOW_MONTHS) -> float | None:
    """Of the month-end ``rows`` ``(customer, at)`` of customers that did not default within
    ``window_months`` (only rows whose window ends by ``judged_until``), how many per 1,000
    stood under a warning: what a policy costs a desk in healthy customers watched, which
    false warnings, counted when issued, do not show for a warning held long.

    >>> at = [Alert("a", 10, "early_warning"), Alert("a", 30, RESOLVED)]
    >>> healthy_under_warning(at, [("a", t) for t in (0, 10, 20, 30)], {}, 10**10)
    500.0
    """
    grouped = histories(alerts)
    times = {customer: [a.at for a in items] for customer, items in grouped.items()}
    ends: dict[int, int] = {}  # a book has few month ends: each window's end worked out once
    judged = warned = 0
    for customer, at in rows:
        until = ends.get(at) or ends.setdefault(at, add_months(at, window_months))
        default = defaults.get(customer)
        if until > judged_until or (default is not None and default <= until):
            continue
        judged += 1
        last = bisect.bisect_right(times.get(customer, ()), at)
        warned += last > 0 and grouped[customer][last - 1].kind != RESOLVED
    return 1000 * warned / judged if judged else None
