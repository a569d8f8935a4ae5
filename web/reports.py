"""Reports other commands leave next to a run: the evaluation's metrics (trade-off, the rules'
points, other shapes of warning and calibration), the backtest's summary and replay
comparisons. The workspace only reads them.

``metrics.json`` is read as a desk would want it: the lines of the alert budget trade-off
in plain words, each rule at its own rate of false warnings against the monitor at the same
rate, the other shapes of warning at the configured budget, and the calibration after the
first year with the bands outside 0.67-1.5x of their observed rate marked, and which model
scored when and what handed it the book. A file from an older version that lacks a key
shows what it has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.choices import DECIDERS, MODEL_NAMES
from flows.jsonl import BACKTEST, finite_number
from web.charts import Plot, tradeoff_plot

METRICS = "metrics.json"
REPLAY_REPORT = "replay-report.json"

TRADEOFF_COLUMNS = (
    ("budget", "Alert budget", "text"),
    ("new_warnings_per_month_per_1000", "New warnings a month per 1,000", "number"),
    ("defaulters_warned_6m", "Defaulters warned 6+ months ahead", "share"),
    ("defaulters_warned_6m_until_default", "Still warned at the default", "share"),
    ("median_lead_months", "Median lead (months)", "number"),
    ("false_warnings_per_1000_customer_years", "False warnings per 1,000 customer-years",
     "number"),
    ("healthy_under_warning_per_1000", "Healthy month ends under warning per 1,000",
     "number"),
    ("precision_12m", "Followed by a default within 12 months", "share"),
)
"""The trade-off's columns a desk reads: key in metrics.json, heading, and how it is shown."""

