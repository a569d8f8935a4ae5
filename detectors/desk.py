"""The warning policy applied to a bucket's scored customers, and what the desk sees.

`WarningDesk` runs beside each bucket. For every month-end snapshot it asks the customer's
`WarningPolicy` (only customers under warning or within the alert budget need asking) and
turns decisions into `Warning`s; a default, and a hard event (`detectors.hard`), becomes a
warning of its own on its day. It keeps each customer's latest score for the watchlist and,
when asked, writes every score as a row of ``scores.jsonl``, and at each month end a row
at PD 1 for each customer in default whose feeds still report. Warnings also go, per day, to
the alert feed (`AlertFeed`), which puts them in one order (event time, customer, id) for
the notifier, with a tick at the end of every day, and for the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from detectors.clock import DAY, to_rfc3339
from detectors.features import CODES, INDEX, OVER_CREDIT_LIMIT, OVER_INSURED_LIMIT
from detectors.grading import GRADES
from detectors.hard import HardEvent
from detectors.insurance import CoverCut, DeadlineNotice
from detectors.money import Exposure
from detectors.policy import WarningPolicy, budget_ranks
from detectors.records import Warning
from detectors.scoring import Ranks, Scored
from detectors.snapshots import DefaultNotice, Profile
from detectors.stage import Send
from detectors.table import Column, Table
from detectors.term import TermCurve
from detectors.tiers import Tier, TierRules
from detectors.warnings import (
    from_breach,
    from_cover_cut,
    from_deadline,
    from_decision,
    from_default,
    from_hard_event,
    reason_rows,
    term_rows,
)

ALERTS = "alerts"
"""The key of the step that orders each day's warnings for the notifier and the audit log
(`AlertFeed`)."""
_NONE, _DEFAULT = -1, -2
"""The latest score's top reason when it has none, or when the customer defaulted."""
_LATEST = (Column("pd", "f8"), Column("grade", "i1"), Column("rank", "i4"), Column("at", "i8"),
           Column("top", "i2"),
           Column("defaulted", "i1"), Column("exposure", "f8"), Column("rate", "f8", np.nan),
           Column("credit_limit", "f8", np.nan), Column("insured_limit", "f8", np.nan),
           Column("breached", "i1"), Column("curve", "i4"))
_BY_CODE = tuple(sorted(range(len(CODES)), key=CODES.__getitem__))
"""Feature columns in the order of their codes: the order of a score row's features."""
_BREACHES = ((OVER_CREDIT_LIMIT, "credit_limit"), (OVER_INSURED_LIMIT, "insured_limit"))
"""The limits a breach warning watches: its reason code and the profile's field; bit ``i``
of the ``breached`` column is set while exposure is above the ``i``-th."""


@dataclass(frozen=True, slots=True)
class DeskSettings:
    horizon_months: int = 8
    warn_from: str = "C"
    resolve_below: str = "C"
    resolve_after: int = 12
    budget_per_1000: float = 30.0
    budget: int | None = None
    reporting_currency: str = "EUR"
    breach_warnings: tuple[str, ...] = ()
    breach_tolerance: float = 0.1
    tiers: TierRules = TierRules()
    hard_events_within_budget: bool = True
    escalate: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> DeskSettings:
        p = settings.policy
        return cls(settings.horizon_months, p.warn_from_grade, p.resolve_below_grade,
                   p.resolve_after_months, p.budget_per_1000, p.budget,
                   settings.reporting_currency, tuple(p.limit_breach_warnings),
                   p.limit_breach_tolerance,
                   TierRules(tuple(Tier(t.name, t.min_expected_loss, t.review_days)
                                   for t in p.tiers)),
                   p.hard_event_warnings == "within_budget", p.escalation_alerts)


