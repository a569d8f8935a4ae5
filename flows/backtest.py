"""A short backtest of a finished run: were the defaulters warned, how early, and at what
cost in false alarms. Reads the run's warnings and watchlist (its customers), the first
input of its audit log (where its period starts) and the portfolio's outcomes."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from config.errors import ConnectorError
from connectors.audit._segments import (
    Line,
    list_partitions,
    list_segments,
    read_lines,
    stored_record,
)
from connectors.audit.record import INPUT
from detectors.clock import DAYS_PER_MONTH, utc_day
from detectors.records import EARLY_KINDS
from flows.jsonl import DamagedLine, Rows
from flows.outcomes import default_days, require_outcomes
from flows.run import AUDIT, WARNINGS, WATCHLIST

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


def backtest(out: Path, outcomes_path: Path) -> Backtest:
    """Score the early warnings of the finished run in ``out`` against ``outcomes.jsonl``,
    which may know defaults after the run's data (the outcomes a desk learns later).

    The run's customers are those of its watchlist (and any it warned without scoring them);
    each must have an outcome (lines for others are ignored); warnings beside an empty
    watchlist are refused, as outputs of different runs. A defaulter counts as warned if its
    first early warning came before its default; the lead is the time between them. A
    warning is false when its customer did not default within a year of it. False warnings
    are counted per 1,000 of the run's customer-years, from its first logged input (else its
    first warning) to its last event.
    A default is counted on its day in UTC (`flows.outcomes.default_days`), as warnings are.
    """
    with Rows(out / WATCHLIST) as rows:
        customers = {row["customer_id"]: utc_day(row["event_time"]) for row in rows}
    warnings = []
    with Rows(out / WARNINGS) as rows:
        for warning in rows:
            if not customers:
                raise DamagedLine(rows.path, rows.number,
                                  f"a warning, where {WATCHLIST} lists no customer: the run's "
                                  "outputs do not belong together")
            if warning["kind"] in EARLY_KINDS:
                warnings.append((warning["customer_id"], utc_day(warning["event_time"])))
    for customer, day in warnings:  # (a customer warned of a hard event, never scored)
        customers[customer] = max(customers.get(customer, day), day)
    outcomes = default_days(outcomes_path)
    require_outcomes(customers, outcomes, str(outcomes_path))
    defaults = {c: d for c in customers if (d := outcomes[c]) is not None}
    days = [day for _, day in warnings]
    first: dict[str, date] = {}
    for customer, day in warnings:
        first.setdefault(customer, day)
    leads = [(default - first[c]).days / DAYS_PER_MONTH for c, default in defaults.items()
             if c in first and first[c] < default]
    false = sum(1 for customer, day in warnings
                if not (customer in defaults and 0 <= (
                    defaults[customer] - day).days <= FALSE_ALARM_WINDOW_DAYS))
    end = max([*customers.values(), *days], default=None)
    start = _first_input_day(out / AUDIT) or min(days, default=None)
    years = (end - start).days / 365.25 if start and end else 0.0
    customer_years = len(customers) * max(years, 1 / 12)
    return Backtest(
        customers=len(customers),
        defaulters=len(defaults),
        defaulters_warned=len(leads),
        defaulters_warned_6m=sum(1 for lead in leads if lead >= 6),
        median_lead_months=round(statistics.median(leads), 2) if leads else None,
        warned_customers=len(first),
        false_warnings=false,
        false_warnings_per_1000_customer_years=round(1000 * false / customer_years, 2)
        if customer_years else 0.0,
    )


def _logged_day(event_time: str, line: Line) -> date:
    try:
        return utc_day(event_time)
    except ValueError:
        raise ConnectorError(f"{line.path}, line {line.number}: not an audit record: its "
                             f"event_time {event_time[:40]!r} is no time") from None


def _first_input_day(log: Path) -> date | None:
    """The day of the run's earliest logged input (the first of each partition of its audit
    log, whose inputs come in the order of their days); None without a log."""
    if not log.is_dir():
        return None
    firsts = []
    for partition in list_partitions(log):
        for _, segment in list_segments(partition)[:1]:
            for line in read_lines(segment):
                record = stored_record(line)
                if record.kind == INPUT:
                    firsts.append(_logged_day(record.event_time, line))
                    break
    return min(firsts, default=None)