RULES = {"dpd60": "60+ days past due", "altman_z": "Altman Z'' below 1.1"}
"""The rule baselines by their key in metrics.json, in words."""


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def evaluation(out: Path) -> dict[str, Any]:
    """``metrics.json`` of ``creditradar evaluate`` (in the run's folder or the report folder
    above it) and ``backtest.json``, as the portfolio page shows them; each part None (or
    empty) when absent."""
    metrics = _load(out / METRICS) or _load(out.parent / METRICS)
    metrics = metrics if isinstance(metrics, dict) else {}
    lines = _dicts(metrics.get("budget_tradeoff"))
    configured = _dict(metrics.get("alert_budget"))
    rules = rule_points(metrics)
    return {
        "shape": shape_name(configured) if configured else None,
        "tradeoff": [tradeoff_row(line) for line in lines] or None,
        "columns": TRADEOFF_COLUMNS,
        "rules": rules,
        "shapes": other_shapes(metrics, configured),
        "plot": plot(metrics, lines, configured, rules),
        "calibration": calibration(metrics),
        "champions": champions(metrics),
        "backtest": _load(out / BACKTEST),
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def shape_name(shape: dict[str, Any]) -> str:
    """How a warning is held, in words.

    >>> shape_name({"resolve_after_months": 12, "escalation_alerts": False})
    'resolved after 12 calm month ends, no escalation alerts'
    """
    months = finite_number(shape.get("resolve_after_months"))
    held = "held as configured" if months is None else f"resolved after {months:g} calm month ends"
    alerts = ", no escalation alerts" if shape.get("escalation_alerts") is False else ""
    return held + alerts


def budget_name(line: dict[str, Any]) -> str:
    """A trade-off line's alert budget, in words.

    >>> budget_name({"budget_per_1000": 30.0, "budget": None})
    '30 per 1,000 a month'
    >>> budget_name({"budget_per_1000": 30.0, "budget": 120})
    '120 a month'
    """
    budget, per_1000 = finite_number(line.get("budget")), finite_number(line.get("budget_per_1000"))
    if budget is not None:
        return f"{budget:g} a month"
    return "" if per_1000 is None else f"{per_1000:g} per 1,000 a month"


def tradeoff_row(line: dict[str, Any]) -> dict[str, Any]:
    """One trade-off line: its cells in `TRADEOFF_COLUMNS` order and whether it is the
    configured budget."""
    cells = [budget_name(line) if key == "budget" else finite_number(line.get(key))
             for key, _, _ in TRADEOFF_COLUMNS]
    return {"cells": cells, "configured": line.get("configured") is True}


def rule_points(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule at its own rate of false warnings: the share of defaulters it warned 6+
    months ahead, and the monitor's share at the same rate (read off its trade-off)."""
    points = []
    for key, name in RULES.items():
        at = _dict(_dict(metrics.get("at_rule_false_warnings")).get(key))
        baseline = _dict(_dict(metrics.get("baselines")).get(key))
        false = finite_number(at.get("false_warnings_per_1000_customer_years",
                               baseline.get("false_warnings_per_1000_customer_years")))
        share = finite_number(at.get("rule_warned_6m", baseline.get("defaulters_warned_6m")))
        if false is None or share is None:
            continue
        points.append({"rule": name, "false_warnings": false, "rule_warned_6m": share,
                       "monitor_warned_6m": finite_number(at.get("monitor_warned_6m")),
                       "ratio": finite_number(at.get("ratio")),
                       "ratio_until_default": finite_number(at.get("ratio_until_default"))})
    return points


def other_shapes(metrics: dict[str, Any], configured: dict[str, Any]) -> list[dict[str, Any]]:
    """Each other shape of warning the trade-off replayed, at the configured budget."""
    shapes = []
    for shape in _dicts(metrics.get("shape_tradeoff")):
        same_budget = [line for line in _dicts(shape.get("lines"))
                       if line.get("budget") == configured.get("budget")
                       and line.get("budget_per_1000") == configured.get("budget_per_1000")]
        if same_budget:
            shapes.append({"shape": shape_name(shape), **tradeoff_row(same_budget[0])})
    return shapes


def plot(metrics: dict[str, Any], lines: list[dict[str, Any]], configured: dict[str, Any],
         rules: list[dict[str, Any]]) -> Plot | None:
    """The trade-off figure: a curve per shape of warning over the alert budgets (the
    configured one solid), the configured budget ringed, and each rule's point."""

    def points(lines: list[dict[str, Any]]) -> list[tuple[float, float]]:
        pairs = [(finite_number(line.get("false_warnings_per_1000_customer_years")),
                  finite_number(line.get("defaulters_warned_6m"))) for line in lines]
        return [(x, y) for x, y in pairs if x is not None and y is not None]

    name = f"{shape_name(configured)} (configured)" if configured else "configured"
    curves = [(name, points(lines))] + [
        (shape_name(shape), points(_dicts(shape.get("lines"))))
        for shape in _dicts(metrics.get("shape_tradeoff"))]
    ringed = points([line for line in lines if line.get("configured") is True])
    marks = [(rule["rule"], rule["false_warnings"], rule["rule_warned_6m"]) for rule in rules]
    return tradeoff_plot(curves, ringed[0] if ringed else None, marks)


def calibration(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The calibration after the first year (``calibration_after_first_year``): its bands,
    each marked when it is outside the bounds, the expected calibration error and the mean
    PD against the observed rate; the whole period's table when that is all there is."""
    settled = _dict(metrics.get("calibration_after_first_year"))
    table = _dicts(settled.get("table")) or _dicts(metrics.get("calibration"))
    if not table:
        return None
    off = {(b.get("pd_from"), b.get("pd_to")) for b in _dicts(settled.get("bands_off"))}
    return {
        "since": _text(settled.get("from"))[:10] or None,
        "error": finite_number(settled.get("error", metrics.get("calibration_error"))),
        "mean_pd": finite_number(settled.get("mean_pd")),
        "observed_rate": finite_number(settled.get("observed_rate")),
        "bands": [{**band, "off": (band.get("pd_from"), band.get("pd_to")) in off}
                  for band in table],
    }


def champions(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Which model scored which month ends (``champions``), in words: each run's model, its
    first and last month end, its AUC and calibration error, and what handed it the book,
    with each model's AUC in that comparison."""
    out = []
    for run in _dicts(metrics.get("champions")):
        model = _text(run.get("model"))
        compared = _dict(run.get("compared"))
        aucs = _dict(compared.get("auc"))
        out.append({
            "model": MODEL_NAMES.get(model, model),
            "from": _text(run.get("from"))[:10], "to": _text(run.get("to"))[:10],
            "auc": finite_number(run.get("auc")),
            "calibration_error": finite_number(run.get("calibration_error")),
            "decided_by": DECIDERS.get(_text(run.get("decided_by"))),
            "compared": [(MODEL_NAMES.get(name, name), finite_number(auc))
                         for name, auc in aucs.items()],
            "labels": finite_number(compared.get("labels")),
            "positives": finite_number(compared.get("positives")),
        })
    return out


def replay_reports(out: Path) -> list[dict[str, Any]]:
    """Every ``replay-report.json`` in the run's folder or one level below it: where it is,
    the report, its verdict (identical only where ``ok`` is true itself), and its
    comparison of the choices of model (None in a report that made none, as an older
    version's): month ends compared, how many differ and the first ten of them."""
    found = []
    for path in sorted([out / REPLAY_REPORT, *out.glob(f"*/{REPLAY_REPORT}")]):
        report = _load(path)
        if isinstance(report, dict):
            found.append({"where": str(path.relative_to(out)), "report": report,
                          "ok": report.get("ok") is True, "choices": _choices(report)})
    return found


def _choices(report: dict[str, Any]) -> dict[str, Any] | None:
    compared = finite_number(report.get("choices_compared"))
    if compared is None or compared < 0 or not compared.is_integer():
        return None
    listed = report.get("choices_differing")
    differing = [_text(end) for end in listed] if isinstance(listed, list) else []
    return {"compared": int(compared), "differing": differing[:10], "total": len(differing)}
