"""A recommended credit limit per customer, from its PD over the payment terms, its insured
limit and the desk's appetite for loss, with the reasoning in words.

The desk states its appetite as an expected-loss budget per customer
(`LimitRules.loss_budget`, in the reporting currency). Credit granted on ``terms_days`` is
at risk for about the terms plus a month of collection; the PD over that time comes from the
customer's published PD term structure (`detectors.term.within`). The part of the limit
above the insured limit is lost in a default (times `LimitRules.loss_given_default`), so
the largest limit whose expected loss stays within the budget is

    recommended = insured limit + budget / (PD over the time at risk x loss given default)

rounded down to `LimitRules.step`, at most `LimitRules.cap_multiple` times the current limit
(a model should not multiply a limit the desk set), and 0 for a customer in default or graded
E. Exposure above the current or the insured limit is reported beside it.

>>> rules = LimitRules(loss_budget=1000.0)
>>> term = [(3, 0.0152), (6, 0.0302), (8, 0.04), (12, 0.0594)]
>>> advice = recommend("C1", grade="B", term=term, defaulted=False, exposure=12000.0,
...                    credit_limit=20000.0, insured_limit=10000.0, terms_days=60,
...                    rules=rules)
>>> advice.recommended_limit, round(advice.pd_at_risk, 4)
(40000.0, 0.0152)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from detectors.term import within

COLLECTION_MONTHS = 1.0
"""Time an overdue invoice stays at risk after its due date, before it is collected or
written off."""


@dataclass(frozen=True, slots=True)
class LimitRules:
    """The desk's appetite: expected loss allowed per customer, loss given default on the
    uninsured part, and how far a recommendation may go above the current limit."""

    loss_budget: float = 2500.0
    loss_given_default: float = 1.0
    cap_multiple: float = 2.0
    step: float = 1000.0


@dataclass(frozen=True, slots=True)
class LimitAdvice:
    customer_id: str
    current_limit: float | None
    recommended_limit: float
    pd_at_risk: float
    exposure: float
    insured_limit: float | None
    reasons: tuple[str, ...]


def recommend(customer_id: str, *, grade: str, term: Sequence[tuple[int, float]],
              defaulted: bool, exposure: float, credit_limit: float | None,
              insured_limit: float | None, terms_days: int,
              rules: LimitRules) -> LimitAdvice:
    """The recommended limit for one customer, with why; ``term`` is its PD term
    structure, ``(months, P(default within them))`` at ascending horizons."""
    months = terms_days / 30.0 + COLLECTION_MONTHS
    at_risk = within(term, months)
    insured = insured_limit or 0.0
    reasons = [f"PD over {months:.0f} months at risk ({terms_days} days' terms and a month "
               f"of collection): {at_risk:.2%}"]
    if defaulted or grade == "E":
        reasons.append("in default or graded E: no new credit")
        recommended = 0.0
    else:
        loss_rate = max(at_risk * rules.loss_given_default, 1e-9)  # a PD of 0 is no licence
        uninsured = rules.loss_budget / loss_rate
        recommended = insured + uninsured
        reasons.append(f"an expected-loss budget of {rules.loss_budget:,.0f} allows "
                       f"{uninsured:,.0f} above the insured limit of {insured:,.0f}")
        if credit_limit is not None and recommended > rules.cap_multiple * credit_limit:
            recommended = rules.cap_multiple * credit_limit
            reasons.append(f"capped at {rules.cap_multiple:g} times the current limit")
        recommended = math.floor(recommended / rules.step) * rules.step
    if credit_limit is not None and exposure > credit_limit:
        reasons.append(f"exposure {exposure:,.2f} is above the current limit "
                       f"{credit_limit:,.2f}")
    if insured_limit is not None and exposure > insured_limit:
        reasons.append(f"exposure {exposure:,.2f} is above the insured limit "
                       f"{insured_limit:,.2f}")
    return LimitAdvice(customer_id, credit_limit, float(recommended), at_risk, exposure,
                       insured_limit, tuple(reasons))
