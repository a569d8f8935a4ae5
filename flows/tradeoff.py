"""The alert-budget trade-off of `flows.evaluate`: the warning policy replayed over a run's
month-end rows with other budgets, to show what each would have cost and caught; and the
same for other shapes of warning (`OTHER_SHAPES`: how long a warning is held, and whether
a worse grade alerts again), the other settings a desk chooses.

The policy (`detectors.policy.WarningPolicy`) decides only at month ends, from the grade and
the rank, so replaying it over the month-end rows gives (up to the ranks, which the replay
takes within each month's rows) the warnings a run with that budget would have issued; the
model's scores do not depend on the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from config.settings import Settings
from detectors.grading import grade_of
from detectors.policy import WarningPolicy, budget_ranks
from detectors.records import EARLY_KINDS
from flows import metrics as m
from flows.assessment import caught, round_or_none
from flows.monthends import Rows, month_ranks

__all__ = ["TRADEOFF_BUDGETS", "OTHER_SHAPES", "Shape", "policy_alerts", "policy_tradeoffs",
           "at_rule_rates"]

TRADEOFF_BUDGETS = (2.5, 5.0, 10.0, 20.0, 30.0, 50.0, 80.0, 120.0)
"""Alert budgets (new warnings per month per 1,000 customers) of the trade-off table."""


@dataclass(frozen=True)
class Shape:
    """How the policy holds and repeats a warning: besides the budget, what a desk sets
    (``policy.resolve_after_months`` and ``policy.escalation_alerts``)."""

    resolve_after_months: int
    escalation_alerts: bool

    @classmethod
    def configured(cls, settings: Settings) -> Shape:
        p = settings.policy
        return cls(p.resolve_after_months, p.escalation_alerts)

    def as_json(self) -> dict[str, Any]:
        return {"resolve_after_months": self.resolve_after_months,
                "escalation_alerts": self.escalation_alerts}


OTHER_SHAPES = (Shape(3, True), Shape(12, True), Shape(12, False))
"""The shapes the trade-off replays besides the configured one: warnings resolved after 3
calm month ends, after 12, and after 12 without escalation alerts (nearest the way a rule
warns: once, and for long)."""


def policy_alerts(rows: Rows, settings: Settings, budget_per_1000: float,
                  budget: int | None = None, shape: Shape | None = None) -> list[m.Alert]:
    """The warning policy replayed over the month-end rows with the given alert budget (and
    the configured shape unless given)."""
    return _replay(rows, settings, _Ranked.of(rows, settings), budget_per_1000, budget,
                   shape or Shape.configured(settings))


@dataclass(frozen=True)
class _Ranked:
    """Per month-end row: its grade, its rank in its month and the month's size. They do not
    depend on the budget, so the trade-off works them out once."""

    grades: list[str]
    ranks: dict[int, int]
    sizes: dict[int, int]

    @classmethod
    def of(cls, rows: Rows, settings: Settings) -> _Ranked:
        ranks, sizes = month_ranks(rows, dict(enumerate(rows.pds)))
        bounds = settings.policy.grade_bounds
        return cls([grade_of(pd, bounds) for pd in rows.pds], ranks, sizes)


def _replay(rows: Rows, settings: Settings, ranked: _Ranked, budget_per_1000: float,
            budget: int | None, shape: Shape) -> list[m.Alert]:
    p = settings.policy
    policies: dict[str, WarningPolicy] = {}
    alerts: list[m.Alert] = []
    for i, (customer, at) in enumerate(zip(rows.customers, rows.times, strict=True)):
        policy = policies.get(customer)
        if policy is None:
            policy = policies[customer] = WarningPolicy(
                p.warn_from_grade, p.resolve_below_grade, shape.resolve_after_months,
                shape.escalation_alerts)
        decision = policy.decide(ranked.grades[i], ranked.ranks[i],
                                 budget_ranks(budget_per_1000, ranked.sizes[i], budget))
        if decision is not None:
            alerts.append(m.Alert(customer, at, decision.kind))
    return alerts


def policy_tradeoffs(rows: Rows, settings: Settings, defaults: dict[str, int | None],
                     end: int) -> list[tuple[Shape, list[dict[str, Any]]]]:
    """Per shape, the configured one first and then `OTHER_SHAPES`, its budget trade-off."""
    configured = Shape.configured(settings)
    ranked = _Ranked.of(rows, settings)
    return [(shape, _budget_tradeoff(rows, settings, ranked, shape, shape == configured,
                                     defaults, end))
            for shape in (configured, *(s for s in OTHER_SHAPES if s != configured))]


def _budget_tradeoff(rows: Rows, settings: Settings, ranked: _Ranked, shape: Shape,
                     configured: bool, defaults: dict[str, int | None], end: int,
                     ) -> list[dict[str, Any]]:
    """One line per alert budget of `TRADEOFF_BUDGETS` (and the configured one): what the
    policy of ``shape`` (the ``configured`` one or not) would have warned over the whole
    period. ``precision_12m`` is the
    share of the judged warnings whose customer defaulted within 12 months: the line to
    read for a precision target."""
    p = settings.policy
    budgets = sorted({*((b, None) for b in TRADEOFF_BUDGETS), (p.budget_per_1000, p.budget)},
                     key=lambda b: (b[1] is not None, b[1] or b[0]))
    index = list(range(len(rows.times)))
    months = max(1, len(set(rows.times)))
    customer_months = len(rows.times)
    out = []
    for per_1000, absolute in budgets:
        alerts = _replay(rows, settings, ranked, per_1000, absolute, shape)
        found = caught(rows, index, alerts, defaults, end, None)
        new = sum(1 for x in alerts if x.kind == EARLY_KINDS[0])
        judged = found.false.judged
        out.append({
            "budget_per_1000": per_1000, "budget": absolute,
            "configured": configured and (per_1000, absolute) == (p.budget_per_1000, p.budget),
            "new_warnings_per_month_per_1000": round(1000 * new / customer_months, 2),
            "new_warnings_per_month": round(new / months, 1),
            "defaulters_warned_6m": round_or_none(found.leads.warned_6m_share),
            "defaulters_warned_6m_until_default": round_or_none(
                found.standing.warned_6m_share),
            "median_lead_months": round_or_none(found.leads.median_lead_months, 2),
            "false_warnings_per_1000_customer_years":
                round_or_none(found.false.per_1000_customer_years, 1),
            "healthy_under_warning_per_1000": round_or_none(found.healthy_under_warning, 1),
            "warnings": len(found.warnings),
            "precision_12m": round(1 - found.false.false / judged, 4) if judged else None,
        })
    return out


def at_rule_rates(tradeoff: list[dict[str, Any]],
                  rules: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per rule, the monitor's share of defaulters warned 6+ months ahead at the rule's own
    rate of false warnings, read off the monitor's trade-off curve (linear between its
    budgets; None beyond them), and its ratio to the rule's share; the same for the share
    still warned at the default (a rule's warning never resolves, so its share is the same).

    >>> curve = [{"false_warnings_per_1000_customer_years": 50.0, "defaulters_warned_6m": 0.2,
    ...           "defaulters_warned_6m_until_default": 0.1},
    ...          {"false_warnings_per_1000_customer_years": 150.0, "defaulters_warned_6m": 0.4,
    ...           "defaulters_warned_6m_until_default": 0.3}]
    >>> rule = {"false_warnings_per_1000_customer_years": 100.0, "defaulters_warned_6m": 0.25,
    ...         "defaulters_warned_6m_until_default": 0.25}
    >>> reading = at_rule_rates(curve, {"dpd60": rule})["dpd60"]
    >>> reading["ratio"], reading["ratio_until_default"]
    (1.2, 0.8)
    """
    out = {}
    for name, rule in rules.items():
        rate = rule["false_warnings_per_1000_customer_years"]
        reading: dict[str, Any] = {"false_warnings_per_1000_customer_years": rate,
                                   "rule_warned_6m": rule["defaulters_warned_6m"]}
        for key, suffix in (("defaulters_warned_6m", ""),
                            ("defaulters_warned_6m_until_default", "_until_default")):
            share = rule.get(key)
            monitor = _at_rate(tradeoff, key, rate)
            reading[f"monitor_warned_6m{suffix}"] = round_or_none(monitor)
            reading[f"ratio{suffix}"] = (round(monitor / share, 3)
                                         if monitor is not None and share else None)
        out[name] = reading
    return out


def _at_rate(tradeoff: list[dict[str, Any]], key: str, rate: float | None) -> float | None:
    """``key`` of the trade-off at a rate of false warnings, linear between its lines (None
    beyond them)."""
    points = sorted((p["false_warnings_per_1000_customer_years"], p[key]) for p in tradeoff
                    if p["false_warnings_per_1000_customer_years"] is not None
                    and p.get(key) is not None)
    if rate is None or not points or not points[0][0] <= rate <= points[-1][0]:
        return None
    return float(np.interp(rate, *zip(*points, strict=True)))
