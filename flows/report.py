"""The evaluation report: PNG figures (matplotlib, Agg backend) and a self-contained
``report.html`` that embeds them as base64 next to the metrics tables.

Figures: ROC and precision-recall curves, the lead-time histogram, the calibration curve, the
alert volume per month, and the trade-off (defaulters warned 6+ months ahead against false
warnings, the monitor at every alert budget, each rule as its point), the monitor against the
baselines. Drawing only: every number comes from `flows.evaluate`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window; must precede the pyplot import
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
from matplotlib.axes import Axes  # noqa: E402

if TYPE_CHECKING:
    from flows.assessment import Assessment
    from flows.evaluate import Evaluation

REPORT = "report.html"
FIGURES = ("roc", "pr", "lead_time", "calibration", "alert_volume", "tradeoff")
TABLE_KEYS = ("auc", "auc_within_month", "pr_auc", "brier", "top_decile_capture",
              "defaulters_warned_6m", "defaulters_warned_6m_until_default", "median_lead_months",
              "false_warnings_per_1000_customer_years", "healthy_under_warning_per_1000")
STYLE = {"monitor": "C0", "dpd60": "C1", "altman_z": "C2", "batch": "C3", "batch_known": "C4"}
SHORT_TERM_MONTHS = 3
"""The horizon of the term structure the calibration figure shows beside the model's own."""


def _curves(evaluation: Evaluation) -> list[tuple[str, str, str, Assessment]]:
    """(label, colour, line style, assessment): whole period solid, second half dashed."""
    out = [(name, STYLE[name], "-", a) for name, a in evaluation.full.items()]
    out += [(f"{name} (2nd half)", STYLE[name], "--", evaluation.second_half[name])
            for name in ("monitor", "batch", "batch_known") if name in evaluation.second_half]
    return out


def _roc(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    for label, colour, style, a in _curves(evaluation):
        auc = a.metrics["auc"]
        ax.plot(*a.roc, color=colour, linestyle=style,
                label=f"{label}: {auc:.3f}" if auc is not None else label)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate",
           title=f"ROC, default within {metrics['definitions']['horizon_months']} months (AUC)")


def _pr(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    for label, colour, style, a in _curves(evaluation):
        ap = a.metrics["pr_auc"]
        ax.plot(*a.pr, color=colour, linestyle=style, drawstyle="steps-post",
                label=f"{label}: {ap:.3f}" if ap is not None else label)
    ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1),
           title="Precision-recall (average precision)")


