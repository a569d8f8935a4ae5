"""A short backtest of a finished run: were the defaulters warned, how early, and at what
cost in false alarms. Reads the run's warnings and the portfolio's outcomes only."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from detectors.clock import DAYS_PER_MONTH, utc_day
from detectors.records import EARLY_KINDS
from flows.outcomes import default_days
from flows.run import read_jsonl

FALSE_ALARM_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Backtest:
    customers: int
    defaulters: int
    defaulters_warned: int
    defaulters_warned_6m: int
    median_lead_months: float | None
    warned_customers: int
    false_warnings: int
    false_warnings_per_1000_customer_years: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        lead = "n/a" if self.median_lead_months is None else f"{self.median_lead_months:.1f}"
        share = self.defaulters_warned / self.defaulters if self.defaulters else 0.0
        share6 = self.defaulters_warned_6m / self.defaulters if self.defaulters else 0.0
        return [
            f"defaulters warned before default: {self.defaulters_warned}/{self.defaulters}"
            f" ({share:.0%}), 6+ months ahead: {self.defaulters_warned_6m} ({share6:.0%})",
            f"median lead time: {lead} months",
            f"false warnings: {self.false_warnings} to {self.warned_customers} warned customers"
            f" ({self.false_warnings_per_1000_customer_years:.1f} per 1,000 customer-years)",
        ]


def backtest(warnings_path: Path, outcomes_path: Path, months: float | None = None) -> Backtest:
    """Score a run's early warnings against ``outcomes.jsonl``.

    A defaulter counts as warned if its first early warning came before its default; the
    lead is the time between them. A warning is false when its customer did not default
    within a year of it. ``months`` is the length of the observed period (taken from the
    warnings' span when not given), to express false warnings per customer-year. A default
    is counted on its day in UTC (`flows.outcomes.default_days`), as warnings are.
    """
    outcomes = default_days(outcomes_path)
    warnings = [w for w in read_jsonl(warnings_path) if w["kind"] in EARLY_KINDS]
    first: dict[str, date] = {}
    for w in warnings:
        first.setdefault(w["customer_id"], utc_day(w["event_time"]))
    leads = []
    for customer, default in outcomes.items():
        if default and customer in first and first[customer] < default:
            leads.append((default - first[customer]).days / DAYS_PER_MONTH)
    false = 0
    for w in warnings:
        default = outcomes.get(w["customer_id"])
        warned = utc_day(w["event_time"])
        if not default or not 0 <= (default - warned).days <= (
            FALSE_ALARM_WINDOW_DAYS
        ):
            false += 1
    if months is None:
        days = [utc_day(w["event_time"]) for w in warnings]
        months = ((max(days) - min(days)).days / DAYS_PER_MONTH) if days else 0.0
    customer_years = len(outcomes) * max(months, 1.0) / 12
    return Backtest(
        customers=len(outcomes),
        defaulters=sum(1 for d in outcomes.values() if d),
        defaulters_warned=len(leads),
        defaulters_warned_6m=sum(1 for lead in leads if lead >= 6),
        median_lead_months=round(statistics.median(leads), 2) if leads else None,
        warned_customers=len(first),
        false_warnings=false,
        false_warnings_per_1000_customer_years=round(1000 * false / customer_years, 2)
        if customer_years else 0.0,
    )
