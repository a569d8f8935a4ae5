"""The pre-sale check: approve, refer or decline a new order, with the reasons.

A desk asks before it ships: may this customer take ``amount`` more on credit? The answer
weighs the order against what the monitor knows of the customer when last scored (its
`Position`: grade, PD, exposure, limits, any warning still open), by a rule written here and
nowhere else:

- **decline** when the customer has defaulted or is graded E;
- **refer** (to a credit analyst) when nothing is known of the customer, no credit limit is
  on file, the order takes exposure above the credit limit, an early warning is still open,
  the grade is `PresaleRules.refer_from_grade` or worse, the payment terms are longer than
  `PresaleRules.max_terms_days`, or, at `PresaleRules.insured_from_grade` or worse, the
  order takes exposure above the insured limit;
- **approve** otherwise.

Every reason found is listed, the deciding ones first; the figures go with the answer so a
reviewer sees what it rested on. Amounts are in the reporting currency, as the monitor
holds them.

>>> rules = PresaleRules()
>>> good = Position("C1", grade="B", pd=0.03, defaulted=False, exposure=4000.0,
...                 credit_limit=20000.0, insured_limit=10000.0, open_warning=None)
>>> check(good, 5000.0, 60, rules).outcome
'approve'
>>> check(good, 17000.0, 60, rules).outcome
'refer'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.grading import GRADES

APPROVE, REFER, DECLINE = "approve", "refer", "decline"


@dataclass(frozen=True, slots=True)
class PresaleRules:
    """The desk's rules for new orders."""

    refer_from_grade: str = "D"
    insured_from_grade: str = "C"
    max_terms_days: int = 90


@dataclass(frozen=True, slots=True)
class Position:
    """What the monitor knew of a customer when it last scored it."""

    customer_id: str
    grade: str
    pd: float
    defaulted: bool
    exposure: float | None
    """In the reporting currency, as are the limits; None when the customer's currency had
    no exchange rate on the day (the order cannot be weighed against its limits then)."""
    credit_limit: float | None
    insured_limit: float | None
    open_warning: str | None
    """The kind of the customer's latest warning when no resolution followed it."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The outcome, the reasons in words and the figures they rest on."""

    outcome: str
    reasons: list[str]
    figures: dict[str, float | str | None] = field(default_factory=dict)


def check(position: Position | None, amount: float, terms_days: int | None,
          rules: PresaleRules) -> Answer:
    """The answer to an order of ``amount`` on ``terms_days`` for ``position`` (None: a
    customer the monitor has not scored)."""
    if position is None:
        return Answer(REFER, ["the monitor has no score for this customer"])
    known = position.exposure is not None
    after = (position.exposure or 0.0) + amount
    figures: dict[str, float | str | None] = {
        "grade": position.grade, "pd": position.pd,
        "exposure": None if position.exposure is None else round(position.exposure, 2),
        "exposure_after": round(after, 2) if known else None,
        "credit_limit": position.credit_limit, "insured_limit": position.insured_limit,
        "expected_loss_of_order": round(position.pd * _uninsured_part(position, amount), 2),
    }
    declines, refers = [], []
    if position.defaulted:
        declines.append("the customer has defaulted")
    if position.grade == GRADES[-1]:
        declines.append(f"grade {position.grade} (PD {position.pd:.1%})")
    if not known:
        refers.append("no exchange rate for the customer's currency on the day of its latest "
                      "score: its exposure and limits in the reporting currency are unknown")
    elif position.credit_limit is None:
        refers.append("no credit limit on file")
    elif after > position.credit_limit:
        refers.append(f"exposure after the order, {after:,.2f}, is above the credit limit, "
                      f"{position.credit_limit:,.2f}")
    if position.open_warning is not None and not position.defaulted:
        refers.append(f"an open warning ({position.open_warning})")
    if _at_or_worse(position.grade, rules.refer_from_grade) and not declines:
        refers.append(f"grade {position.grade} (PD {position.pd:.1%})")
    if terms_days is not None and terms_days > rules.max_terms_days:
        refers.append(f"payment terms of {terms_days} days are longer than "
                      f"{rules.max_terms_days}")
    insured = position.insured_limit or 0.0
    if known and _at_or_worse(position.grade, rules.insured_from_grade) and after > insured:
        refers.append(f"at grade {position.grade}, exposure after the order, {after:,.2f}, "
                      f"is above the insured limit, {insured:,.2f}")
    if declines:
        return Answer(DECLINE, declines + refers, figures)
    if refers:
        return Answer(REFER, refers, figures)
    return Answer(APPROVE, [f"grade {position.grade} (PD {position.pd:.1%}), no open warning",
                            _within(position, after)], figures)


def _uninsured_part(position: Position, amount: float) -> float:
    """The share of the order above the insured limit, in money."""
    insured = position.insured_limit or 0.0
    covered = max(0.0, min(amount, insured - (position.exposure or 0.0)))
    return amount - covered


def _within(position: Position, after: float) -> str:
    assert position.credit_limit is not None
    return (f"exposure after the order, {after:,.2f}, is within the credit limit, "
            f"{position.credit_limit:,.2f}")


def _at_or_worse(grade: str, bound: str) -> bool:
    return GRADES.index(grade) >= GRADES.index(bound)
