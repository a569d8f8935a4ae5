"""The warning policy against small cases worked out by hand: the alert budget as ranks,
decisions at month ends only, and resolution after calm month ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.settings import PolicySettings, Settings
from detectors.policy import Decision, WarningPolicy, budget_ranks
from flows.monthends import Rows
from flows.run import WARNINGS, read_jsonl, run_folder
from flows.tradeoff import Shape, policy_alerts


def kinds(policy: WarningPolicy, steps: list[tuple[str, int, bool]],
          budget: float = 10) -> list[str | None]:
    """Decisions for (grade, rank, month_end) steps, as kinds (None: no decision)."""
    out = []
    for grade, rank, month_end in steps:
        decision = policy.decide(grade, rank, budget, month_end=month_end)
        out.append(decision.kind if decision else None)
    return out


def test_budget_in_ranks_per_1000_absolute_and_at_least_one() -> None:
    # 10 per 1,000 of 2,000 customers: the 20 riskiest; absolute 5 wins; 2.5 per 1,000 of
    # 200 is half a customer, rounded up to the riskiest one.
    assert budget_ranks(10, 2000) == 20
    assert budget_ranks(10, 2000, absolute=5) == 5
    assert budget_ranks(2.5, 200) == 1


def test_month_end_warns_within_the_budget_and_grade_only() -> None:
    # Budget 20 ranks: rank 20 at grade C is warned, rank 21 is not, grade B at rank 1 not.
    assert kinds(WarningPolicy(), [("C", 20, True)], budget=20) == ["early_warning"]
    assert kinds(WarningPolicy(), [("C", 21, True)], budget=20) == [None]
    assert kinds(WarningPolicy(), [("B", 1, True)], budget=20) == [None]
    # With warn_from="D", grade C at rank 1 is not enough.
    assert kinds(WarningPolicy(warn_from="D"), [("C", 1, True), ("D", 1, True)]) == [
        None, "early_warning"]


def test_scores_between_month_ends_decide_nothing() -> None:
    policy = WarningPolicy(resolve_after=1)
    # Mid-month: grade E at rank 1 does not warn before the month end.
    assert kinds(policy, [("E", 1, False), ("E", 1, False)]) == [None, None]
    assert kinds(policy, [("C", 5, True)]) == ["early_warning"]
    # Warned; mid-month it turns calm and hot again many times: no resolution, no re-fire,
    # no escalation (the old policy resolved and re-warned on every such swing).
    assert kinds(policy, [("A", 900, False), ("E", 1, False)] * 5) == [None] * 10
    assert policy.active == "C" and policy.calm == 0


def test_resolution_needs_calm_month_ends_in_a_row() -> None:
    policy = WarningPolicy(resolve_after=3)
    steps = [("D", 2, True),     # warned
             ("B", 50, True),    # calm 1 (grade below C)
             ("C", 30, True),    # calm 2 (rank 30 > twice the budget of 10)
             ("C", 15, True),    # not calm (C and within 20): the count starts again
             ("B", 50, True), ("B", 50, False), ("A", 99, True),  # calm 1, (mid-month), 2
             ("B", 50, True)]    # calm 3: resolved
    assert kinds(policy, steps) == ["early_warning", None, None, None, None, None, None,
                                    "resolved"]
    assert policy.active is None
    # Once resolved, the next hot month end warns again.
    assert kinds(policy, [("C", 3, True)]) == ["early_warning"]


def test_escalation_only_when_the_grade_worsens_at_a_month_end() -> None:
    policy = WarningPolicy()
    got = [policy.decide(g, r, 10, month_end=me)
           for g, r, me in [("C", 4, True), ("C", 2, True), ("E", 1, False), ("E", 15, True),
                            ("D", 1, True), ("E", 1, True)]]
    assert got == [Decision("early_warning", None), None, None, Decision("escalation", "C"),
                   None, None]
    # Grade E at rank 25 (beyond twice the budget) is calm: no escalation.
    calm = WarningPolicy()
    assert kinds(calm, [("C", 1, True), ("E", 25, True)]) == ["early_warning", None]


def test_without_escalation_alerts_a_worse_grade_is_taken_silently() -> None:
    quiet = WarningPolicy(escalate=False, resolve_after=1)
    assert kinds(quiet, [("C", 4, True), ("E", 1, True)]) == ["early_warning", None]
    assert quiet.active == "E"  # the watchlist's grade, and the resolution's
    assert quiet.decide("A", 99, 10) == Decision("resolved", "E")


@pytest.mark.timeout(180)
def test_a_run_without_escalation_alerts_gives_the_same_warnings_less_escalations(
        tmp_path: Path) -> None:
    from connectors.simulator import simulate

    feeds = tmp_path / "feeds"
    simulate(200, 24, 5, feeds)

    def warnings(settings: Settings, out: str) -> list[tuple[str, str, str]]:
        run_folder(settings, feeds, tmp_path / out, notify=False)
        return [(w["customer_id"], w["event_time"], w["kind"])
                for w in read_jsonl(tmp_path / out / WARNINGS)]

    alerted = warnings(Settings(), "alerted")
    quiet = warnings(Settings(policy=PolicySettings(escalation_alerts=False)), "quiet")
    assert any(kind == "escalation" for *_, kind in alerted)
    assert [w for w in alerted if w[2] != "escalation"] == quiet


def test_the_desk_and_the_policy_share_the_settings_defaults() -> None:
    from detectors.desk import DeskSettings

    assert DeskSettings.from_settings(Settings()) == DeskSettings()
    assert WarningPolicy().resolve_after == Settings().policy.resolve_after_months
    assert WarningPolicy().escalate == Settings().policy.escalation_alerts


def test_the_replay_follows_the_shape_it_is_given() -> None:
    # One customer, budget of one rank: warned at C, worse (E) a month later, then calm for
    # four month ends. Resolved after 3 calm month ends, or held; escalated, or silent.
    rows = Rows(["A"] * 6, [1, 2, 3, 4, 5, 6], [0.1, 0.5, 0.01, 0.01, 0.01, 0.01], [],
                np.zeros((6, 0)))

    def kinds(shape: Shape) -> list[tuple[int, str]]:
        return [(a.at, a.kind) for a in policy_alerts(rows, Settings(), 500, shape=shape)]

    assert kinds(Shape(3, True)) == [(1, "early_warning"), (2, "escalation"), (5, "resolved")]
    assert kinds(Shape(12, True)) == [(1, "early_warning"), (2, "escalation")]
    assert kinds(Shape(12, False)) == [(1, "early_warning")]


def test_settings_migrate_top_share_and_resolve_after_snapshots() -> None:
    assert PolicySettings(top_share=0.05).budget_per_1000 == pytest.approx(50)
    assert PolicySettings(top_share=0.05, budget_per_1000=8).budget_per_1000 == 8
    assert PolicySettings(resolve_after_snapshots=4).resolve_after_months == 4
    assert PolicySettings().budget_per_1000 == 30 and PolicySettings().budget is None
    with pytest.raises(ValueError):
        PolicySettings(budget_per_1000=0)


def test_replayed_policy_on_month_end_rows() -> None:
    # Two month ends, two customers each; budget 500 per 1,000 of 2 rows: the riskiest one.
    # Month 1: A (pd .5, grade E) is warned, B (.1, C) ranks 2nd. Month 2: B (.6) ranks 1st
    # and is warned; A (.01, grade A) is calm for its first month end.
    rows = Rows(["A", "B", "A", "B"], [1, 1, 2, 2], [0.5, 0.1, 0.01, 0.6], [],
                np.zeros((4, 0)))
    alerts = policy_alerts(rows, Settings(), budget_per_1000=500)
    assert [(a.customer_id, a.at, a.kind) for a in alerts] == [
        ("A", 1, "early_warning"), ("B", 2, "early_warning")]