def _leads(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    leads = {name: a.leads for name, a in evaluation.full.items() if a.leads}
    if leads:
        top = max(max(v) for v in leads.values())
        ax.hist(list(leads.values()), bins=list(range(0, int(top) + 2)), label=list(leads),
                color=[STYLE[n] for n in leads])
    else:  # short histories (a card book): no defaulter was seen long enough to be judged
        ax.text(0.5, 0.5, "no warned defaulter with a lead time", ha="center",
                transform=ax.transAxes)
    ax.axvline(metrics["definitions"]["lead_months"], color="grey", linestyle=":")
    ax.set(xlabel="months from first lasting warning to default", ylabel="defaulters",
           title="Lead time of warned defaulters")


def _calibration(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    """Observed default rate against mean predicted PD per PD band: the monitor over the
    whole period and after its first year (with its calibration error), its P(default
    within 3 months) after the first year (the learned term structure), and the hindsight
    model; a point on the diagonal is a band whose PDs came true."""
    settled = metrics["calibration_after_first_year"]
    curves = [("monitor, whole period", evaluation.full["monitor"].calibration, "C0", ":"),
              (f"monitor after the first year (error {settled['error']:.3f})"
               if settled["error"] is not None else "monitor after the first year",
               evaluation.settled, "C0", "-")]
    if "batch" in evaluation.second_half:
        curves.append(("batch (2nd half)", evaluation.second_half["batch"].calibration, "C3",
                       "-"))
    for label, bins, colour, style in curves:
        ax.plot([b.mean_pd for b in bins], [b.observed_rate for b in bins], marker="o",
                color=colour, linestyle=style, label=label)
    for term in metrics.get("term_calibration_after_first_year", []):
        if term["months"] == SHORT_TERM_MONTHS and term["error"] is not None:
            ax.plot([b["mean_pd"] for b in term["table"]],
                    [b["observed_rate"] for b in term["table"]], marker="s", color="C4",
                    linestyle="--", label=f"monitor within {SHORT_TERM_MONTHS} months, after "
                                          f"the first year (error {term['error']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=0.01)  # most PDs are small; zero rates must show
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted PD (band)",
           ylabel="observed default rate", title="Calibration: did the PDs come true?")


def _volume(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    months = sorted({m for a in evaluation.full.values() for m in a.volume})
    for name, a in evaluation.full.items():
        ax.plot(range(len(months)), [a.volume.get(m, 0) for m in months], color=STYLE[name],
                marker=".", label=name)
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    ax.set(ylabel="warnings", title=f"Warnings per month (monitor: {_budget(metrics)})")


def _tradeoff_curve(ax: Axes, evaluation: Evaluation, metrics: dict[str, Any]) -> None:
    """The monitor's curves over the alert budgets `flows.tradeoff` replayed (the configured
    policy, and other shapes of warning, dashed), the configured budget marked, and each
    baseline's single operating point on the same axes."""
    configured = _shape(metrics["alert_budget"])
    curves = [(f"monitor, {configured}, by alert budget", "-", metrics["budget_tradeoff"])] + [
        (f"monitor, {_shape(shape)}", "--", shape["lines"])
        for shape in metrics["shape_tradeoff"]]
    placed = False
    for k, (label, style, curve) in enumerate(curves):
        drawn = [line for line in curve if _placed(line)]
        if drawn:
            placed = True
            ax.plot([line["false_warnings_per_1000_customer_years"] for line in drawn],
                    [line["defaulters_warned_6m"] for line in drawn], color=STYLE["monitor"],
                    alpha=max(0.3, 1.0 - 0.3 * k), linestyle=style, marker=".", label=label)
    for line in metrics["budget_tradeoff"]:
        if line["configured"] and _placed(line):
            ax.plot(line["false_warnings_per_1000_customer_years"],
                    line["defaulters_warned_6m"], color=STYLE["monitor"], marker="o",
                    markersize=9, fillstyle="none", linestyle="", label="monitor, configured")
    for name, block in metrics["baselines"].items():
        if _placed(block):
            placed = True
            ax.plot(block["false_warnings_per_1000_customer_years"],
                    block["defaulters_warned_6m"], color=STYLE[name], marker="s",
                    linestyle="", label=name)
    if not placed:  # no default, or histories too short to judge a warning 6 months ahead
        ax.text(0.5, 0.5, "no defaulter that could be warned 6+ months ahead",
                ha="center", transform=ax.transAxes)
    ax.set_xlim(left=0)
    ax.set(xlabel="false warnings per 1,000 customer-years",
           ylabel="defaulters warned 6+ months ahead", ylim=(0, 1),
           title="Trade-off: early warnings against false alarms")


def _placed(point: dict[str, Any]) -> bool:
    """Whether a warner's point has both coordinates of the trade-off plot: a book too short
    to judge whether a warning was false leaves its false warnings per 1,000 customer-years
    unknown."""
    return (point["defaulters_warned_6m"] is not None
            and point["false_warnings_per_1000_customer_years"] is not None)


def _shape(shape: dict[str, Any]) -> str:
    alerts = "" if shape["escalation_alerts"] else ", no escalation alerts"
    return f"resolved after {shape['resolve_after_months']} calm months{alerts}"


def _budget(metrics: dict[str, Any]) -> str:
    budget = metrics["alert_budget"]
    if budget["budget"] is not None:
        return f"budget {budget['budget']} new warnings a month"
    return f"budget {budget['budget_per_1000']:g} new warnings a month per 1,000"



DRAW: dict[str, Callable[[Axes, Evaluation, dict[str, Any]], None]] = {
    "roc": _roc, "pr": _pr, "lead_time": _leads, "calibration": _calibration,
    "alert_volume": _volume, "tradeoff": _tradeoff_curve,
}


def write_figures(report: Path, metrics: dict[str, Any], evaluation: Evaluation) -> list[Path]:
    """One PNG per figure in ``report``; returns their paths in `FIGURES` order."""
    paths = []
    for name in FIGURES:
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
        try:
            DRAW[name](ax, evaluation, metrics)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="small")
            fig.tight_layout()
            path = report / f"{name}.png"
            fig.savefig(path)
            paths.append(path)
        finally:
            plt.close(fig)
    return paths


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


def _table(columns: dict[str, dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    body = "".join(
        f"<tr><th>{key}</th>" + "".join(f"<td>{_cell(c.get(key))}</td>" for c in columns.values())
        + "</tr>"
        for key in TABLE_KEYS
    )
    windows = next(iter(columns.values()))["auc_by_lead"]  # every column has the same
    body += "".join(
        f"<tr><th>auc, default {_months_ahead(w['months_from'], w['months_to'])} ahead</th>"
        + "".join(f"<td>{_cell(c['auc_by_lead'][k]['auc'])}</td>" for c in columns.values())
        + "</tr>"
        for k, w in enumerate(windows)
    )
    counts = ("eligible_defaulters", "defaulters_warned_6m", "warnings", "labelled_rows",
              "positive_rows")
    body += "".join(
        f"<tr><td>{key} (count)</td>"
        + "".join(f"<td>{_cell(c['counts'][key])}</td>" for c in columns.values()) + "</tr>"
        for key in counts
    )
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _months_ahead(first: int, last: int) -> str:
    """A window of months ahead in words: "1 month", "2–5 months"."""
    return f"{first} month{'s' if first > 1 else ''}" if first == last else f"{first}–{last} months"


TRADEOFF_KEYS = ("budget_per_1000", "budget", "new_warnings_per_month_per_1000",
                 "defaulters_warned_6m", "defaulters_warned_6m_until_default",
                 "median_lead_months", "false_warnings_per_1000_customer_years",
                 "healthy_under_warning_per_1000", "precision_12m", "warnings")


def _tradeoff(lines: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{key}</th>" for key in TRADEOFF_KEYS)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(line[key])}</td>" for key in TRADEOFF_KEYS)
        + ("<td>configured</td>" if line["configured"] else "<td></td>") + "</tr>"
        for line in lines
    )
    return f"<table><tr>{head}<th></th></tr>{body}</table>"


CHAMPION_KEYS = ("model", "from", "to", "month_ends", "rows", "labelled_rows", "auc",
                 "calibration_error", "mean_pd", "observed_rate")


def _champions(runs: list[dict[str, Any]]) -> str:
    """The runs of month ends scored by one model, each with its calibration and the
    comparison that handed it the book."""
    head = "".join(f"<th>{key}</th>" for key in (*CHAMPION_KEYS, "decided_by", "compared"))
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(run[key][:10] if key in ('from', 'to') else run[key])}</td>"
                         for key in CHAMPION_KEYS)
        + f"<td>{_cell(run['decided_by'])}</td><td>{_compared(run['compared'])}</td></tr>"
        for run in runs
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _compared(compared: dict[str, Any] | None) -> str:
    """Each model's AUC in a comparison, and the labels and positives it was made on."""
    if compared is None:
        return _cell(None)
    aucs = ", ".join(f"{html.escape(name)} {auc:.3f}" for name, auc in compared["auc"].items())
    return f"{aucs} ({compared['labels']:,} labels, {compared['positives']:,} positives)"


def write_report(report: Path, metrics: dict[str, Any], evaluation: Evaluation) -> Path:
    """Write the figures and ``report.html`` (figures embedded) into ``report``."""
    from flows import evaluate

    report.mkdir(parents=True, exist_ok=True)
    images = "".join(
        f'<figure><img alt="{p.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{p.name}</figcaption></figure>'
        for p in write_figures(report, metrics, evaluation)
    )
    full = {"monitor": metrics, **metrics["baselines"]}
    full.pop("batch", None)
    half = {k: v for k, v in metrics["second_half"].items() if k != "from"}
    period = metrics["period"]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CreditRadar evaluation</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}
