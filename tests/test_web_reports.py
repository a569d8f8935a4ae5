"""The portfolio page's reading of ``metrics.json`` (`web.reports.evaluation`) on files it
cannot trust to be current or well formed: an older version's, a hostile one, none. The page
itself, on a real evaluation, is tested in a browser (tests/test_web_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

from web.app import templates
from web.reports import evaluation, replay_reports

LINE = {"budget_per_1000": 30.0, "budget": None, "configured": True,
        "new_warnings_per_month_per_1000": 9.0, "defaulters_warned_6m": 0.3,
        "median_lead_months": 6.0, "false_warnings_per_1000_customer_years": 120.0,
        "precision_12m": 0.15}
BAND = {"pd_from": 0.0, "pd_to": 0.01, "rows": 100, "mean_pd": 0.005, "observed_rate": 0.004}
PRIOR_RUN = {"model": "prior", "from": "2021-02-01T00:00:00Z", "to": "2022-05-01T00:00:00Z",
             "auc": 0.72, "calibration_error": 0.007, "decided_by": None, "compared": None}


def _read(tmp_path: Path, metrics: object) -> dict:
    (tmp_path / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return evaluation(tmp_path)


def test_an_older_metrics_file_shows_what_it_has(tmp_path: Path) -> None:
    """No shapes, at-rule readings, settled calibration or newer columns: the trade-off
    shows with those cells empty, the rules from their baselines' own points, and the
    whole period's calibration table."""
    shown = _read(tmp_path, {
        "budget_tradeoff": [LINE, {**LINE, "budget_per_1000": 50.0, "configured": False}],
        "alert_budget": {"budget_per_1000": 30.0, "budget": None, "resolve_after_months": 3},
        "baselines": {"dpd60": {"defaulters_warned_6m": 0.5,
                                "false_warnings_per_1000_customer_years": 200.0}},
        "calibration": [BAND], "calibration_error": 0.002})
    columns = [key for key, _, _ in shown["columns"]]
    configured = shown["tradeoff"][0]
    assert configured["configured"] and not shown["tradeoff"][1]["configured"]
    assert configured["cells"][0] == "30 per 1,000 a month"
    assert configured["cells"][columns.index("defaulters_warned_6m")] == 0.3
    assert configured["cells"][columns.index("healthy_under_warning_per_1000")] is None
    assert shown["shape"] == "resolved after 3 calm month ends"
    [rule] = shown["rules"]
    assert (rule["rule_warned_6m"], rule["false_warnings"], rule["ratio"]) == (0.5, 200.0, None)
    assert shown["shapes"] == []
    assert shown["calibration"]["error"] == 0.002
    assert shown["calibration"]["bands"] == [{**BAND, "off": False}]
    assert shown["plot"] is not None and len(shown["plot"].curves) == 1
    assert len(shown["plot"].marks) == 1 and shown["plot"].ring is not None


def test_a_malformed_metrics_file_is_read_without_failing(tmp_path: Path) -> None:
    shown = _read(tmp_path, {
        "budget_tradeoff": [{"budget_per_1000": "<script>", "budget": "1e9 <b>",
                             "defaulters_warned_6m": "all", "configured": "yes"}, 7, None],
        "alert_budget": ["not", "a", "dict"],
        "shape_tradeoff": {"lines": "none"},
        "at_rule_false_warnings": {"dpd60": {"rule_warned_6m": True,
                                             "false_warnings_per_1000_customer_years": 1}},
        "calibration_after_first_year": {"table": "bands", "bands_off": [1]},
        "champions": [{**PRIOR_RUN, "auc": 10 ** 400, "calibration_error": float("nan"),
                       "compared": {"auc": {"online": float("inf")}, "labels": "many"}}]})
    [row] = shown["tradeoff"]
    assert row["cells"][0] == "" and set(row["cells"][1:]) == {None}
    assert row["configured"] is False
    assert shown["rules"] == [] and shown["shapes"] == [] and shown["calibration"] is None
    assert shown["plot"] is None
    [run] = shown["champions"]
    assert (run["auc"], run["calibration_error"], run["compared"], run["labels"]) == (
        None, None, [("Online logistic regression", None)], None)


def test_each_champion_run_is_shown_with_what_handed_it_the_book(tmp_path: Path) -> None:
    """The page's table of champions: the prior's run scores from the start; a handover
    names its comparison, the rows and defaults it held and each model's AUC, in words;
    a run of an older file, without a handover, says none was recorded; a hostile model
    name is escaped."""
    trees = {**PRIOR_RUN, "model": "boosted", "from": "2022-06-01T00:00:00Z",
             "decided_by": "since_refit", "compared": {
                 "labels": 3000, "positives": 450,
                 "auc": {"calibrated": 0.70, "online": 0.71, "boosted": 0.75}}}
    older = {"model": "<b>x", "from": "2023-01-01T00:00:00Z", "to": None, "auc": 0.8}
    shown = _read(tmp_path, {"champions": [PRIOR_RUN, trees, older]})
    page = templates().get_template("_champions.html").render(evaluation=shown)
    rows = page.split('<td class="handover">')[1:]
    assert [row.split("</td>")[0] for row in rows] == [
        "scores from the start",
        "the labels since the last refit (3,000 month-end rows, 450 followed by a default): "
        "Prior scorecard, calibrated 0.700 · Online logistic regression 0.710 · "
        "Boosted trees 0.750",
        "not recorded"]
    assert "<td>&lt;b&gt;x</td><td>2023-01-01</td><td></td>" in page


def test_no_metrics_file_shows_nothing(tmp_path: Path) -> None:
    for content in (None, "not json"):
        if content is not None:
            (tmp_path / "metrics.json").write_text(content, encoding="utf-8")
        shown = evaluation(tmp_path)
        assert shown["tradeoff"] is None and shown["calibration"] is None
        assert shown["rules"] == [] and shown["plot"] is None and shown["champions"] == []


def test_a_replay_report_is_read_for_what_it_holds(tmp_path: Path) -> None:
    """The auditor's view reads replay reports it cannot trust: a verdict is identical only
    where ``ok`` is true itself; the choices of model need a whole, non-negative count (an
    older report has none), and at most ten month ends are listed, with their total."""
    reports = {
        "older": {"ok": True, "logged_warnings": 3},
        "odd": {"ok": "false", "choices_compared": True, "choices_differing": "2022"},
        "huge": {"ok": True, "choices_compared": 10**400},
        "nan": {"ok": True, "choices_compared": float("nan")},
        "many": {"ok": True, "choices_compared": 30,
                 "choices_differing": [f"2022-{m:02d}" for m in range(1, 13)] + [{"x": 1}]},
    }
    for name, report in reports.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "replay-report.json").write_text(json.dumps(report))
    read = {r["where"].split("/")[0]: r for r in replay_reports(tmp_path)}
    assert {name: (r["ok"], r["choices"]) for name, r in read.items() if name != "many"} == {
        "older": (True, None), "odd": (False, None), "huge": (True, None), "nan": (True, None)}
    assert read["many"]["choices"] == {
        "compared": 30, "total": 13, "differing": [f"2022-{m:02d}" for m in range(1, 11)]}