@dataclass(frozen=True, slots=True)
class Latest:
    """A customer's latest score, for the watchlist printed at the end."""

    customer_id: str
    name: str | None
    at: int
    pd: float
    grade: str
    top_reason: str | None
    defaulted: bool
    exposure: Exposure
    """Open receivables when last scored, and the rate into ``currency`` (reporting)."""
    credit_limit: float | None
    """In ``customer_currency``, as is ``insured_limit``."""
    insured_limit: float | None
    currency: str
    customer_currency: str
    country: str | None = None
    industry: str | None = None
    tier: Tier | None = None
    curve: TermCurve | None = None
    """The term curve of the model that scored it: the row's ``pd_term`` (none: empty)."""

    def to_json(self) -> dict[str, Any]:
        e = self.exposure
        return {"customer_id": self.customer_id, "name": self.name,
                "event_time": to_rfc3339(self.at), "pd": self.pd,
                "pd_term": [] if self.curve is None else term_rows(self.pd, self.curve),
                "grade": self.grade,
                "top_reason": self.top_reason, "defaulted": self.defaulted,
                "exposure": _amount(e.reporting),
                "credit_limit": _amount(e.in_reporting(self.credit_limit)),
                "insured_limit": _amount(e.in_reporting(self.insured_limit)),
                "currency": self.currency, "fx_missing": e.missing,
                "fx_rate": None if e.missing else e.rate,
                "customer_exposure": _amount(e.own),
                "customer_credit_limit": _amount(self.credit_limit),
                "customer_insured_limit": _amount(self.insured_limit),
                "customer_currency": self.customer_currency, "country": self.country,
                "industry": self.industry,
                "tier": None if self.tier is None else self.tier.name,
                "next_review": None if self.tier is None else to_rfc3339(
                    self.at + self.tier.review_days * DAY)[:10]}


