"""The records the monitor writes: warnings with their reasons, and dead letters.

Every output is one of these (or a score row), so a sink or channel needs nothing else from
the core. ``Warning`` is a pydantic model because its JSON form is a published contract (its
field order and types are what integrators parse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from detectors.events import Origin


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that was not accepted, with its reason code, detail and original bytes."""

    feed: str
    reason: str
    detail: str
    raw: bytes
    origin: Origin | None = None
    event_id: str | None = None
    customer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        try:
            original: str = self.raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            original = self.raw.hex()
            encoding = "hex"
        return {
            "feed": self.feed,
            "reason": self.reason,
            "detail": self.detail,
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "origin": self.origin.to_json() if self.origin is not None else {},
            "original": original,
            "original_encoding": encoding,
        }


class Reason(BaseModel):
    """One signal behind a score: its value and its contribution to the log-odds (code
    ``other``: the sum of every contribution not listed by name)."""

    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    value: float | str | None
    contribution: float


class TermPd(BaseModel):
    """The probability of default within ``months`` months."""

    model_config = ConfigDict(frozen=True)

    months: int
    pd: float


RESOLVED = "resolved"
"""The kind of warning that ends a customer's standing warning (its grade improved)."""
EARLY_KINDS = ("early_warning", "escalation", "hard_event")
"""The kinds of warning that warn of a default to come: a hard event's warning is one, given
on its day (the first is the kind of a new warning at a month end). These are what a desk
works in its inbox and what `creditradar evaluate` counts as warnings."""


class Warning(BaseModel):
    """An early warning as written to ``warnings.jsonl``, the warnings topic and channels.

    ``warning_id`` is derived from the inputs (customer, event time, grade, kind), so the
    same input always gives the same id and every consumer can be idempotent on it.
    """

    model_config = ConfigDict(frozen=True)

    warning_id: str
    kind: str  # "early_warning" | "escalation" | "default" | "hard_event" | "limit_breach"
    #             | "insurer_deadline" | "resolved"
    category: str  # family of the strongest reason: payment_delay, insolvency, news, ...
    customer_id: str
    customer_name: str | None = None
    event_time: str
    severity: str  # "info" | "watch" | "warning" | "critical"
    grade: str
    previous_grade: str | None = None
    pd: float
    horizon_months: int
    pd_term: list[TermPd] = []
    """P(default within 3, 6, the horizon and 12 months), non-decreasing, ``pd`` at
    ``horizon_months`` (`detectors.term`)."""
    rank: int
    portfolio_size: int
    action: str
    reasons: list[Reason]
    baseline: float | None = None
    """The model's baseline log-odds: with the reasons' contributions it adds up to
    ``log_odds`` (None where no model explained the warning: defaults, resolutions)."""
    log_odds: float | None = None
    """The score's log-odds, to 1e-9 (finer than the PD's six decimals): ``pd`` is its
    logistic, rounded."""
    evidence: list[str]
    invoices: list[str] = []
    """For a default: the ids of the customer's invoices past due when it became known
    (what a collection is started for)."""
    exposure: float | None = 0.0
    """Open receivables, in ``currency`` at the rate of the warning's day; None when the
    customer's currency has no rate for that day (``fx_missing``)."""
    uninsured_exposure: float | None = None
    """The part of ``exposure`` above the insured limit (all of it without one)."""
    fx_missing: bool = False
    """Whether the reporting amounts are missing for want of an exchange rate."""
    insured_share: float | None = None
    currency: str | None = None
    """The currency of ``exposure`` and ``uninsured_exposure``: the reporting currency."""
    customer_exposure: float | None = None
    """Open receivables in ``customer_currency``, which needs no rate."""
    customer_currency: str | None = None
    """The customer's own currency, from its master data (its ledger's and limits')."""
    country: str | None = None
    industry: str | None = None
    tier: str | None = None
    """The customer's tier by expected loss (`detectors.tiers`), for routing."""
    tags: list[str] = []
    model_version: str = ""
    config_digest: str = ""
    program_version: str = ""
