"""Warnings from decisions: the record a desk receives, with reasons and evidence."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from detectors import features
from detectors.clock import DAY, to_rfc3339
from detectors.features import INDEX, JUDGMENT, OTHER
from detectors.grading import ACTIONS, GRADES, SEVERITY
from detectors.hard import HardEvent
from detectors.insurance import CoverCut, DeadlineNotice
from detectors.money import Exposure
from detectors.policy import Decision
from detectors.reasons import Explanation
from detectors.records import RESOLVED, Reason, TermPd, Warning
from detectors.snapshots import FAMILY_INDEX, DefaultNotice, Evidence, Profile
from detectors.term import TermCurve


def warning_id(customer_id: str, at: int, kind: str, grade: str) -> str:
    """Stable id: the same customer, time, kind and grade always give the same id."""
    digest = hashlib.sha256(f"{customer_id}|{at}|{kind}|{grade}".encode()).hexdigest()
    return f"w-{digest[:20]}"


LOG_ODDS_DIGITS = 9
"""Log-odds are published to 1e-9, so a warning's baseline and up to seven reasons add up
to its log-odds within 1e-8, well inside the 1e-6 that explanations promise."""


def reasons_of(reasons: Explanation | None, x: np.ndarray) -> list[Reason]:
    """The reasons as published: each feature's label, value (None where the feeds said
    nothing: a tree can read silence as risk, and for the sum of the others) and
    contribution."""
    return [Reason(**row) for row in reason_rows(reasons, x)]


def reason_rows(reasons: Explanation | None, x: np.ndarray) -> list[dict[str, Any]]:
    """`reasons_of` as plain rows, as a score row holds them (see `term_rows`)."""
    if reasons is None:
        return []
    return [{"code": code, "label": features.label(code),
             "value": None if code == OTHER else _value(x[INDEX[code]]),
             "contribution": round(c, LOG_ODDS_DIGITS)} for code, c in reasons.listed]


def _value(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def term_of(pd: float, term: TermCurve) -> list[TermPd]:
    """The published term structure of ``pd`` by the learned ``term`` curve: of the
    published PD (six decimals), so warnings, score rows and the watchlist agree, and to
    six decimals (rounding keeps it non-decreasing, and it gives the published PD at the
    horizon)."""
    return [TermPd(**row) for row in term_rows(pd, term)]


def term_rows(pd: float, term: TermCurve) -> list[dict[str, Any]]:
    """`term_of` as plain rows, as a score row holds them (written for every customer at
    every month end, so without a model to build and dump)."""
    return [{"months": m, "pd": round(p, 6)} for m, p in term.at_terms(round(pd, 6))]


def evidence_for(reasons: list[Reason], evidence: Evidence) -> list[str]:
    """The input events behind the reasons, by the evidence family of each (the sum of
    the others has none)."""
    out: list[str] = []
    for reason in reasons:
        family = None if reason.code == OTHER else FAMILY_INDEX.get(features.family(reason.code))
        for event_id in evidence[family] if family is not None else ():
            if event_id not in out:
                out.append(event_id)
    return out


def profile_fields(profile: Profile, exposure: Exposure, currency: str) -> dict[str, object]:
    """The customer's master data and exposure: in ``currency``, the reporting currency
    (None when its currency has no rate for the day), and in the customer's own, in which
    the insured limit behind ``insured_share`` is held."""
    insured = None
    if profile.insured_limit is not None and exposure.own > 0:
        insured = round(min(1.0, profile.insured_limit / exposure.own), 4)
    return {
        "customer_name": profile.name,
        "exposure": _rounded(exposure.reporting),
        "uninsured_exposure": _rounded(exposure.uninsured(profile.insured_limit).reporting),
        "fx_missing": exposure.missing,
        "insured_share": insured,
        "currency": currency,
        "customer_exposure": round(exposure.own, 2),
        "customer_currency": profile.currency or currency,
        "country": profile.country,
        "industry": profile.industry,
        "tags": list(profile.tags),
    }


def _rounded(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 2)


def from_decision(*, customer_id: str, at: int, decision: Decision, grade: int, pd: float,
                  rank: int, portfolio_size: int, reasons: Explanation | None, x: np.ndarray,
                  evidence: Evidence, profile: Profile, exposure: Exposure,
                  term: TermCurve, currency: str, lineage: Mapping[str, str]) -> Warning:
    """The warning for a scored month-end snapshot the policy decided to act on."""
    listed = reasons_of(reasons, x)
    letter = GRADES[grade]
    top = reasons.top if reasons is not None else None
    return Warning(
        warning_id=warning_id(customer_id, at, decision.kind, letter),
        kind=decision.kind,
        category=features.family(top) if top is not None else "none",
        customer_id=customer_id,
        event_time=to_rfc3339(at),
        severity="info" if decision.kind == RESOLVED else SEVERITY[letter],
        grade=letter,
        previous_grade=decision.previous_grade,
        pd=round(pd, 6),
        horizon_months=term.horizon_months,
        pd_term=term_of(pd, term),
        rank=rank,
        portfolio_size=portfolio_size,
        action=ACTIONS[letter],
        reasons=listed,
        baseline=None if reasons is None else round(reasons.base, LOG_ODDS_DIGITS),
        log_odds=None if reasons is None else round(reasons.log_odds, LOG_ODDS_DIGITS),
        evidence=evidence_for(listed, evidence),
        **profile_fields(profile, exposure, currency),
        **lineage,
    )


def _of_its_day(*, customer_id: str, at: int, key: str, kind: str, category: str,
                severity: str, pd: float, grade: str, term: TermCurve, action: str,
                reason: Reason, evidence: list[str], profile: Profile, exposure: Exposure,
                currency: str, lineage: Mapping[str, str],
                invoices: tuple[str, ...] = (), previous_grade: str | None = None) -> Warning:
    """A warning an event gives on its own day, outside the month-end ranking (rank and
    portfolio size 0), with one reason and the customer's score ``pd`` and ``grade``;
    ``key`` tells it apart from the customer's other warnings of that time and grade."""
    return Warning(
        warning_id=warning_id(customer_id, at, key, grade),
        kind=kind,
        category=category,
        customer_id=customer_id,
        event_time=to_rfc3339(at),
        severity=severity,
        grade=grade,
        previous_grade=previous_grade,
        pd=round(pd, 6),
        horizon_months=term.horizon_months,
        pd_term=term_of(pd, term),
        rank=0,
        portfolio_size=0,
        action=action,
        reasons=[reason],
        evidence=evidence,
        invoices=list(invoices),
        **profile_fields(profile, exposure, currency),
        **lineage,
    )


