"""What a simulated portfolio turned out to be, measured from the generated data.

Default rate, sudden share, DSO and overdue share are computed from the records as written
(invoices, settlements and write-offs inside the horizon, outcomes as derived from the feeds),
never taken from the generator's parameters, so the summary can show a miscalibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connectors.simulator.timeline import Timeline

WARM_UP_MONTHS = 6
"""Receivables need a few months to build up from an empty ledger before DSO means anything."""


@dataclass(frozen=True)
class SimulationSummary:
    """Counts and portfolio figures of one simulation run."""

    customers: int
    months: int
    seed: int
    defaults: int
    sudden_defaults: int
    records: Mapping[str, int] = field(hash=False)
    annual_default_rate: float
    """Defaults per customer-year alive in the portfolio."""
    dso_days: float | None = None
    """Receivables over trailing-90-day sales times 90, averaged over month ends (books with
    a receivables ledger only)."""
    overdue_share: float | None = None
    """Past-due share of receivables, averaged over month ends (ledger books only)."""
    profile: str = "receivables"
    """The shape of book simulated (`connectors.simulator.profiles`)."""
    figures: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Figures particular to the profile, measured from its records like the rest."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (figures rounded for reading). The profile is named unless it is
        the default receivables book, whose summary reads as it always has."""
        data: dict[str, Any] = {} if self.profile == "receivables" else {"profile": self.profile}
        data |= {
            "customers": self.customers,
            "months": self.months,
            "seed": self.seed,
            "defaults": self.defaults,
            "sudden_defaults": self.sudden_defaults,
            "sudden_share": (
                round(self.sudden_defaults / self.defaults, 4) if self.defaults else None
            ),
            "records": dict(self.records),
            "annual_default_rate": round(self.annual_default_rate, 5),
        }
        if self.dso_days is not None:
            data["dso_days"] = round(self.dso_days, 2)
        if self.overdue_share is not None:
            data["overdue_share"] = round(self.overdue_share, 4)
        return data | {name: round(value, 4) for name, value in self.figures.items()}


@dataclass
class LedgerTotals:
    """Invoice and settlement arrays (EUR cents) gathered block by block for the figures."""

    invoice_issue: list[np.ndarray] = field(default_factory=list)
    invoice_due: list[np.ndarray] = field(default_factory=list)
    invoice_amount: list[np.ndarray] = field(default_factory=list)
    settled_day: list[np.ndarray] = field(default_factory=list)
    settled_due: list[np.ndarray] = field(default_factory=list)
    settled_amount: list[np.ndarray] = field(default_factory=list)

    def add_invoices(self, issue: np.ndarray, due: np.ndarray, amount: np.ndarray) -> None:
        self.invoice_issue.append(issue)
        self.invoice_due.append(due)
        self.invoice_amount.append(amount)

    def add_settlements(self, day: np.ndarray, due: np.ndarray, amount: np.ndarray) -> None:
        self.settled_day.append(day)
        self.settled_due.append(due)
        self.settled_amount.append(amount)

    def dso_and_overdue(self, tl: Timeline) -> tuple[float, float]:
        """Portfolio DSO (days) and overdue share, averaged over the month ends after warm-up."""
        issue, due, amount = (np.concatenate(a) for a in
                              (self.invoice_issue, self.invoice_due, self.invoice_amount))
        day, s_due, paid = (np.concatenate(a) for a in
                            (self.settled_day, self.settled_due, self.settled_amount))
        first = min(WARM_UP_MONTHS, tl.months // 3)
        dso, overdue = [], []
        for month_end in (tl.month_start[first + 1 :] - 1).tolist():
            issued, settled = issue <= month_end, day <= month_end
            receivable = amount[issued].sum() - paid[settled].sum()
            past_due = (amount[issued & (due < month_end)].sum()
                        - paid[settled & (s_due < month_end)].sum())
            sales = amount[issued & (issue > month_end - 90)].sum()
            if receivable > 0 and sales > 0:
                dso.append(receivable / sales * 90)
                overdue.append(past_due / receivable)
        return float(np.mean(dso)) if dso else 0.0, float(np.mean(overdue)) if overdue else 0.0


def annual_default_rate(default_day: np.ndarray, end: int | np.ndarray,
                        start: int | np.ndarray = 0) -> float:
    """Defaults per customer-year, counting each customer's days from ``start`` (when it
    entered the book) until its default or ``end`` (the horizon, or where it left the book)."""
    defaulted = default_day < end
    exposure_years = (np.minimum(default_day, end) - start).sum() / 365.25
    return float(defaulted.sum() / exposure_years) if exposure_years else 0.0
