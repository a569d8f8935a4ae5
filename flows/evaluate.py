"""``creditradar evaluate``: progressive validation of the monitor against simple baselines.

The feeds stream through the same monitor flow as a live run (`run_job`), in event time;
the model scores every snapshot before it learns that snapshot's label, so every score in
``scores.jsonl`` is an honest out-of-sample prediction. This module then reads the run's
scores and warnings and the portfolio's outcomes, and measures. Definitions:

- **Rows.** The month-end scores (``month_end: true``) of ``scores.jsonl``, except rows at
  or after the customer's default (``default_date`` of ``outcomes.jsonl``, read as 00:00 UTC)
  and rows of customers the monitor already holds in default (``defaulted: true``).
- **Label** of a row at t: 1 if the default falls in (t, t + H months]. A row whose horizon
  ends after the observed period (the latest event time in the run's outputs) has no label:
  outcomes.jsonl only knows defaults inside the period, so a 0 there would be a guess. Such
  rows count for warnings and customer-years, not for the label metrics.
- **auc, pr_auc** (average precision), **brier** and the **calibration** table over the
  labelled rows; **top_decile_capture**: the share of positive rows that rank in the
  riskiest 10% of their month's rows (ties split fractionally, `top_share_capture`).
- **auc_within_month**: the AUC within each month end's rows, averaged with each month
  weighted by its positive rows: the ranking a desk works with, month by month. The pooled
  ``auc`` also compares rows of different months, so it moves with each month's level.
- **auc_by_lead**: the AUC over rows that far ahead of a default, per window of months
  ahead: the next month, 2 to 5 months, and 6 months to the horizon. A window's positives
  are the rows whose default falls in it; its negatives are the rows with no default within
  the horizon; rows whose default falls in another window are left out. "AUC one month
  before a default" is the first window; "6-8 months before" the last, for H = 8.
- **calibration_after_first_year**: the monitor's calibration table over the labelled rows
  from 12 months after the first month end, its expected calibration error (the rows' mean
  distance between a band's mean PD and its observed rate), and the bands of 200 rows or
  more whose observed rate lies outside 0.67–1.5 times their mean PD (``bands_off``).
- **champions**: which model scored the month ends: runs of consecutive month ends scored
  by one model (the name before the digest in ``model_version``: the prior scorecard, then
  the learned model chosen champion), each with its first and last month end, its rows,
  and over its labelled rows their AUC, the calibration error and the mean PD against the
  observed rate. A change of champion moves the PDs of the whole book at once, so ranking
  and calibration are read per run as well as over the whole period. Each run after the
  first also says why the learner chose its model (from the run's ``models.jsonl``):
  ``decided_by`` (``validation_window`` or ``since_refit``) and ``compared``, the labels,
  positives and each model's AUC of the comparison that decided.
- **First lasting warning**: a customer's first early_warning or escalation before its
  default that no ``resolved`` follows within 3 months. **defaulters_warned_6m**: among the
  defaulters whose first month-end row lies 6 or more months before their default (only
  they could have been warned that early), the share whose first lasting warning came 6 or
  more calendar months ahead; **median_lead_months** over the warned ones among them.
  **defaulters_warned_6m_until_default**: the stricter share whose warning standing at the
  default began 6 or more months ahead (a warning resolved before the default, however long
  it stood, does not count; a rule's warning never resolves, so for a rule both agree).
- **healthy_under_warning_per_1000**: of the month-end rows of customers that did not default
  within 12 months (rows whose 12 months end inside the period), how many per 1,000 stood
  under a warning: the desk's cost of holding warnings, which false warnings (counted when
  issued) do not show.
- **false_warnings_per_1000_customer_years**: warnings (early_warning and escalation) to
  customers who did not default within 12 months of the warning, per 1,000 customer-years
  (month-end rows / 12). Only warnings whose 12 months end inside the period are judged,
  and customer-years are counted over the same months.
- **Baselines** on the same rows, from the features the run recorded: ``dpd60`` scores
  the worst days past due, max(max_dpd, tl_dpd) (missing: 0), and flags 60 or more;
  ``altman_z`` scores -Z'' (missing: the median of the present scores, i.e. neutral) and
  flags Z'' < 1.1; both warn once, at the first month-end
  row meeting the rule, and their 0/1 flag is their probability for brier and calibration.
  ``batch``: a HistGradientBoostingClassifier trained offline on the first half of the
  months with hindsight labels, scored on the second half; it warns a customer the first
  month it ranks within the monitor's alert budget (``policy.budget_per_1000``, or
  ``policy.budget``) of that month. Its metrics are for the second half; ``second_half``
  repeats the monitor and the rule baselines on that half (a warning the monitor still had
  standing when the half began counts as issued then). ``second_half.batch_known``: the same
  model fitted only on the labels known at the split (horizon closed before it), as a live
  model's would be. The hindsight model also learns from the last horizon's months before
  the split, whose positives include customers that default in the second half, on rows
  much like those it is then scored on. Either batch model is absent where the labels it
  would learn from are not of both kinds (a book only a few months long).
- **at_rule_false_warnings**: per rule, the monitor's defaulters_warned_6m at the rule's
  own false-warning rate, read off the budget trade-off (linear between budgets; null
  beyond them), beside the rule's, and their ratio; the same for
  defaulters_warned_6m_until_default (``ratio_until_default``); under ``other_shapes``, the
  same read off each curve of ``shape_tradeoff``.
- **budget_tradeoff**: the warning policy (`detectors.policy.WarningPolicy`) replayed over
  the month-end rows with other alert budgets, ranks taken within each month's rows; each
  budget's new warnings per month per 1,000 customers, defaulters_warned_6m,
  median_lead_months, false warnings and precision_12m (the share of judged warnings
  followed by a default within 12 months), over the whole period. The policy decides only at
  month ends, so the replay at the configured budget comes close to the run's own warnings.
- **shape_tradeoff**: the same trade-off for other shapes of warning
  (`flows.tradeoff.OTHER_SHAPES`: resolved after 3 or 12 calm month ends, with or without
  escalation alerts), each but the configured one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.settings import Settings
from detectors.clock import add_months, to_rfc3339
from detectors.records import EARLY_KINDS
from detectors.term import cumulative_pd
from flows import metrics as m
from flows.assessment import TOP_DECILE, Assessment, assess, band_json, label_leads, round_or_none
from flows.baselines import (
    ALTMAN_DISTRESS,
    DPD_THRESHOLD,
    Warner,
    altman,
    batch_training,
    batch_warner,
    dpd60,
    rule_warner,
)
from flows.choices import MODEL_CHOICES, handover, load_choices
from flows.monthends import Rows, load_alerts, load_rows, period_end
from flows.outcomes import load_defaults, require_outcomes
from flows.run import DEADLETTER, SCORES, WARNINGS, read_jsonl
from flows.tradeoff import Shape, at_rule_rates, policy_tradeoffs

METRICS = "metrics.json"
RUN_DIR = "run"
SETTLED_MONTHS = 12
"""Calibration is judged from this many months after the start (the first year is scored
mostly by the prior scorecard, before labels are known)."""


@dataclass(frozen=True)
class Evaluation:
    """Assessments by warner name, over the whole period and over its second half."""

    full: dict[str, Assessment]
    second_half: dict[str, Assessment]
    start: int
    split: int
    end: int
    months: int
    customers: int
    defaulters: int
    customer_months: int = 0
    new_warnings: int = 0
    tradeoffs: list[tuple[Shape, list[dict[str, Any]]]] = field(default_factory=list)
    """Per shape of the policy (`flows.tradeoff.Shape`), the configured one first, its
    budget trade-off."""
    settled_from: int = 0
    settled: list[m.CalibrationBin] = field(default_factory=list)
    """The monitor's calibration over the labelled rows from ``settled_from``, a year after
    the start: the first year is scored mostly before any label is known."""
    settled_terms: list[dict[str, Any]] = field(default_factory=list)
    """The same for each horizon of the term structure (`term_calibration`)."""
    champions: list[dict[str, Any]] = field(default_factory=list)
    """Runs of month ends scored by one model, with their calibration (`champion_runs`)."""


def observed_defaults(rows: Rows, defaults: dict[str, int | None],
                      end: int) -> dict[str, int | None]:
    """The outcomes as the run's period saw them: every customer of the run has one
    (`flows.outcomes.require_outcomes`); a default after the period's ``end`` is none the
    period saw (its warnings would count as leads of years)."""
    require_outcomes(rows.customers, defaults, "the outcomes")
    return {customer: None if at is None or at > end else at
            for customer, at in defaults.items()}


def evaluate_run(settings: Settings, run: Path, defaults: dict[str, int | None]) -> Evaluation:
    """Assess a finished run (``run`` holds its scores.jsonl and warnings.jsonl) against the
    outcomes' ``defaults`` (`flows.outcomes.load_defaults`)."""
    rows = load_rows(run / SCORES, defaults)
    if not rows.times:
        rejected = len(read_jsonl(run / DEADLETTER))
        why = (f"{rejected} records were rejected (see {run / DEADLETTER})" if rejected
               else "is the period under a month, or are the outcomes of another period, "
                    "with every customer's default before it?")
        raise ConfigError(f"no month-end scores before a default in {run / SCORES}: {why}")
    warnings = read_jsonl(run / WARNINGS)
    end = period_end(rows, warnings)
    defaults = observed_defaults(rows, defaults, end)
    horizon = settings.horizon_months
    labels: list[int | None] = [
        m.horizon_label(t, defaults.get(c), horizon) if add_months(t, horizon) <= end else None
        for c, t in zip(rows.customers, rows.times, strict=True)
    ]
    months = sorted(set(rows.times))
    split = months[len(months) // 2]
    full = list(range(len(rows.times)))
    second = [i for i in full if rows.times[i] >= split]
    leads = label_leads(rows, defaults, labels, horizon)
    alerts = load_alerts(warnings)
    rules = {"dpd60": dpd60(rows), "altman_z": altman(rows)}

    def period(index: list[int], since: int | None) -> dict[str, Assessment]:
        pds = [rows.pds[i] for i in index]
        warners = {"monitor": Warner(pds, pds, alerts)}
        warners.update({name: rule_warner(rows, s, f, index) for name, (s, f) in rules.items()})
        return {name: assess(rows, index, labels, w, defaults, end, since, leads)
                for name, w in warners.items()}

    second_half = period(second, split)
    p = settings.policy
    for name, known_within in (("batch", None), ("batch_known", horizon)):
        train = batch_training(rows, labels, split, known_within)
        if len({labels[i] for i in train}) < 2:
            continue  # too short a first half: no label, or labels of one kind, to learn
        batch = batch_warner(rows, labels, train, p.budget_per_1000 / 1000, second, p.budget)
        second_half[name] = assess(rows, second, labels, batch, defaults, end, split, leads)
    seen = set(rows.customers)
    settled_from = add_months(rows.times[0], SETTLED_MONTHS)
    settled = [i for i in full if rows.times[i] >= settled_from and labels[i] is not None]
    return Evaluation(
        full=period(full, None), second_half=second_half, start=rows.times[0], split=split,
        end=end, months=len(months), customers=len(seen),
        defaulters=sum(1 for c in seen if defaults.get(c) is not None),
        customer_months=len(rows.times),
        new_warnings=sum(1 for a in alerts if a.kind == EARLY_KINDS[0]),
        tradeoffs=policy_tradeoffs(rows, settings, defaults, end),
        settled_from=settled_from,
        settled=m.calibration_table([labels[i] for i in settled], [rows.pds[i] for i in settled]),
        settled_terms=term_calibration(rows, defaults, end, settled_from, horizon),
        champions=champion_runs(rows, labels, load_choices(run / MODEL_CHOICES)),
    )


def champion_runs(rows: Rows, labels: Sequence[int | None],
                  choices: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The month ends in runs scored by one model, in time order: the model, the first and
    last month end, the month ends and rows, and over the run's labelled rows their number,
    their AUC (None without both outcomes), the calibration error and the mean PD against
    the observed rate (None without labels); and from ``choices`` (`load_choices`), the
    comparison that handed the run its model (None for the first run)."""
    months: dict[int, list[int]] = {}
    for i, at in enumerate(rows.times):  # rows are in time order
        months.setdefault(at, []).append(i)
    out = []
    for model, run in groupby(months.items(), key=lambda month: rows.models[month[0]]):
        ends = list(run)
        index = [i for _, month in ends for i in month]
        labelled = [i for i in index if labels[i] is not None]
        outcomes, pds = [labels[i] for i in labelled], [rows.pds[i] for i in labelled]
        summary = calibration_summary(m.calibration_table(outcomes, pds))
        out.append({
            "model": model, "from": to_rfc3339(ends[0][0]), "to": to_rfc3339(ends[-1][0]),
            "month_ends": len(ends), "rows": len(index), "labelled_rows": summary["rows"],
            "auc": round_or_none(m.roc_auc(outcomes, pds)),
            "calibration_error": summary["error"], "mean_pd": summary["mean_pd"],
            "observed_rate": summary["observed_rate"],
            **handover(choices.get(to_rfc3339(ends[0][0]))),
        })
    return out


def term_calibration(rows: Rows, defaults: dict[str, int | None], end: int, since: int,
                     horizon_months: int) -> list[dict[str, Any]]:
    """Per horizon of the published term structure: over the month-end rows from ``since``
    whose outcome at that horizon is known by ``end``, the calibration error and mean
    P(default within it) against the observed rate, beside those of a constant monthly
    hazard from the same PDs (what the learned curve must improve on)."""
    out = []
    for months, pds in sorted(rows.terms.items()):
        closes = {t: add_months(t, months) for t in set(rows.times)}
        index = [i for i, t in enumerate(rows.times) if t >= since and closes[t] <= end]
        if not index:
            continue
        labels = [m.horizon_label(rows.times[i], defaults.get(rows.customers[i]), months)
                  for i in index]
        flat = m.calibration_table(
            labels, [cumulative_pd(rows.pds[i], horizon_months, months) for i in index])
        out.append({"months": months,
                    **calibration_summary(m.calibration_table(labels, [pds[i] for i in index])),
                    "constant_hazard_error": m.calibration_error(flat),
                    "constant_hazard_mean_pd": calibration_summary(flat)["mean_pd"]})
    return out


def metrics_json(evaluation: Evaluation, settings: Settings) -> dict[str, Any]:
    """The contents of metrics.json: the monitor's metrics at the top, then the baselines,
    the second-half comparison and the alert budget."""
    full, half = evaluation.full, evaluation.second_half
    monitor = full["monitor"]
    months = max(1, evaluation.months)
    (_, tradeoff), *others = evaluation.tradeoffs
    rules = {name: full[name].metrics for name in ("dpd60", "altman_z")}
    at_rule = at_rule_rates(tradeoff, rules)
    for reading in at_rule.values():
        reading["other_shapes"] = []
    for shape, lines in others:
        for name, reading in at_rule_rates(lines, rules).items():
            at_rule[name]["other_shapes"].append(
                {**shape.as_json(), **{key: value for key, value in reading.items()
                                       if key.startswith(("monitor", "ratio"))}})
    return {
        **monitor.metrics,
        "baselines": {
            "dpd60": full["dpd60"].metrics,
            "altman_z": full["altman_z"].metrics,
            **({"batch": half["batch"].metrics} if "batch" in half else {}),
        },
        "second_half": {"from": to_rfc3339(evaluation.split),
                        **{name: a.metrics for name, a in half.items()}},
        "alert_budget": {
            "budget_per_1000": settings.policy.budget_per_1000,
            "budget": settings.policy.budget,
            "warn_from_grade": settings.policy.warn_from_grade,
            "resolve_after_months": settings.policy.resolve_after_months,
            "escalation_alerts": settings.policy.escalation_alerts,
            "warnings": monitor.metrics["counts"]["warnings"],
            "warnings_per_month": round(monitor.metrics["counts"]["warnings"] / months, 1),
            "new_warnings_per_month": round(evaluation.new_warnings / months, 1),
            "new_warnings_per_month_per_1000": round(
                1000 * evaluation.new_warnings / max(1, evaluation.customer_months), 2),
        },
        "budget_tradeoff": tradeoff,
        "shape_tradeoff": [{**shape.as_json(), "lines": lines} for shape, lines in others],
        "at_rule_false_warnings": at_rule,
        "calibration_after_first_year": settled_calibration(evaluation),
        "term_calibration_after_first_year": evaluation.settled_terms,
        "champions": evaluation.champions,
        "definitions": {
            "horizon_months": settings.horizon_months,
            "lasting_months": m.LASTING_MONTHS,
            "lead_months": m.LEAD_MONTHS,
            "false_window_months": m.FALSE_WINDOW_MONTHS,
            "top_decile": TOP_DECILE,
            "dpd_threshold": DPD_THRESHOLD,
            "altman_distress": ALTMAN_DISTRESS,
        },
        "period": {"start": to_rfc3339(evaluation.start), "split": to_rfc3339(evaluation.split),
                   "end": to_rfc3339(evaluation.end), "customers": evaluation.customers,
                   "defaulters": evaluation.defaulters},
    }


def settled_calibration(evaluation: Evaluation) -> dict[str, Any]:
    """The monitor's calibration after its first year: the error, the mean PD against the
    observed rate, the bands of enough rows outside the bounds, and the table."""
    table = evaluation.settled
    return {
        "from": to_rfc3339(evaluation.settled_from),
        **calibration_summary(table),
        "band_bounds": {"min_rows": m.BAND_MIN_ROWS, "ratio": list(m.BAND_RATIO)},
        "bands_off": [band_json(b) for b in m.bands_off(table)],
    }


def calibration_summary(table: list[m.CalibrationBin]) -> dict[str, Any]:
    """A calibration table as metrics.json gives it: its rows, error, mean PD against the
    observed rate, and the bands."""
    rows = sum(b.rows for b in table)
    return {
        "rows": rows,
        "error": m.calibration_error(table),
        "mean_pd": round(sum(b.rows * b.mean_pd for b in table) / rows, 5) if rows else None,
        "observed_rate": (round(sum(b.rows * b.observed_rate for b in table) / rows, 5)
                          if rows else None),
        "table": [band_json(b) for b in table],
    }


def evaluate(settings: Settings, feeds: Path, report: Path, *, outcomes: Path | None = None,
             workers: int = 1, processes: int = 1) -> dict[str, Any]:
    """Stream ``feeds`` through the monitor into ``report/run`` (on ``workers`` workers in
    each of ``processes`` processes: the same scores on any number), then write
    ``report/metrics.json``, ``report/report.html`` and its PNG figures; return the metrics."""
    from flows.cluster import run_job
    from flows.job import Job, SourceSpec
    from flows.report import write_report  # matplotlib is the optional "report" extra

    settings = settings.model_copy(
        update={"audit": settings.audit.model_copy(update={"enabled": False})}
    )
    # Read before the run, so that a damaged outcome fails in a second rather than after it.
    outcomes = outcomes or feeds / "outcomes.jsonl"
    defaults = load_defaults(outcomes)
    if not defaults:
        raise ConfigError(f"{outcomes} holds no outcome: one line per customer of the book")
    run = report / RUN_DIR
    run_job(Job(settings, SourceSpec("folder", {"path": str(feeds)}), run, scores=True,
                notify=False, workers=workers, processes=processes))
    evaluation = evaluate_run(settings, run, defaults)
    metrics = metrics_json(evaluation, settings)
    (report / METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_report(report, metrics, evaluation)
    return metrics