figure{{display:inline-block;margin:.5em}}pre{{white-space:pre-wrap;background:#f6f6f6}}</style>
</head><body>
<h1>CreditRadar: how well it warns</h1>
<p>{period['customers']} customers, {period['defaulters']} defaulters, month-end rows from
{period['start'][:10]} to {period['end'][:10]}; horizon
{metrics['definitions']['horizon_months']} months; alert {_budget(metrics)}
({metrics['alert_budget']['new_warnings_per_month']} new warnings and
{metrics['alert_budget']['warnings_per_month']} warnings with escalations a month).</p>
<h2>Whole period</h2>{_table(full)}
<h2>Second half (from {metrics['second_half']['from'][:10]}): against the batch model</h2>
{_table(half)}
<h2>Alert budget trade-off (whole period, policy replayed on month-end rows; warnings
{_shape(metrics['alert_budget'])})</h2>
{_tradeoff(metrics['budget_tradeoff'])}
{"".join(f"<h3>Warnings {_shape(shape)}</h3>{_tradeoff(shape['lines'])}"
         for shape in metrics['shape_tradeoff'])}
<h2>Which model scored when (month ends, and their calibration)</h2>
{_champions(metrics['champions'])}
<h2>Figures</h2>{images}
<h2>Definitions</h2><pre>{html.escape(evaluate.__doc__ or "")}</pre>
</body></html>
"""
    path = report / REPORT
    path.write_text(page, encoding="utf-8")
    return path