def from_default(notice: DefaultNotice, term: TermCurve, currency: str,
                 lineage: Mapping[str, str]) -> Warning:
    """The message that a customer has defaulted (not an early warning: the event itself)."""
    return _of_its_day(
        customer_id=notice.customer_id, at=notice.at, key="default", kind="default",
        category="insolvency" if notice.kind == "insolvency" else "default",
        severity="critical", pd=1.0, grade="E", term=term,
        action=ACTIONS["E"],
        reason=Reason(code=f"default_{notice.kind}", label=f"default: {notice.kind}",
                      value=notice.kind, contribution=0.0),
        evidence=list(notice.evidence), invoices=notice.invoices,
        profile=notice.profile, exposure=notice.exposure, currency=currency, lineage=lineage)


BREACH_ACTION = "hold orders beyond the limit; review the limit or the cover"


def from_breach(customer_id: str, at: int, code: str, ratio: float, pd: float, grade: int,
                profile: Profile, exposure: Exposure, term: TermCurve, currency: str,
                lineage: Mapping[str, str]) -> Warning:
    """The warning that exposure went above the credit limit (``code``
    `features.OVER_CREDIT_LIMIT`) or the insured limit (`features.OVER_INSURED_LIMIT`), on
    the day it did; ``ratio`` is exposure over that limit."""
    return _of_its_day(
        customer_id=customer_id, at=at, key=f"limit_breach:{code}", kind="limit_breach",
        category="limits", severity="warning", pd=pd, grade=GRADES[grade],
        term=term, action=BREACH_ACTION,
        reason=Reason(code=code, label=features.label(code), value=round(ratio, 4),
                      contribution=0.0),
        evidence=[], profile=profile, exposure=exposure, currency=currency, lineage=lineage)