def _amount(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else round(value, 2)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One line of ``scores.jsonl``: a scored snapshot, or a month end's customer in default."""

    row: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.row


class WarningDesk:
    """Decisions, warnings and the latest scores of the bucket ``name``."""

    def __init__(self, name: str, settings: DeskSettings, lineage: Mapping[str, str], *,
                 score_rows: bool = False, ordered: bool = False) -> None:
        self.name = name
        self.settings = settings
        self.lineage = dict(lineage)
        self.score_rows = score_rows
        self.ordered = ordered
        """Whether its warnings go to the step that orders them (`ALERTS`)."""
        self.warn_from = GRADES.index(settings.warn_from)
        self.policies: dict[str, WarningPolicy] = {}
        """Customers that were ever warned or within the budget (the others have no state)."""
        self.latest = Table(_LATEST)
        """Each customer's latest score, by its slot in the bucket."""
        self.who: list[tuple[str, Profile] | None] = []
        """Each slot's customer id and master data."""
        self.curves = [TermCurve.constant(settings.horizon_months)]
        """Every term curve a remembered score was made with, by the index the ``curve``
        column holds: about one a month end; the last is that of the latest scores."""
        self.portfolio_size = 1
        """Customers ranked at the last month end: the latest ranks are among them."""

    def day(self, day: int, items: list[Any]) -> list[Any]:
        scored = {s.snapshots.month_end: s for s in items if isinstance(s, Scored)}
        ranks = {r.month_end: r for r in items if isinstance(r, Ranks)}
        out: list[Any] = []
        if False in scored:
            out.extend(self._scores(scored[False], ranks[False], decide=False))
        defaults = sorted((n for n in items if isinstance(n, DefaultNotice)),
                          key=lambda n: (n.at, n.customer_id))
        defaulted = {n.customer_id for n in defaults}  # the default message says it all
        for hard in sorted((n for n in items if isinstance(n, HardEvent)
                            and n.customer_id not in defaulted),
                           key=lambda n: (n.at, n.customer_id, n.event_id)):
            out.extend(self._hard_event(hard))
        for notice in defaults:
            out.append(self._default(notice))
        for deadline in sorted((n for n in items if isinstance(n, DeadlineNotice)),
                               key=lambda n: (n.at, n.customer_id, n.event_id)):
            out.append(self._latest_scored(from_deadline, deadline))
        for cut in sorted((n for n in items if isinstance(n, CoverCut)),
                          key=lambda n: (n.at, n.customer_id, n.event_id)):
            out.append(self._latest_scored(from_cover_cut, cut))
        if True in scored:  # a month end: its snapshots are dated the next day's start
            month_end, size = scored[True], ranks[True].portfolio_size
            out.extend(self._scores(month_end, ranks[True], decide=True))
            if self.score_rows:
                out.extend(_in_default_rows(month_end.snapshots.in_default, (day + 1) * DAY,
                                            month_end.term, size))
        out = [self._tiered(w) if isinstance(w, Warning) else w for w in out]
        if self.ordered:
            out.append(Send(ALERTS, day, [w for w in out if isinstance(w, Warning)]))
        return out

    def _tiered(self, warning: Warning) -> Warning:
        tier = self.settings.tiers.tier_of(warning.pd, warning.uninsured_exposure)
        return warning.model_copy(update={"tier": tier.name})

    def advance(self, through: int) -> list[Any]:
        return []

    def finish(self) -> list[Any]:
        t = self.latest
        reporting = self.settings.reporting_currency
        rows = []
        for slot, who in enumerate(self.who):
            if who is None:
                continue
            customer, profile = who
            reason = int(t.top[slot])
            exposure = Exposure(float(t.exposure[slot]), float(t.rate[slot]))
            insured = float(t.insured_limit[slot])
            uninsured = exposure.uninsured(insured).reporting
            rows.append(Latest(customer, profile.name, int(t.at[slot]), float(t.pd[slot]),
                               GRADES[int(t.grade[slot])],
                               "default" if reason == _DEFAULT else
                               (CODES[reason] if reason >= 0 else None),
                               bool(t.defaulted[slot]), exposure,
                               float(t.credit_limit[slot]), insured,
                               reporting, profile.currency or reporting, profile.country,
                               profile.industry,
                               self.settings.tiers.tier_of(float(t.pd[slot]), uninsured),
                               self.curves[int(t.curve[slot])]))
        return sorted(rows, key=lambda row: row.customer_id)

    def _remember(self, slot: int, customer: str, profile: Profile, exposure: Exposure,
                  at: int, pd: float, grade: int, top: int, defaulted: bool,
                  rank: int = 0) -> None:
        t = self.latest
        while t.size <= slot:
            t.add()
            self.who.append(None)
        self.who[slot] = (customer, profile)
        t.at[slot], t.pd[slot], t.grade[slot], t.rank[slot] = at, pd, grade, rank
        t.curve[slot] = len(self.curves) - 1
        t.top[slot], t.defaulted[slot] = top, defaulted
        t.exposure[slot], t.rate[slot] = exposure.own, exposure.rate
        t.credit_limit[slot] = np.nan if profile.credit_limit is None else profile.credit_limit
        t.insured_limit[slot] = (np.nan if profile.insured_limit is None
                                 else profile.insured_limit)

    def _default(self, notice: DefaultNotice) -> Warning:
        warning = from_default(notice, self._curve_of(notice.slot),
                               self.settings.reporting_currency, self.lineage)
        self._remember(notice.slot, notice.customer_id, notice.profile, notice.exposure,
                       notice.at, 1.0, GRADES.index("E"), _DEFAULT, True)
        return warning

    def _hard_event(self, notice: HardEvent) -> list[Warning]:
        """A hard event's warning on its day, if it is within the alert budget's rules (or
        ``hard_events_within_budget`` is off): the customer is under warning already, or
        its score of the day, which counts the event, is in the warning zone and ranks
        within the budget among the last month end's scores (before the first month end,
        when nothing is ranked, the zone alone decides). The warning then stands as the
        customer's (`WarningPolicy.warned`), so the month end does not warn again unless
        the grade worsens."""
        t, settings = self.latest, self.settings
        known = notice.slot < t.size
        grade, rank = (int(t.grade[notice.slot]), int(t.rank[notice.slot])) if known else (0, 0)
        policy = self.policies.get(notice.customer_id)
        standing = policy is not None and policy.active is not None
        budget = budget_ranks(settings.budget_per_1000, self.portfolio_size, settings.budget)
        zone = known and grade >= self.warn_from and 0 < rank <= budget
        if settings.hard_events_within_budget and not (standing or zone):
            return []
        previous = self._policy(notice.customer_id).warned(GRADES[grade])
        return [self._latest_scored(from_hard_event, notice, previous_grade=previous)]

    def _policy(self, customer: str) -> WarningPolicy:
        """The customer's warning policy, started when first asked."""
        policy = self.policies.get(customer)
        if policy is None:
            s = self.settings
            policy = self.policies[customer] = WarningPolicy(s.warn_from, s.resolve_below,
                                                             s.resolve_after, s.escalate)
        return policy

    def _latest_scored(self, build: Callable[..., Warning],
                       notice: HardEvent | DeadlineNotice | CoverCut,
                       **extra: Any) -> Warning:
        """A warning of its own day built by ``build`` with the customer's latest score (a
        hard event's is the one taken that day after the event: every hard event moves a
        live customer's risk, so the book snapshots it the same day, and the day's scores
        come before this; a customer not yet scored has PD 0 and grade A)."""
        t = self.latest
        known = notice.slot < t.size
        return build(notice, float(t.pd[notice.slot]) if known else 0.0,
                     int(t.grade[notice.slot]) if known else 0, self._curve_of(notice.slot),
                     self.settings.reporting_currency, self.lineage, **extra)

    def _curve_of(self, slot: int) -> TermCurve:
        """The term curve of the model behind the customer's latest score (the first,
        constant one for a customer not scored yet)."""
        return self.curves[int(self.latest.curve[slot]) if slot < self.latest.size else 0]

    def _breaches(self, slot: int, customer: str, profile: Profile, exposure: Exposure,
                  at: int, pd: float, grade: int, lineage: Mapping[str, str]) -> list[Warning]:
        """A ``limit_breach`` warning when exposure first goes above a watched limit by more
        than the tolerance (a limit of 0 or none is not watched); once exposure is back
        within the limit itself, the next breach warns again."""
        t, out = self.latest, []
        flags = int(t.breached[slot])
        for bit, (code, field) in enumerate(_BREACHES):
            limit = getattr(profile, field)
            if field not in self.settings.breach_warnings:
                continue
            use = exposure.limit_use(limit) or 0.0  # in the customer's currency; 0: no limit
            over = use > 1
            beyond = use > 1 + self.settings.breach_tolerance
            if beyond and not flags & (1 << bit):
                out.append(from_breach(customer, at, code, use, pd, grade,
                                       profile, exposure, self.curves[-1],
                                       self.settings.reporting_currency, lineage))
            flags = flags | (1 << bit) if beyond else (flags if over else flags & ~(1 << bit))
        t.breached[slot] = flags
        return out

    def _scores(self, scored: Scored, ranks: Ranks, decide: bool) -> list[Any]:
        s = scored.snapshots
        size = ranks.portfolio_size
        settings = self.settings
        self.portfolio_size = size
        if self.curves[-1] != scored.term:
            self.curves.append(scored.term)
        budget = budget_ranks(settings.budget_per_1000, size, settings.budget)
        out: list[Any] = []
        asked = np.zeros(len(s), dtype=bool)
        if decide:
            asked = (scored.grade >= self.warn_from) & (ranks.rank <= budget)
            asked |= np.array([c in self.policies for c in s.customer_ids], dtype=bool)
        lineage = {"model_version": scored.model_version, **self.lineage}
        for i, customer in enumerate(s.customer_ids):
            pd, grade, rank = float(scored.pd[i]), int(scored.grade[i]), int(ranks.rank[i])
            reasons = scored.reasons[i]
            top = reasons.top if reasons is not None else None
            exposure = s.exposure_of(i)
            self._remember(int(s.slots[i]), customer, s.profiles[i], exposure,
                           int(s.at[i]), round(pd, 6), grade,
                           INDEX[top] if top is not None else _NONE, False, rank)
            out.extend(self._breaches(int(s.slots[i]), customer, s.profiles[i],
                                      exposure, int(s.at[i]), pd, grade, lineage))
            if self.score_rows:
                out.append(self._row(scored, i, rank, size))
            if not asked[i]:
                continue
            decision = self._policy(customer).decide(GRADES[grade], rank, budget)
            if decision is not None:
                out.append(from_decision(
                    customer_id=customer, at=int(s.at[i]), decision=decision, grade=grade,
                    pd=pd, rank=rank, portfolio_size=size, reasons=reasons, x=s.X[i],
                    evidence=s.evidence_of(i), profile=s.profiles[i],
                    exposure=exposure, term=scored.term,
                    currency=settings.reporting_currency, lineage=lineage))
        return out

    def _row(self, scored: Scored, i: int, rank: int, size: int) -> ScoreRow:
        s = scored.snapshots
        x = s.X[i]
        values = x.tolist()
        features = {CODES[j]: round(values[j], 6) for j in _BY_CODE
                    if values[j] == values[j]}  # (NaN, a feature the feeds said nothing of)
        return ScoreRow({
            "customer_id": s.customer_ids[i],
            "event_time": to_rfc3339(int(s.at[i])),
            "pd": round(float(scored.pd[i]), 6),
            "pd_term": term_rows(float(scored.pd[i]), scored.term),
            "grade": GRADES[int(scored.grade[i])],
            "rank": rank,
            "portfolio_size": size,
            "month_end": s.month_end,
            "defaulted": False,
            "model_version": scored.model_version,
            "features": features,
            "reasons": reason_rows(scored.reasons[i], x),
        })


def _in_default_rows(customers: list[str], at: int, term: TermCurve,
                     size: int) -> list[ScoreRow]:
    """A month end's rows of the customers in default that still report: no longer scored,
    they stay in ``scores.jsonl`` at PD 1 (grade E, unranked, no features), so a reader of
    any month end finds the defaulted customers on top rather than missing. The rows differ
    only in the customer."""
    event_time, pd_term = to_rfc3339(at), term_rows(1.0, term)
    return [ScoreRow({
        "customer_id": customer, "event_time": event_time, "pd": 1.0, "pd_term": pd_term,
        "grade": "E", "rank": None, "portfolio_size": size, "month_end": True,
        "defaulted": True, "model_version": None, "features": {}, "reasons": []})
        for customer in customers]


@dataclass(frozen=True, slots=True)
class Notices:
    """A day's warnings for the notifier and the audit log, in one order, and the day's end
    (which lets digests and escalations fire)."""

    warnings: list[Warning]
    until: datetime

    def in_order(self) -> list[Warning | datetime]:
        return [*self.warnings, self.until]


class AlertFeed:
    """Every bucket's warnings, day by day, then the day's end: what the notifier is
    handed and the audit log's warnings partition records, so that grouping, digests and
    the log's bytes never depend on arrival order."""

    def day(self, day: int, items: list[list[Warning]]) -> list[Any]:
        warnings = sorted((w for batch in items for w in batch),
                          key=lambda w: (w.event_time, w.customer_id, w.warning_id))
        return [Notices(warnings, datetime.fromtimestamp((day + 1) * DAY, UTC))]

    def advance(self, through: int) -> list[Any]:
        return []

    def finish(self) -> list[Any]:
        return []
