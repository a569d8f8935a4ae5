"""What a bucket of customers hands on: feature snapshots, defaults, labelled examples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detectors.money import Exposure
from detectors.strings import StringView

EVIDENCE_FAMILIES = ("payment_delay", "tradeline", "news", "registry", "financials")
"""The families evidence is kept for, in the order of an `Evidence` tuple."""
FAMILY_INDEX = {family: i for i, family in enumerate(EVIDENCE_FAMILIES)}
"""The position of each evidence family in an `Evidence` tuple."""
Evidence = tuple[tuple[str, ...], ...]
"""Per family of `EVIDENCE_FAMILIES`: ids of the input events behind it, oldest first."""


@dataclass(frozen=True, slots=True)
class Profile:
    """Master data carried with each snapshot, for messages and routing."""

    name: str | None = None
    country: str | None = None
    industry: str | None = None
    currency: str | None = None
    credit_limit: float | None = None
    """In ``currency`` (the customer's own), as is ``insured_limit``."""
    insured_limit: float | None = None
    tags: tuple[str, ...] = ()


NO_PROFILE = Profile()


@dataclass(slots=True)
class Snapshots:
    """Feature snapshots of some customers of one bucket, taken at ``at`` (per row): all at
    a month end (``month_end``), or all on a material change during one day.

    Evidence travels as string handles, read only for the few rows that become warnings:
    per row the kept event ids by family (``evidence``, shape (rows, families, kept)) and
    the oldest overdue invoices (``overdue``), resolved through ``strings``."""

    month_end: bool
    customer_ids: list[str]
    slots: np.ndarray
    at: np.ndarray
    X: np.ndarray
    exposure: np.ndarray
    """Open receivables, in each customer's own currency."""
    rate: np.ndarray
    """Each customer's currency in the reporting currency on the day (NaN: no rate)."""
    profiles: list[Profile]
    evidence: np.ndarray
    overdue: np.ndarray
    strings: StringView
    in_default: list[str] = field(default_factory=list)
    """At a month end, the bucket's customers in default whose feeds still report: not
    snapshotted, listed at PD 1 in ``scores.jsonl``."""

    def __len__(self) -> int:
        return len(self.customer_ids)

    def exposure_of(self, row: int) -> Exposure:
        return Exposure(float(self.exposure[row]), float(self.rate[row]))

    def evidence_of(self, row: int) -> Evidence:
        """Row ``row``'s evidence ids by family; overdue invoices first among payments."""
        kept = [self.strings.many(family) for family in self.evidence[row]]
        kept[0] = self.strings.many(self.overdue[row]) + kept[0]
        return tuple(kept)


@dataclass(frozen=True, slots=True)
class DefaultNotice:
    """A customer defaulted at ``at`` (the contract's definition), on ``kind`` of event."""

    customer_id: str
    slot: int
    at: int
    kind: str
    evidence: tuple[str, ...]
    profile: Profile
    exposure: Exposure
    invoices: tuple[str, ...] = ()
    """The ids of the invoices past due when the default became known."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """How many events a bucket accepted (sent at the end of input, for the run summary)."""

    bucket: str
    count: int
