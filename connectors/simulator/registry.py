"""Company-registry events: filed accounts, late filings, directors, capital, judgments, ratings.

Accounts for each calendar year are filed 3-10 months after year end when healthy; stress
delays them (past the 12-month deadline, which triggers `accounts_overdue`) and weakens the
figures (margins, equity, liquidity), with noise. Director resignations, court judgments and
rescue capital grow more frequent with stress but also hit healthy firms. Corporates carry a
rating that follows health through a noisy quarterly review. A failed firm files nothing more;
insolvency-type status changes come from `defaults`.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from connectors.simulator.defaults import Defaults
from connectors.simulator.health import Health
from connectors.simulator.lines import head, money
from connectors.simulator.portfolio import Portfolio
from connectors.simulator.timeline import NEVER, Timeline

_GRADES = ("CCC", "B", "BB", "BBB", "A", "AA")
_GRADE_EDGES = np.array([2.4, 3.4, 4.2, 5.0, 6.0])
_HYSTERESIS = 0.6
_AGENCY = "EuroCredit Ratings"
_ROLES = ("managing director", "finance director", "director")
_JUDGMENTS = ("payment_order", "enforcement_order", "civil_judgment")


def _euros(value: float) -> str:
    """Whole euros (rounded to the thousand, as small-company accounts are) as a decimal."""
    return f'"{int(round(value, -3))}.00"'


def _financials(rng: np.random.Generator, revenue: float, assets: float, s: float) -> str:
    """Accounts consistent with mean stress ``s`` over the year, plus noise."""
    revenue *= np.exp(rng.normal(0.0, 0.08) - 0.3 * s)
    ebit = revenue * (rng.normal(0.07, 0.03) - 0.18 * s)
    total_assets = assets * np.exp(rng.normal(0.0, 0.05))
    equity = total_assets * (rng.normal(0.32, 0.08) - 0.35 * s)
    liabilities = total_assets - equity
    interest = 0.015 * liabilities
    pre_tax = ebit - interest
    net_income = pre_tax * 0.7 if pre_tax > 0 else pre_tax
    current_assets = total_assets * rng.uniform(0.45, 0.65)
    current_ratio = max(0.3, rng.normal(1.5, 0.2) - 0.7 * s)
    current_liabilities = min(liabilities, current_assets / current_ratio)
    values = {
        "revenue": revenue, "ebit": ebit, "net_income": net_income,
        "total_assets": total_assets, "total_liabilities": liabilities,
        "current_assets": current_assets, "current_liabilities": current_liabilities,
        "retained_earnings": equity - 0.1 * total_assets, "equity": equity,
        "cash": current_assets * rng.uniform(0.05, 0.2) * (1.0 - 0.6 * s),
        "working_capital": current_assets - current_liabilities, "interest_expense": interest,
    }
    return "{" + ",".join(f'"{k}":{_euros(v)}' for k, v in values.items()) + "}"


def build_registry(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline,
    defaults: Defaults,
) -> list[str]:
    """Registry lines (except status changes) for the customers in ``block``."""
    k, months = len(block), tl.months
    stress = health.stress[block]
    start = tl.month_start[:-1]
    when = start + (rng.random((k, months)) * tl.month_length).astype(np.int64)
    live = when < health.failure_day[block][:, None]
    resign = live & (rng.random((k, months)) < 0.005 + 0.05 * stress)
    capital = live & (rng.random((k, months)) < 0.003 + 0.02 * stress)
    judgment = live & (rng.random((k, months)) < 0.001 + 0.06 * stress**2)
    # Each calendar year's months within the horizon; years before it are judged by month 0.
    years = [
        (year, np.clip(np.arange(12) + (year - tl.start.year) * 12 + 1 - tl.start.month,
                       0, months - 1))
        for year in range(tl.start.year - 1, tl.start.year + months // 12 + 1)
    ]

    lines: list[str] = []
    for row, c in enumerate(block.tolist()):
        cid, cur, failure = pf.ids[c], pf.currency[c], int(health.failure_day[c])
        events: list[tuple[int, str]] = []
        revenue = pf.monthly_volume[c] / 100 * 12 * rng.uniform(5, 15)
        assets = revenue * rng.uniform(0.5, 0.9)
        for year, fy_months in years:
            period_end = tl.day_of(date(year, 12, 31))
            s = float(stress[row, fy_months].mean())
            filed = period_end + int(rng.uniform(100, 300) + s * rng.uniform(0, 400))
            if rng.random() < 0.03:
                filed += int(rng.integers(0, 200))
            if filed >= failure:
                filed = NEVER
            deadline = period_end + 365 + int(rng.integers(1, 21))
            if filed > deadline and 0 <= deadline < tl.end:
                events.append((deadline, f',"type":"accounts_overdue","period_end":"{year}-12-31"'))
            if 0 <= filed < min(failure, tl.end):
                events.append((filed, f',"type":"accounts_filed","period_end":"{year}-12-31",'
                               f'"currency":"{cur}","financials":'
                               + _financials(rng, revenue, assets, s)))
        for m in np.flatnonzero(resign[row]).tolist():
            role = _ROLES[int(rng.integers(0, 3))]
            day = int(when[row, m])
            events.append((day, f',"type":"director_change","change":"resigned","role":"{role}"'))
            successor = day + int(rng.integers(20, 90))
            if rng.random() < 0.7 and successor < min(failure, tl.end):
                events.append(
                    (successor, f',"type":"director_change","change":"appointed","role":"{role}"')
                )
        for m in np.flatnonzero(capital[row]).tolist():
            delta = revenue * rng.uniform(0.005, 0.05) * (-1 if rng.random() < 0.25 else 1)
            events.append((int(when[row, m]),
                           f',"type":"capital_change","delta":{_euros(delta)},"currency":"{cur}"'))
        for m in np.flatnonzero(judgment[row]).tolist():
            amount = int(pf.credit_limit[c] * 100 * rng.uniform(0.02, 0.3))
            kind = _JUDGMENTS[int(rng.integers(0, 3))]
            events.append((int(when[row, m]), f',"type":"court_judgment","amount":{money(amount)},'
                           f'"currency":"{cur}","kind":"{kind}"'))
        if pf.corporate[c]:
            default_day = int(defaults.default_day[row])
            events.extend(_ratings(rng, health.health[c], tl, failure, default_day))
        for n, (day, body) in enumerate(sorted(events)):
            lines.append(head(tl.dates[day], f"reg-{c:06d}-{n:04d}", cid) + body + "}")
    return lines


def _ratings(
    rng: np.random.Generator, health: np.ndarray, tl: Timeline, failure: int, default_day: int
) -> list[tuple[int, str]]:
    """Quarterly reviews of a noisy view of the quarter's health; changes are published, then
    D on default."""
    grade = int(np.searchsorted(_GRADE_EDGES, health[0]))
    events = []
    for m in range(2, tl.months, 3):
        day = int(tl.month_start[m] + rng.integers(0, 28))
        view = health[m - 2 : m + 1].mean() + rng.normal(0.0, 0.15)
        new = int(np.searchsorted(_GRADE_EDGES, view))
        # Agencies are sticky: a grade moves only when the view is clearly outside its band.
        bounds = np.r_[-np.inf, _GRADE_EDGES, np.inf][[grade, grade + 1]]
        clear = view < bounds[0] - _HYSTERESIS or view > bounds[1] + _HYSTERESIS
        if clear and day < failure:
            events.append((day, _rating_body(_GRADES[grade], _GRADES[new])))
            grade = new
    if default_day != NEVER:
        day = default_day + int(rng.integers(1, 15))
        if day < tl.end:
            events.append((day, _rating_body(_GRADES[grade], "D")))
    return events


def _rating_body(old: str, new: str) -> str:
    return f',"type":"rating_change","agency":"{_AGENCY}","from":"{old}","to":"{new}"'
