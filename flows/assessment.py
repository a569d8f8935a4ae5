"""One warner's metrics over some month-end rows (`assess`): ranking, calibration, lead
times and false warnings, as `flows.evaluate` writes them to metrics.json."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.clock import add_months, to_rfc3339
from detectors.records import EARLY_KINDS
from flows import metrics as m
from flows.baselines import Warner
from flows.monthends import Rows

TOP_DECILE = 0.1


@dataclass
class Assessment:
    """One warner's metrics on one period, and the curves the report plots."""

    metrics: dict[str, Any]
    roc: tuple[list[float], list[float]]
    pr: tuple[list[float], list[float]]
    calibration: list[m.CalibrationBin]
    leads: tuple[float, ...]
    volume: dict[str, int] = field(default_factory=dict)



@dataclass(frozen=True)
class Caught:
    """What a warner's alerts caught and cost over some rows (see `caught`)."""

    leads: m.LeadStats
    standing: m.LeadStats
    """The same, counting only the warning still standing at the default
    (`flows.metrics.standing_warnings`)."""
    healthy_under_warning: float | None
    """Per 1,000 month-end rows of customers that did not default within 12 months, those
    under warning (`flows.metrics.healthy_under_warning`)."""
    warnings: list[tuple[str, int]]
    """(customer, time) of every early warning and escalation."""
    false: m.FalseWarnings


def caught(rows: Rows, index: Sequence[int], alerts: list[m.Alert],
           defaults: dict[str, int | None], end: int, since: int | None) -> Caught:
    """The alert side of `assess`: lead times and false warnings of ``alerts`` (from ``since``)
    over the rows ``index``; the scores play no part in it."""
    alerts = alerts if since is None else m.window_alerts(alerts, since)
    first_seen: dict[str, int] = {}
    for i in index:
        first_seen.setdefault(rows.customers[i], rows.times[i])
    leads = m.lead_stats(m.first_lasting_warnings(alerts, defaults), defaults, first_seen)
    standing = m.lead_stats(m.standing_warnings(alerts, defaults), defaults, first_seen)
    warnings = [(a.customer_id, a.at) for a in alerts if a.kind in EARLY_KINDS]
    judged_from = {t for t in set(rows.times) if add_months(t, m.FALSE_WINDOW_MONTHS) <= end}
    judged_months = sum(1 for i in index if rows.times[i] in judged_from)
    false = m.false_warnings(warnings, defaults, judged_months, judged_until=end)
    watched = m.healthy_under_warning(
        alerts, ((rows.customers[i], rows.times[i]) for i in index), defaults, end)
    return Caught(leads, standing, watched, warnings, false)


LeadLabels = dict[tuple[int, int], list[int | None]]
"""Per window of months ahead (`flows.metrics.lead_windows`), every row's `lead_label`."""


def label_leads(rows: Rows, defaults: dict[str, int | None], labels: Sequence[int | None],
                horizon_months: int) -> LeadLabels:
    """Every row's `flows.metrics.lead_label` per window; None where ``labels`` has none
    (the horizon ends after the period)."""
    return {window: [None if label is None else m.lead_label(
                         at, defaults.get(customer), window, horizon_months)
                     for customer, at, label in zip(rows.customers, rows.times, labels,
                                                    strict=True)]
            for window in m.lead_windows(horizon_months)}


def lead_aucs(index: Sequence[int], scores: Sequence[float],
              lead_labels: LeadLabels) -> list[dict[str, Any]]:
    """Per window of months ahead, the AUC of ``scores`` (one per row of ``index``) over the
    rows the window labels, with the number of its positive rows."""
    out = []
    for (first, last), labels in lead_labels.items():
        known = [(labels[i], scores[k]) for k, i in enumerate(index) if labels[i] is not None]
        ys = [y for y, _ in known]
        out.append({"months_from": first, "months_to": last, "positive_rows": sum(ys),
                    "auc": round_or_none(m.roc_auc(ys, [s for _, s in known]))})
    return out


def assess(rows: Rows, index: Sequence[int], labels: list[int | None], warner: Warner,
           defaults: dict[str, int | None], end: int, since: int | None,
           lead_labels: LeadLabels) -> Assessment:
    """All metrics of one warner over the rows ``index`` (and its alerts from ``since``),
    the AUC of each window of months ahead (``lead_labels``: `label_leads`) among them."""
    known = [(k, labels[i]) for k, i in enumerate(index) if labels[i] is not None]
    ys = [y for _, y in known]
    scores = [warner.scores[k] for k, _ in known]
    probs = [warner.probs[k] for k, _ in known]
    months = [rows.times[index[k]] for k, _ in known]
    found = caught(rows, index, warner.alerts, defaults, end, since)
    leads, warnings, false = found.leads, found.warnings, found.false
    calibration = m.calibration_table(ys, probs)
    metrics = {
        "auc": round_or_none(m.roc_auc(ys, scores)),
        "pr_auc": round_or_none(m.pr_auc(ys, scores)),
        "brier": round_or_none(m.brier(ys, probs), 5),
        "calibration": [band_json(b) for b in calibration],
        "calibration_error": m.calibration_error(calibration),
        "defaulters_warned_6m": round_or_none(leads.warned_6m_share),
        "defaulters_warned_6m_until_default": round_or_none(found.standing.warned_6m_share),
        "median_lead_months": round_or_none(leads.median_lead_months, 2),
        "false_warnings_per_1000_customer_years": round_or_none(false.per_1000_customer_years, 1),
        "healthy_under_warning_per_1000": round_or_none(found.healthy_under_warning, 1),
        "top_decile_capture": round_or_none(m.top_share_capture(months, ys, scores, TOP_DECILE)),
        "auc_within_month": round_or_none(m.within_group_auc(months, ys, scores)),
        "auc_by_lead": lead_aucs(index, warner.scores, lead_labels),
        "counts": {
            "rows": len(index), "labelled_rows": len(ys), "positive_rows": sum(ys),
            "eligible_defaulters": leads.eligible_defaulters, "defaulters_warned": leads.warned,
            "defaulters_warned_6m": leads.warned_6m,
            "defaulters_warned_6m_until_default": found.standing.warned_6m,
            "warnings": len(warnings),
            "judged_warnings": false.judged, "false_warnings": false.false,
            "judged_customer_years": round(false.customer_years, 1),
        },
    }
    volume = Counter(to_rfc3339(at)[:7] for _, at in warnings)
    return Assessment(metrics, m.roc_points(ys, scores), m.pr_points(ys, scores), calibration,
                      leads.leads_months, dict(sorted(volume.items())))


def band_json(band: m.CalibrationBin) -> dict[str, Any]:
    """A calibration band as metrics.json writes it."""
    return {"pd_from": band.low, "pd_to": band.high, "rows": band.rows,
            "mean_pd": round(band.mean_pd, 4), "observed_rate": round(band.observed_rate, 4)}


def round_or_none(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
