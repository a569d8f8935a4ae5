"""Turn a policy decision on a score into a `Warning`, with its reasons and evidence."""

from __future__ import annotations

import hashlib

from connectors.records import Reason, Warning
from detectors.clock import to_rfc3339
from detectors.customer import DefaultNotice, Profile
from detectors.grading import ACTIONS, SEVERITY
from detectors.model import reason_label
from detectors.policy import Decision
from detectors.portfolio import Score
from detectors.trajectory import CODES as TRAJECTORY_CODES

MAX_REASONS = 5
FAMILIES = {
    "payment_delay": ("max_dpd", "overdue_share", "share_over_90", "delay_level", "delay_trend",
                      "delay_drift", "partial_share", "amount_anomaly", "utilisation", "dso"),
    "tradeline": ("tl_dpd", "tl_dpd_trend", "tl_overdue_ratio", "tl_utilisation"),
    "news": ("news_adverse", "news_positive"),
    "registry": ("registry_distress", "accounts_overdue", "rating_downgrade"),
}
_FAMILY_OF = {code: family for family, codes in FAMILIES.items() for code in codes}
_FAMILY_OF.update({code: _FAMILY_OF[name] for name, codes in TRAJECTORY_CODES.items()
                   for code in codes})  # a figure's course comes from the figure's feed


def family_of(code: str) -> str:
    """Which feed family a reason code comes from (anything else is from filed accounts)."""
    return _FAMILY_OF.get(code, "financials")


def warning_id(customer_id: str, at: int, kind: str, grade: str) -> str:
    """Stable id: the same customer, time, kind and grade always give the same id."""
    digest = hashlib.sha256(f"{customer_id}|{at}|{kind}|{grade}".encode()).hexdigest()
    return f"w-{digest[:20]}"


def _profile_fields(profile: Profile, exposure: float) -> dict[str, object]:
    insured = None
    if profile.insured_limit is not None and exposure > 0:
        insured = round(min(1.0, profile.insured_limit / exposure), 4)
    return {
        "customer_name": profile.name,
        "exposure": round(exposure, 2),
        "insured_share": insured,
        "currency": profile.currency,
        "country": profile.country,
        "industry": profile.industry,
        "tags": list(profile.tags),
    }


def top_reasons(score: Score) -> list[Reason]:
    """The signals that raised the score most, strongest first, with value and contribution."""
    ranked = sorted(
        ((code, c) for code, c in score.contributions.items() if c > 0),
        key=lambda pair: (-pair[1], pair[0]),
    )[:MAX_REASONS]
    features = score.snapshot.features
    return [Reason(code=code, label=reason_label(code), value=round(features.get(code, 0.0), 4),
                   contribution=round(c, 4)) for code, c in ranked]


def from_score(score: Score, decision: Decision, horizon_months: int) -> Warning:
    """The warning for a scored snapshot that the policy decided to act on."""
    snap = score.snapshot
    reasons = top_reasons(score)
    evidence: list[str] = []
    for reason in reasons:
        for event_id in snap.evidence.get(family_of(reason.code), ()):
            if event_id not in evidence:
                evidence.append(event_id)
    grade = score.grade
    return Warning(
        warning_id=warning_id(snap.customer_id, snap.at, decision.kind, grade),
        kind=decision.kind,
        category=family_of(reasons[0].code) if reasons else "none",
        customer_id=snap.customer_id,
        event_time=to_rfc3339(snap.at),
        severity="info" if decision.kind == "resolved" else SEVERITY[grade],
        grade=grade,
        previous_grade=decision.previous_grade,
        pd=round(score.pd, 6),
        horizon_months=horizon_months,
        rank=score.rank,
        portfolio_size=score.portfolio_size,
        action=ACTIONS[grade],
        reasons=reasons,
        evidence=evidence,
        model_version=score.model_version,
        **_profile_fields(snap.profile, snap.exposure),
    )


def from_default(notice: DefaultNotice, horizon_months: int) -> Warning:
    """The message that a customer has defaulted (not an early warning: the event itself)."""
    return Warning(
        warning_id=warning_id(notice.customer_id, notice.at, "default", "E"),
        kind="default",
        category="insolvency" if notice.kind == "insolvency" else "default",
        customer_id=notice.customer_id,
        event_time=to_rfc3339(notice.at),
        severity="critical",
        grade="E",
        pd=1.0,
        horizon_months=horizon_months,
        rank=0,
        portfolio_size=0,
        action=ACTIONS["E"],
        reasons=[Reason(code=f"default_{notice.kind}", label=f"default: {notice.kind}",
                        value=notice.kind, contribution=0.0)],
        evidence=list(notice.evidence),
        **_profile_fields(notice.profile, notice.exposure),
    )