def from_hard_event(notice: HardEvent, pd: float, grade: int, term: TermCurve,
                    currency: str, lineage: Mapping[str, str],
                    previous_grade: str | None = None) -> Warning:
    """The warning a hard event gives on its own day: critical, with the customer's score
    of that day (which counts the event) for its PD and grade, at least a review of the
    credit limit as its action, and the grade of the warning that stood before it (None:
    it opens the customer's warning)."""
    letter = GRADES[grade]
    return _of_its_day(
        previous_grade=previous_grade,
        customer_id=notice.customer_id, at=notice.at, key=f"{notice.kind}:{notice.event_id}",
        kind="hard_event", category="registry" if notice.kind == JUDGMENT else "news",
        severity="critical", pd=pd, grade=letter, term=term,
        action=ACTIONS[max(letter, "C")],
        reason=Reason(code=notice.kind, label=features.label(notice.kind),
                      value=notice.detail, contribution=0.0),
        evidence=[notice.event_id], profile=notice.profile, exposure=notice.exposure,
        currency=currency, lineage=lineage)


DEADLINE_ACTION = "notify the credit insurer of the overdue invoice before the deadline"


def from_deadline(notice: DeadlineNotice, pd: float, grade: int, term: TermCurve,
                  currency: str, lineage: Mapping[str, str]) -> Warning:
    """The warning that an insured invoice is still open shortly before the credit
    insurer's notification deadline (`detectors.insurance`): the reason's value is the
    deadline's date, the evidence the invoice."""
    deadline = to_rfc3339(notice.deadline_day * DAY)[:10]
    return _of_its_day(
        customer_id=notice.customer_id, at=notice.at,
        key=f"insurer_deadline:{notice.event_id}", kind="insurer_deadline",
        category="insurance", severity="warning", pd=pd, grade=GRADES[grade],
        term=term, action=f"{DEADLINE_ACTION} ({deadline})",
        reason=Reason(code="insurer_deadline",
                      label=f"invoice {notice.invoice_id} overdue: the insurer must be told "
                            f"by {deadline}",
                      value=deadline, contribution=0.0),
        evidence=[notice.event_id], profile=notice.profile, exposure=notice.exposure,
        currency=currency, lineage=lineage)


def from_cover_cut(notice: CoverCut, pd: float, grade: int, term: TermCurve,
                   currency: str, lineage: Mapping[str, str]) -> Warning:
    """The warning that the credit insurer cuts a customer's insured limit from a later
    day, given when it is announced: its amounts (``uninsured_exposure``,
    ``insured_share``) are those after the cut, so the desk sees what will be at risk."""
    starts = to_rfc3339(notice.starts_day * DAY)[:10]
    own = notice.profile.currency or currency
    return _of_its_day(
        customer_id=notice.customer_id, at=notice.at,
        key=f"insured_limit_cut:{notice.event_id}", kind="insured_limit_cut",
        category="insurance", severity="warning", pd=pd, grade=GRADES[grade],
        term=term,
        action=f"bring exposure within the new insured limit or find other cover by {starts}",
        reason=Reason(code="insured_limit_cut",
                      label=f"the insurer cuts the insured limit from {notice.old:,.0f} to "
                            f"{notice.new:,.0f} {own} from {starts}",
                      value=starts, contribution=0.0),
        evidence=[notice.event_id],
        profile=dataclasses.replace(notice.profile, insured_limit=notice.new),
        exposure=notice.exposure, currency=currency, lineage=lineage)
