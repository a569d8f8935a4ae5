"""The evaluation metrics against small cases worked out by hand, and `creditradar evaluate`
end to end on a small simulated portfolio."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from config.settings import Settings
from detectors.clock import parse_time
from flows import metrics as m
from flows.baselines import altman, batch_warner, dpd60
from flows.choices import handover
from flows.monthends import Rows, in_top_share, load_rows


def t(year: int, month: int, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp())


def test_horizon_label_counts_defaults_in_the_half_open_window() -> None:
    # Row at 2021-01-01, H = 6: the window is (2021-01-01, 2021-07-01].
    assert m.horizon_label(t(2021, 1), t(2021, 7), 6) == 1  # on the last day: in
    assert m.horizon_label(t(2021, 1), t(2021, 7, 2), 6) == 0  # a day later: out
    assert m.horizon_label(t(2021, 1), t(2021, 1), 6) == 0  # at the row itself: out
    assert m.horizon_label(t(2021, 1), None, 6) == 0


def test_a_lead_window_keeps_its_own_defaults_and_the_rows_without_one() -> None:
    jan = t(2021, 1)
    assert m.lead_label(jan, t(2021, 2), (1, 1), 8) == 1  # a month ahead, to the day: in
    assert m.lead_label(jan, t(2021, 2, 2), (1, 1), 8) is None  # later: another window's
    assert m.lead_label(jan, t(2021, 6, 2), (6, 8), 8) == 1  # the first day of the 6th month
    assert m.lead_label(jan, t(2021, 6, 1), (6, 8), 8) is None
    assert m.lead_label(jan, t(2021, 9, 2), (6, 8), 8) == 0  # after the horizon: a negative
    assert m.lead_label(jan, None, (2, 5), 8) == 0
    assert m.lead_windows(6) == [(1, 1), (2, 5), (6, 6)]


def test_roc_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    # Positives 0.9, 0.4; negatives 0.8, 0.3. Pairs: (.9,.8) ok, (.9,.3) ok, (.4,.8) wrong,
    # (.4,.3) ok -> 3/4.
    assert m.roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.3]) == pytest.approx(0.75)
    # Positives .9, .5; negatives .9, .2, .6. Pos .9: tie (1/2) + 2 wins = 2.5; pos .5: one
    # win (.2) = 1 -> 3.5 / 6.
    assert m.roc_auc([1, 0, 0, 1, 0], [0.9, 0.9, 0.2, 0.5, 0.6]) == pytest.approx(3.5 / 6)
    assert m.roc_auc([0, 0], [0.1, 0.2]) is None


def test_pr_auc_is_average_precision() -> None:
    # Thresholds from the top: .9 -> P 1, R 1/2; .8 -> P 1/2, R 1/2; .4 -> P 2/3, R 1.
    # AP = 1/2 * 1 + 0 * 1/2 + 1/2 * 2/3 = 5/6.
    assert m.pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.3]) == pytest.approx(5 / 6)
    recall, precision = m.pr_points([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.3])
    # The curve starts from the lowest threshold (every row flagged): R 1, P 2/4.
    assert (recall[0], precision[0]) == (1.0, 0.5)


def test_brier_is_the_mean_squared_error() -> None:
    # (1 - .8)^2 = .04, (0 - .3)^2 = .09 -> mean .065.
    assert m.brier([1, 0], [0.8, 0.3]) == pytest.approx(0.065)
    assert m.brier([], []) is None


def test_calibration_table_bins_by_predicted_pd() -> None:
    # .005 -> [0, .01); .015 and .018 -> [.01, .02); .6 and 1.0 -> [.5, 1].
    table = m.calibration_table([0, 1, 0, 1, 1], [0.005, 0.015, 0.018, 0.6, 1.0])
    assert [(b.low, b.rows) for b in table] == [(0.0, 1), (0.01, 2), (0.5, 2)]
    assert table[1].mean_pd == pytest.approx(0.0165) and table[1].observed_rate == 0.5
    assert table[2].mean_pd == pytest.approx(0.8) and table[2].observed_rate == 1.0


def test_top_share_capture_splits_ties_fractionally() -> None:
    # Two months of ten rows, top 10% = one slot each. Month A: the top row is one of its two
    # positives -> 1. Month B: two rows tie at the top, one positive -> 1/2 in expectation.
    # Captured 1.5 of 3 positives.
    groups = ["A"] * 10 + ["B"] * 10
    labels = [1, 1] + [0] * 8 + [1, 0] + [0] * 8
    scores = [0.9, 0.1] + [0.5] * 8 + [0.9, 0.9] + [0.2] * 8
    assert m.top_share_capture(groups, labels, scores, 0.1) == pytest.approx(0.5)
    assert m.top_share_capture(["A"], [0], [0.3]) is None


def test_window_alerts_restates_standing_warnings() -> None:
    alerts = [
        m.Alert("X", t(2021, 1), "early_warning"), m.Alert("X", t(2021, 3), "resolved"),
        m.Alert("X", t(2021, 5), "early_warning"), m.Alert("Y", t(2021, 1), "early_warning"),
    ]
    # From April: X's January warning was resolved (dropped), its May one stays; Y's January
    # warning still stands, so it counts as issued on April 1.
    assert m.window_alerts(alerts, t(2021, 4)) == [
        m.Alert("X", t(2021, 5), "early_warning"), m.Alert("Y", t(2021, 4), "early_warning"),
    ]


def test_first_lasting_warning_skips_warnings_resolved_within_three_months() -> None:
    alerts = [
        # X: January warning resolved on March 1 (within (Jan 1, Apr 1]) -> not lasting;
        # May warning resolved in September (after Aug 1) -> lasting.
        m.Alert("X", t(2021, 1), "early_warning"), m.Alert("X", t(2021, 3), "resolved"),
        m.Alert("X", t(2021, 5), "early_warning"), m.Alert("X", t(2021, 9), "resolved"),
        # W: resolved exactly three months later (Apr 1 is in the window) -> not lasting.
        m.Alert("W", t(2021, 1), "early_warning"), m.Alert("W", t(2021, 4), "resolved"),
        # Y: warned, then defaulted six weeks later with nothing resolved -> lasting.
        m.Alert("Y", t(2021, 1), "early_warning"),
        # Z: the only warning comes after the default -> none.
        m.Alert("Z", t(2021, 6), "escalation"),
    ]
    defaults = {"X": None, "W": None, "Y": t(2021, 2, 15), "Z": t(2021, 5)}
    assert m.first_lasting_warnings(alerts, defaults) == {"X": t(2021, 5), "Y": t(2021, 1)}


def test_lead_stats_count_eligible_defaulters_only() -> None:
    seen = {c: t(2021, 1) for c in ("X", "Y", "V", "U", "N")}
    defaults = {"X": t(2022, 1), "Y": t(2021, 6), "V": t(2021, 9), "U": t(2021, 12), "N": None}
    warned = {"X": t(2021, 5), "V": t(2021, 5), "Y": t(2021, 2)}
    stats = m.lead_stats(warned, defaults, seen)
    # Y defaults before Jul 1 (6 months after it was first seen): not eligible. Eligible: X,
    # V, U. X warned May 1 for Jan 1: 245 days, and Nov 1 <= Jan 1 -> in time; V warned
    # May 1 for Sep 1: 123 days, not in time; U never warned. Share 1/3.
    assert (stats.eligible_defaulters, stats.warned, stats.warned_6m) == (3, 2, 1)
    assert stats.warned_6m_share == pytest.approx(1 / 3)
    # Median of 245 and 123 days in months of 30.4375 days: 184 / 30.4375 = 6.045.
    assert stats.median_lead_months == pytest.approx(184 / 30.4375)


def test_false_warnings_per_thousand_customer_years() -> None:
    defaults = {"X": t(2022, 1), "N": None, "V": t(2021, 9), "Y": t(2021, 6)}
    warnings = [("X", t(2021, 5)), ("N", t(2021, 2)), ("V", t(2020, 6)), ("Y", t(2021, 7))]
    # X defaults within 12 months (true); N never defaults (false); V defaults 15 months
    # after its warning (false); Y's warning comes after its default (no warning).
    # 2 false over 120 customer-months = 10 customer-years -> 200 per 1,000.
    result = m.false_warnings(warnings, defaults, customer_months=120)
    assert (result.judged, result.false) == (3, 2)
    assert result.per_1000_customer_years == pytest.approx(200.0)
    # Judged only where the 12 months end by 2022-01-01: V's (ends 2021-06-01) alone.
    late = m.false_warnings(warnings, defaults, customer_months=60, judged_until=t(2022, 1))
    assert (late.judged, late.false, late.per_1000_customer_years) == (1, 1, 200.0)


def _rows(features: list[dict[str, float]], customers: list[str], times: list[int]) -> Rows:
    names = sorted({k for f in features for k in f})
    matrix = np.array([[f.get(n, np.nan) for n in names] for f in features])
    return Rows(customers, times, [0.0] * len(times), names, matrix)


def test_rule_baselines_from_recorded_features() -> None:
    rows = _rows(
        [{"max_dpd": 70.0}, {"tl_dpd": 60.0, "altman_z2": 0.5}, {"max_dpd": 10.0, "altman_z2": 3.0},
         {}],
        ["A", "B", "C", "D"], [t(2021, 1)] * 4,
    )
    score, flag = dpd60(rows)
    assert flag.tolist() == [True, True, False, False] and score.tolist() == [70, 60, 10, 0]
    score, flag = altman(rows)
    # -Z'' where present (-0.5, -3.0); missing -> their median, -1.75 (neutral).
    assert score.tolist() == [-1.75, -0.5, -3.0, -1.75]
    assert flag.tolist() == [False, True, False, False]


def test_a_warning_resolved_before_the_default_is_lasting_but_not_standing() -> None:
    # A: warned 12 months ahead, resolved 4 months later (lasting: no resolution within 3
    # months), warned again 2 months ahead and escalated. B: warned 8 months ahead and
    # still warned at its default, through an escalation.
    alerts = [m.Alert("A", t(2021, 1), "early_warning"), m.Alert("A", t(2021, 5), m.RESOLVED),
              m.Alert("A", t(2021, 11), "early_warning"), m.Alert("A", t(2021, 12), "escalation"),
              m.Alert("B", t(2021, 5), "early_warning"), m.Alert("B", t(2021, 9), "escalation")]
    defaults = {"A": t(2022, 1), "B": t(2022, 1)}
    assert m.first_lasting_warnings(alerts, defaults) == {"A": t(2021, 1), "B": t(2021, 5)}
    assert m.standing_warnings(alerts, defaults) == {"A": t(2021, 11), "B": t(2021, 5)}
    first_seen = {"A": t(2020, 1), "B": t(2020, 1)}
    lasting = m.lead_stats(m.first_lasting_warnings(alerts, defaults), defaults, first_seen)
    standing = m.lead_stats(m.standing_warnings(alerts, defaults), defaults, first_seen)
    assert (lasting.warned_6m, standing.warned_6m) == (2, 1)


def test_healthy_under_warning_counts_judged_rows_of_customers_who_did_not_default() -> None:
    alerts = [m.Alert("A", t(2021, 2), "early_warning"), m.Alert("A", t(2021, 4), m.RESOLVED),
              m.Alert("D", t(2021, 1), "early_warning")]
    rows = [("A", t(2021, month)) for month in range(1, 7)] + [("D", t(2021, 1))]
    # D defaults within 12 months: not healthy. A's rows of Feb and Mar are under warning;
    # with data to June 2022 only A's rows up to June 2021 are judged: 2 of 6.
    defaults = {"D": t(2021, 9)}
    assert m.healthy_under_warning(alerts, rows, defaults, t(2022, 6)) == 1000 * 2 / 6
    # Data to March 2022: only A's rows of Jan to Mar are judged, two of them under warning.
    assert m.healthy_under_warning(alerts, rows, defaults, t(2022, 3)) == 1000 * 2 / 3
    assert m.healthy_under_warning(alerts, rows, defaults, t(2021, 12)) is None


def test_in_top_share_ranks_within_each_month() -> None:
    rows = _rows([{}] * 4, ["A", "B", "C", "D"], [t(2021, 1)] * 2 + [t(2021, 2)] * 2)
    # Half of each month: the riskier of A/B (B) and of C/D (C).
    assert in_top_share(rows, {0: 0.1, 1: 0.2, 2: 0.9, 3: 0.3}, 0.5) == [
        False, True, True, False,
    ]


def test_the_batch_model_leaves_out_a_feature_its_training_rows_never_have() -> None:
    """A first half too short to have some feature (a trajectory needs months) still fits
    the hindsight model on the features it has, and scores the second half by them."""
    rng = np.random.default_rng(3)
    signal = rng.normal(size=200)
    late = np.where(np.arange(200) < 100, np.nan, rng.normal(size=200))  # second half only
    rows = Rows([f"C{i % 50}" for i in range(200)], [i // 50 for i in range(200)],
                [0.1] * 200, ["signal", "trajectory"], np.column_stack([signal, late]))
    labels: list[int | None] = [int(v > 0.8) for v in signal]
    train, second = list(range(100)), list(range(100, 200))
    warner = batch_warner(rows, labels, train, 0.1, second)
    auc = m.roc_auc([labels[i] for i in second], warner.scores)
    assert auc is not None and auc > 0.9


def test_rows_are_the_month_ends_before_a_default_the_monitor_or_the_outcomes_know(
        tmp_path: Path) -> None:
    def row(customer: str, month: int, pd: float, **more: object) -> str:
        return json.dumps({"customer_id": customer, "event_time": f"2021-0{month}-01T00:00:00Z",
                           "pd": pd, "month_end": True, "defaulted": False,
                           "model_version": "online-1", "features": {"max_dpd": 0.0}, **more})

    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join([
        row("A", 1, 0.1), row("B", 1, 0.2), row("C", 1, 0.3),
        row("A", 2, 0.1, month_end=False),  # a day's score: not a month end
        row("B", 2, 1.0, defaulted=True, model_version=None, features={}),  # in default
        row("C", 2, 0.4)]) + "\n")  # C's outcome: a default on that day
    rows = load_rows(scores, {"A": None, "B": None, "C": t(2021, 2)})
    assert list(zip(rows.customers, rows.pds, strict=True)) == [("A", 0.1), ("B", 0.2),
                                                                ("C", 0.3)]


@pytest.mark.timeout(180)
def test_evaluate_on_two_processes_gives_the_figures_of_one(tmp_path: Path) -> None:
    """``evaluate --processes 2`` runs the book on a cluster of two processes: the same
    scores and the same metrics, byte for byte, as on one."""
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds = tmp_path / "feeds"
    simulate(200, 18, 4, feeds)
    for processes in ("1", "2"):
        result = CliRunner().invoke(
            evaluate_command, ["--feeds", str(feeds), "--report", str(tmp_path / processes),
                               "--processes", processes], obj={"settings": Settings()})
        assert result.exit_code == 0, result.output
    for name in ("metrics.json", "run/scores.jsonl", "run/warnings.jsonl"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


@pytest.mark.timeout(120)
def test_a_book_too_short_to_judge_a_warning_still_gets_its_report(tmp_path: Path) -> None:
    """On a year of 80 customers no warning can be judged false yet: the trade-off plot
    leaves out the points without a false-warning rate, and every figure is written."""
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(80, 12, 3, feeds)
    result = CliRunner().invoke(evaluate_command, ["--feeds", str(feeds), "--report", str(report)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    tradeoff = json.loads((report / "metrics.json").read_text())["budget_tradeoff"]
    assert all(line["false_warnings_per_1000_customer_years"] is None for line in tradeoff)
    assert any(line["defaulters_warned_6m"] is not None for line in tradeoff)
    for name in ("report.html", "roc.png", "calibration.png", "tradeoff.png"):
        assert (report / name).stat().st_size > 0, name


@pytest.mark.timeout(120)
def test_evaluate_command_end_to_end(tmp_path: Path) -> None:
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(300, 24, 5, feeds)
    result = CliRunner().invoke(
        evaluate_command, ["--feeds", str(feeds), "--report", str(report),
                           "--horizon-months", "6"],
        obj={"settings": Settings()},
    )
    assert result.exit_code == 0, result.output
    for name in ("metrics.json", "report.html", "roc.png", "pr.png", "lead_time.png",
                 "calibration.png", "alert_volume.png", "tradeoff.png"):
        assert (report / name).stat().st_size > 0, name
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["definitions"]["horizon_months"] == 6
    assert metrics["alert_budget"]["budget_per_1000"] == Settings().policy.budget_per_1000
    tradeoff = metrics["budget_tradeoff"]
    assert [line["configured"] for line in tradeoff].count(True) == 1
    assert all(line["new_warnings_per_month_per_1000"] >= 0 for line in tradeoff)
    assert all(line["precision_12m"] is None or 0 <= line["precision_12m"] <= 1
               for line in tradeoff)
    others = metrics["shape_tradeoff"]
    assert [(h["resolve_after_months"], h["escalation_alerts"]) for h in others] == [
        (3, True), (12, False)]  # the configured (12, True) is the budget trade-off
    for line in (*tradeoff, *(line for h in others for line in h["lines"])):
        # A warning standing at the default from 6 months ahead is a lasting one too.
        strict, lasting = line["defaulters_warned_6m_until_default"], line["defaulters_warned_6m"]
        assert strict is None or strict <= lasting
    assert not any(line["configured"] for h in others for line in h["lines"])
    # Escalation alerts change what a desk is told, not which customers stand warned.
    silent = next(h["lines"] for h in others if not h["escalation_alerts"])
    assert [line["healthy_under_warning_per_1000"] for line in silent] == [
        line["healthy_under_warning_per_1000"] for line in tradeoff]
    assert all(0 <= line["healthy_under_warning_per_1000"] <= 1000 for line in tradeoff)
    for rule in metrics["at_rule_false_warnings"].values():
        assert [(r["resolve_after_months"], r["escalation_alerts"])
                for r in rule["other_shapes"]] == [(3, True), (12, False)]
    shares = ("auc", "auc_within_month", "pr_auc", "brier", "defaulters_warned_6m",
              "top_decile_capture")
    for block in (metrics, *metrics["baselines"].values(), metrics["second_half"]["monitor"]):
        for key in shares:
            assert block[key] is None or 0.0 <= block[key] <= 1.0, key
        assert block["false_warnings_per_1000_customer_years"] is None or (
            block["false_warnings_per_1000_customer_years"] >= 0
        )
    assert metrics["auc"] is not None and metrics["baselines"]["batch"]["auc"] is not None
    # The windows of months ahead split the horizon: every positive row is in one of them.
    for block in (metrics, *metrics["baselines"].values(), *(
            v for k, v in metrics["second_half"].items() if k != "from")):
        windows = block["auc_by_lead"]
        assert [(w["months_from"], w["months_to"]) for w in windows] == [(1, 1), (2, 5), (6, 6)]
        assert sum(w["positive_rows"] for w in windows) == block["counts"]["positive_rows"]
        assert all(w["auc"] is None or 0.0 <= w["auc"] <= 1.0 for w in windows)
    assert metrics["auc_by_lead"][0]["auc"] is not None
    assert metrics["auc_within_month"] is not None
    assert "auc, default 1 month ahead" in (report / "report.html").read_text()
    # The batch model without hindsight is fitted on fewer rows, so it is another model.
    half = metrics["second_half"]
    assert half["batch_known"]["auc"] is not None
    assert half["batch_known"]["brier"] != half["batch"]["brier"]


@pytest.mark.timeout(120)
def test_evaluate_writes_every_figure_for_a_card_book_with_no_warned_defaulter(
        tmp_path: Path) -> None:
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(400, 14, 5, feeds, profile="cards")
    result = CliRunner().invoke(evaluate_command, ["--feeds", str(feeds), "--report", str(report)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["counts"]["defaulters_warned_6m"] == 0
    for name in ("report.html", "lead_time.png", "calibration.png", "alert_volume.png",
                 "tradeoff.png"):
        assert (report / name).stat().st_size > 0, name


@pytest.mark.parametrize("warned", [None, 0.25])
def test_the_trade_off_figure_says_when_it_has_no_point_to_draw(warned: float | None) -> None:
    """A book whose defaulters none could be warned 6 months ahead (no default, or card
    histories too short) drew an empty plot whose legend named three curves."""
    import matplotlib.pyplot as plt

    from flows.report import DRAW

    point = {"defaulters_warned_6m": warned, "false_warnings_per_1000_customer_years": 20.0}
    metrics = {
        "alert_budget": {"resolve_after_months": 12, "escalation_alerts": True},
        "budget_tradeoff": [{**point, "configured": True}],
        "shape_tradeoff": [{"resolve_after_months": 3, "escalation_alerts": True,
                            "lines": [{**point, "configured": False}]}],
        "baselines": {"dpd60": {**point, "false_warnings_per_1000_customer_years": 101.6}},
    }
    fig, ax = plt.subplots()
    try:
        DRAW["tradeoff"](ax, None, metrics)  # type: ignore[arg-type]
        said = [text.get_text() for text in ax.texts]
        labels = ax.get_legend_handles_labels()[1]
        assert ax.get_xlim()[0] == 0
    finally:
        plt.close(fig)
    if warned is None:
        assert said == ["no defaulter that could be warned 6+ months ahead"] and labels == []
    else:
        assert said == [] and "dpd60" in labels and len(labels) == 4


@pytest.mark.timeout(120)
def test_evaluate_reports_a_book_too_short_for_the_batch_models(tmp_path: Path) -> None:
    """Three months against an 8-month horizon: no label is known by the split, so neither
    batch model can be fitted; the rest is reported (it used to stop with a traceback)."""
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(20, 3, 3, feeds)
    result = CliRunner().invoke(evaluate_command, ["--feeds", str(feeds), "--report", str(report)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert "batch" not in metrics["baselines"]
    assert {"batch", "batch_known"}.isdisjoint(metrics["second_half"])
    assert metrics["second_half"]["monitor"]["counts"]["rows"] > 0
    for name in ("report.html", "roc.png", "calibration.png", "tradeoff.png"):
        assert (report / name).stat().st_size > 0, name


@pytest.fixture(scope="module")
def calibrated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of `evaluate` on a simulated book of monthly statuses, 3,000 x 36."""
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    tmp_path = tmp_path_factory.mktemp("calibrated")
    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(3000, 36, 77, feeds, profile="monthly-status")
    result = CliRunner().invoke(evaluate_command, ["--feeds", str(feeds), "--report", str(report)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    return report


@pytest.fixture(scope="module")
def calibrated_report(calibrated_dir: Path) -> dict:
    """The metrics of that report."""
    return json.loads((calibrated_dir / "metrics.json").read_text())


@pytest.mark.timeout(180)  # the first to ask for the report runs it
def test_pds_are_calibrated_after_the_first_year(calibrated_report: dict) -> None:
    """On a simulated book of monthly statuses, the month-end PDs after the first year are
    within the bound of expected calibration error, 0.01, of the observed default rates."""
    settled = calibrated_report["calibration_after_first_year"]
    assert settled["rows"] > 20_000 and settled["observed_rate"] > 0
    assert settled["error"] <= 0.01
    assert sum(b["rows"] for b in settled["table"]) == settled["rows"]


@pytest.mark.timeout(180)
def test_the_champions_say_which_model_scored_each_month_end(calibrated_dir: Path,
                                                             calibrated_report: dict) -> None:
    """Every month end of the run lies in one run of ``champions``, in time order, and the
    run's model scored each of its rows (read back from scores.jsonl); the prior scores
    first and a learned model takes over; the runs add up to the whole period's rows and
    labelled rows; the report page lists them."""
    scored: dict[str, set[str]] = {}
    for line in (calibrated_dir / "run" / "scores.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["month_end"] and not row["defaulted"]:  # (a row in default has no model)
            model = row["model_version"].rpartition("-")[0]
            scored.setdefault(row["event_time"], set()).add(model)
    runs = calibrated_report["champions"]
    covered = []
    for run in runs:
        ends = sorted(end for end in scored if run["from"] <= end <= run["to"])
        assert ends[0] == run["from"] and ends[-1] == run["to"]
        assert len(ends) == run["month_ends"]
        assert all(scored[end] == {run["model"]} for end in ends)
        covered.extend(ends)
    assert covered == sorted(scored)
    models = [run["model"] for run in runs]
    assert models[0] == "prior" and len(models) >= 2
    assert all(before != after for before, after in zip(models, models[1:], strict=False))
    counts = calibrated_report["counts"]
    assert sum(run["rows"] for run in runs) == counts["rows"]
    assert sum(run["labelled_rows"] for run in runs) == counts["labelled_rows"]
    page = (calibrated_dir / "report.html").read_text()
    assert "Which model scored when" in page
    assert all(f"<td>{model}</td>" in page for model in models)


@pytest.mark.timeout(180)
def test_each_champion_run_names_the_comparison_that_handed_it_the_book(
        calibrated_report: dict, calibrated_dir: Path) -> None:
    """Every run after the prior's names the comparison that handed it the book, and that
    comparison ranks the run's model as the rule that decided requires; the report page
    shows it. The prior's run was handed nothing."""
    runs = calibrated_report["champions"]
    assert runs[0]["decided_by"] is None and runs[0]["compared"] is None
    margin = Settings().model.champion_margin
    page = (calibrated_dir / "report.html").read_text()
    for run in runs[1:]:
        compared = run["compared"]
        auc = compared["auc"]
        if run["decided_by"] == "since_refit":
            assert max(auc, key=auc.get) == run["model"]
        else:
            assert run["decided_by"] == "validation_window"
            learned = [a for name, a in auc.items() if name != "prior"]
            assert auc[run["model"]] >= max(learned) - margin
        assert 0 < compared["positives"] < compared["labels"]
        assert f"<td>{run['decided_by']}</td>" in page
        assert f"{run['model']} {auc[run['model']]:.3f}" in page
        assert f"{compared['labels']:,} labels, {compared['positives']:,} positives" in page


@pytest.mark.timeout(180)
def test_each_champion_run_gives_its_own_ranking(calibrated_dir: Path,
                                                 calibrated_report: dict) -> None:
    """The prior scorecard's run of month ends carries the AUC of its own rows, as an
    outside scorer reads it from scores.jsonl and the outcomes: a default within the 8
    months after the month end."""
    from sklearn.metrics import roc_auc_score

    prior = calibrated_report["champions"][0]
    defaults = {}
    for line in (calibrated_dir.parent / "feeds" / "outcomes.jsonl").read_text().splitlines():
        outcome = json.loads(line)
        defaults[outcome["customer_id"]] = outcome["default_date"]
    outcomes, pds = [], []
    for line in (calibrated_dir / "run" / "scores.jsonl").read_text().splitlines():
        row = json.loads(line)
        if not row["month_end"] or row["defaulted"] or not (
                prior["from"] <= row["event_time"] <= prior["to"]):
            continue
        start = datetime.fromisoformat(row["event_time"])
        months = start.month + 8
        end = start.replace(year=start.year + (months - 1) // 12, month=(months - 1) % 12 + 1)
        default = defaults[row["customer_id"]]
        outcomes.append(int(default is not None
                            and start.date().isoformat() < default <= end.date().isoformat()))
        pds.append(row["pd"])
    assert prior["model"] == "prior" and prior["labelled_rows"] == len(outcomes)
    assert 0 < sum(outcomes) < len(outcomes)
    assert prior["auc"] == pytest.approx(roc_auc_score(outcomes, pds), abs=1e-4)
    assert all(run["auc"] is None or 0.5 < run["auc"] < 1 for run in calibrated_report["champions"])


@pytest.mark.timeout(300)
def test_a_handover_gives_the_comparison_that_decided_it() -> None:
    window = {"labels": 5000, "positives": 90, "auc": {"online": 0.80}, "log_loss": {}}
    since = {"labels": 3000, "positives": 450, "auc": {"online": 0.70, "boosted": 0.75},
             "log_loss": {}}
    line = {"decided_by": "since_refit", "validation_window": window, "since_refit": since}
    assert handover(line) == {"decided_by": "since_refit", "compared": {
        "labels": 3000, "positives": 450, "auc": {"online": 0.70, "boosted": 0.75}}}
    stayed = {**line, "decided_by": None}
    assert handover(stayed) == handover(None) == {"decided_by": None, "compared": None}


def test_every_pd_band_comes_true_after_the_first_year(tmp_path: Path) -> None:
    """On a receivables book of 2,000 x 36 (run on two processes, to be sooner), every PD band
    of 200 rows or more after the first year defaults at 0.67-1.5 times its mean PD: the
    scorecard that is champion while labels are few is fitted to them from the first
    labelled month end (when it stepped towards them, PDs above 0.2 defaulted at a third of
    their level for most of a year)."""
    from connectors.simulator import simulate
    from flows.evaluate_cli import evaluate_command

    feeds, report = tmp_path / "feeds", tmp_path / "report"
    simulate(2000, 36, 11, feeds)
    result = CliRunner().invoke(evaluate_command, ["--feeds", str(feeds), "--report", str(report),
                                                   "--processes", "2"],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    settled = json.loads((report / "metrics.json").read_text())["calibration_after_first_year"]
    assert sum(b["rows"] >= 200 for b in settled["table"]) >= 5
    assert settled["bands_off"] == []
    assert settled["error"] <= 0.01


@pytest.mark.timeout(180)
def test_every_change_of_champion_is_recorded_with_what_it_compared(
        calibrated_dir: Path, calibrated_report: dict) -> None:
    """models.jsonl has a line at each month end where a champion was chosen: where the
    model of the scores changed, it names the models before and after, the version that
    scored from then, and the validation window's AUCs, by which the new champion ranked
    within the margin of the best learned model; where the model stayed, nothing changed."""
    versions: dict[str, set[str]] = {}
    for line in (calibrated_dir / "run" / "scores.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["month_end"] and not row["defaulted"]:
            versions.setdefault(row["event_time"], set()).add(row["model_version"])
    choices = {c["month_end"]: c for c in map(
        json.loads, (calibrated_dir / "run" / "models.jsonl").read_text().splitlines())}
    runs = calibrated_report["champions"]
    assert len(runs) >= 2
    settings = Settings().model
    for before, after in zip(runs, runs[1:], strict=False):
        choice = choices[after["from"]]
        assert (choice["previous"], choice["champion"]) == (before["model"], after["model"])
        assert choice["decided_by"] in {"validation_window", "since_refit"}
        assert versions[after["from"]] == {choice["model_version"]}
        if choice["decided_by"] == "validation_window":
            auc = choice["validation_window"]["auc"]
            learned = [a for name, a in auc.items() if name != "prior"]  # (never chosen)
            assert auc[choice["champion"]] >= max(learned) - settings.champion_margin
            assert choice["validation_window"]["positives"] >= settings.min_positives
    changed = {run["from"] for run in runs[1:]}
    for end, choice in choices.items():
        assert (choice["decided_by"] is None) == (end not in changed)
        assert end not in versions or versions[end] == {choice["model_version"]}


@pytest.fixture(scope="module")
def two_workers(calibrated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book of the evaluation run again on two workers and three buckets of customers
    (the evaluation's run has one of each), with scores and its audit log: its output
    folder."""
    from config.settings import EngineSettings
    from flows.run import run_folder

    out = tmp_path_factory.mktemp("two-workers") / "out"
    settings = Settings().model_copy(update={"engine": EngineSettings(buckets=3)})
    run_folder(settings, calibrated_dir.parent / "feeds", out, scores=True, workers=2,
               notify=False)
    return out


@pytest.mark.timeout(240)
def test_two_workers_and_a_replay_choose_the_same_champions_and_write_the_same_bytes(
        calibrated_dir: Path, calibrated_report: dict, two_workers: Path,
        tmp_path: Path) -> None:
    """The book of the evaluation, run again on two workers and three buckets and then
    replayed from that run's audit log on one and on two workers: its refits, its changes
    of champion and every output the learner shapes come out byte for byte the same."""
    from flows.replay import replay
    from flows.run import AUDIT, MODEL_CHOICES, SCORES, WARNINGS, WATCHLIST

    assert len(calibrated_report["champions"]) >= 3  # a book where the champion moves
    evaluated = calibrated_dir / "run"
    for name in (SCORES, MODEL_CHOICES, WARNINGS, WATCHLIST):
        assert (two_workers / name).read_bytes() == (evaluated / name).read_bytes(), name
    for workers in (1, 2):
        replayed = tmp_path / f"replay-{workers}"
        report = replay(two_workers / AUDIT, replayed, Settings(), workers=workers)
        assert report.ok, "\n".join(report.lines())
        assert report.choices_differing == [] and report.choices_compared == len(
            (two_workers / MODEL_CHOICES).read_text().splitlines())
        for name in (MODEL_CHOICES, WARNINGS, WATCHLIST):
            assert (replayed / name).read_bytes() == (evaluated / name).read_bytes(), name


def _runs_of_models(scores: Path) -> list[dict[str, str]]:
    """From a run's scores alone: the runs of month ends scored by one model, each with its
    model, its first month end, its middle month end and a customer scored then."""
    models: dict[str, set[str]] = {}
    customers: dict[str, str] = {}
    for row in map(json.loads, scores.read_text().splitlines()):
        if row["month_end"] and not row["defaulted"]:
            models.setdefault(row["event_time"], set()).add(
                row["model_version"].rpartition("-")[0])
            customers.setdefault(row["event_time"], row["customer_id"])
    runs: list[tuple[str, list[str]]] = []
    for month in sorted(models):
        (model,) = models[month]  # one model scores a month end
        if runs and runs[-1][0] == model:
            runs[-1][1].append(month)
        else:
            runs.append((model, [month]))
    return [{"model": model, "from": months[0], "at": months[len(months) // 2],
             "customer": customers[months[len(months) // 2]]} for model, months in runs]


@pytest.mark.timeout(240)
def test_an_auditor_sees_which_model_scored_and_what_handed_it_the_book(
        two_workers: Path, tmp_path: Path) -> None:
    """`explain` of a customer in each model's months names the model that scored (the one
    in the score's ``model_version``), the month end it took the book (the first month end
    its scores show) and the comparison that handed it over; `audit export` of a warning
    says the same; `audit models` lists the same takeovers; a ``models.jsonl`` cut before
    the latest takeover is flagged."""
    from flows.audit_cli import audit
    from flows.explain import explain, export_warning, format_explanation
    from flows.run import AUDIT, MODEL_CHOICES, SCORES, WARNINGS, read_jsonl

    runs = _runs_of_models(two_workers / SCORES)
    assert runs[0]["model"] == "prior" and len(runs) >= 3
    for run in runs:
        doc = explain(run["customer"], parse_time(run["at"]), two_workers / AUDIT, Settings())
        choice = doc["model_choice"]
        assert doc["score"]["model_version"].startswith(f"{run['model']}-")
        assert choice["champion"] == run["model"] and choice["consistent"]
        assert doc["notes"] == []
        if run["model"] == "prior":
            assert choice["since"] is None and "scores from the start" in format_explanation(doc)
            continue
        assert choice["since"] == run["from"]
        assert choice["decided_by"] in {"validation_window", "since_refit"}
        assert choice["compared"]["positives"] > 0 and run["model"] in choice["compared"]["auc"]
        assert (f"champion since {run['from'][:10]}, handed the book by"
                in format_explanation(doc))

    shown = CliRunner().invoke(audit, ["models", "--log", str(two_workers / AUDIT), "--json"])
    assert shown.exit_code == 0, shown.output
    assert [(c["champion"], c["since"]) for c in json.loads(shown.output)] == [
        (run["model"], None if run["model"] == "prior" else run["from"]) for run in runs]

    last = runs[-1]
    warning = next(w for w in read_jsonl(two_workers / WARNINGS) if w["event_time"] > last["from"]
                   and w["model_version"].startswith(f"{last['model']}-"))
    exported = export_warning(two_workers / AUDIT, warning["warning_id"], None, Settings())
    assert exported["model_choice"]["since"] == last["from"]
    assert exported["model_choice"]["model_version"] == warning["model_version"]

    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / SCORES).write_bytes((two_workers / SCORES).read_bytes())
    kept = [line for line in (two_workers / MODEL_CHOICES).read_text().splitlines()
            if json.loads(line)["month_end"] < last["from"]]
    (cut / MODEL_CHOICES).write_text("".join(f"{line}\n" for line in kept))
    doc = explain(last["customer"], parse_time(last["at"]), two_workers / AUDIT, Settings(),
                  scores=cut / SCORES)
    choice = doc["model_choice"]
    assert not choice["consistent"] and choice["champion"] != last["model"]
    assert any("not the model that scored" in note for note in doc["notes"])


@pytest.mark.timeout(180)
def test_the_learned_term_structure_is_calibrated_and_beats_a_constant_hazard(
        calibrated_report: dict) -> None:
    """Each horizon of the published term structure is calibrated after the first year, and
    at 3 months the learned curve is nearer the observed rates than a constant hazard."""
    terms = {t["months"]: t for t in calibrated_report["term_calibration_after_first_year"]}
    assert sorted(terms) == [3, 6, 8, 12]
    for term in terms.values():
        assert term["rows"] > 10_000 and term["error"] <= 0.01
    assert terms[8]["error"] == calibrated_report["calibration_after_first_year"]["error"]
    assert terms[3]["error"] < terms[3]["constant_hazard_error"]
