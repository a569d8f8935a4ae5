"""The ``statements`` profile: firms known only from one set of filed accounts a year.

Shaped like the public bankruptcy-prediction data (firm-years of financial statements and
whether the firm went bankrupt in the following year): each firm has a master record and an
`accounts_filed` a year (revenue, EBIT, net income, total and current assets and liabilities,
retained earnings), and a firm that fails files for insolvency (`status_change` to
`insolvency_filed`) within twelve months of its last accounts. Nothing else.

How it is generated: firms are drawn like the receivables customers (sector, size, country;
`portfolio`). Each firm's health drifts slowly with the economy and now and then takes a blow,
and the firm fails the first month its health is below a floor (`solvency`): a few percent a
year, about a fifth of them suddenly, from a blow rather than a slide. Each firm has
its own fiscal year end (mostly December) and habitual filing delay (2.5 to 9 months); it
enters the book with the first accounts it files in the horizon, alive (`solvency`). Later
accounts come a year apart, a little later when the firm is weak but never more than a year
after the previous ones, and only while the firm is alive. The figures (`financials`) follow
the firm's mean health over the fiscal year, with noise and carry-over, so they worsen before
most failures; but the accounts describe a year that ended months before they were filed,
a decline can start after that, and sudden failures show nothing, so a ratio rule such as
Altman's Z'' ranks failures well above chance and far from perfectly.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from connectors.simulator.lines import customer, head, money
from connectors.simulator.portfolio import INDUSTRIES, Portfolio, draw_portfolio
from connectors.simulator.profiles.book import Book, Run, finish
from connectors.simulator.profiles.financials import FIGURES, BalanceSheets
from connectors.simulator.profiles.solvency import BEFORE, simulate_solvency
from connectors.simulator.summary import SimulationSummary
from connectors.simulator.timeline import NEVER, Timeline

PROFILE = "statements"
MIN_MONTHS = 13
"""Every firm files its first accounts within the first year, so the book needs a year and
a month to hold them all."""
TYPICAL_HEALTH = 4.4
"""Latent health of a typical firm (`solvency`): its accounts show no weakness."""
WEAKNESS_SCALE = 1.0
"""Health below typical per unit of weakness in the accounts (`financials`)."""
_DECEMBER_SHARE = 0.6
_SOONEST, _LATEST = 300, 365
"""Days between one filing and the next, at least and at most."""


class _Calendar:
    """Month ends as day numbers and dates, from two years before the start to past the end."""

    def __init__(self, tl: Timeline) -> None:
        self.first_year = tl.start.year - 2
        years = tl.months // 12 + 5
        ends = [[_month_end(self.first_year + y, m) for m in range(1, 13)] for y in range(years)]
        self.days = np.array([[tl.day_of(d) for d in row] for row in ends], dtype=np.int64)
        self.iso = [[d.isoformat() for d in row] for row in ends]
        self.start = tl.start

    def month_index(self, row: np.ndarray, month: np.ndarray) -> np.ndarray:
        """Month of the horizon (negative before it) of the month ends at ``row, month``."""
        return (self.first_year + row - self.start.year) * 12 + month - (self.start.month - 1)


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def simulate_statements(run: Run, start: date) -> SimulationSummary:
    """Write a book of ``run.customers`` firms with annual accounts over ``run.months`` months."""
    if run.months < MIN_MONTHS:
        raise ValueError(f"the statements profile needs at least {MIN_MONTHS} months")
    rng = np.random.default_rng(run.seed)
    tl = Timeline.build(start, run.months)
    cal = _Calendar(tl)
    pf = draw_portfolio(rng, run.customers)
    n = run.customers

    # Fiscal year end and habitual delay; the first accounts are the first filed on or after
    # the start (so within its first year).
    year_end = np.where(rng.random(n) < _DECEMBER_SHARE, 11, rng.integers(0, 11, n))
    delay = rng.integers(75, 271, n)
    first_year = np.argmax(cal.days[:, year_end].T + delay[:, None] >= 0, axis=1)
    first_filing = cal.days[first_year, year_end] + delay
    solvency = simulate_solvency(rng, pf, tl, entry_month=tl.month_of(first_filing) + 1)

    sheets = BalanceSheets(rng, pf.corporate)
    filing = first_filing
    registry: list[str] = []
    filed = 0
    for k in range(tl.months // 12 + 2):
        period_end = cal.days[first_year + k, year_end]
        year_health = _year_mean(solvency.health, cal.month_index(first_year + k, year_end))
        weakness = np.clip((TYPICAL_HEALTH - year_health) / WEAKNESS_SCALE, -1.0, 2.0)
        if k:
            planned = period_end + delay + rng.normal(0.0, 12.0, n).astype(np.int64)
            planned += (60 * np.maximum(weakness, 0.0)).astype(np.int64)
            filing = np.clip(planned, filing + _SOONEST, filing + _LATEST)
        accounts = sheets.next_year(weakness)
        files = (filing < solvency.failure_day) & (filing < tl.end)
        filed += int(files.sum())
        registry += _filings(tl, cal, pf, k, filing, first_year + k, year_end, accounts, files)
    run.done(n)

    failed = solvency.failure_day < tl.end
    registry += [
        head(tl.dates[day], f"sts-{c:06d}-0", pf.ids[c])
        + ',"type":"status_change","status":"insolvency_filed"}'
        for c, day in zip(np.flatnonzero(failed).tolist(),
                          solvency.failure_day[failed].tolist(), strict=True)
    ]
    book = Book(
        feeds={"customers": _master(tl, pf, first_filing), "payments": [], "news": [],
               "registry": registry},
        ids=pf.ids,
        entry_day=first_filing,
        exit_day=np.full(n, tl.end),
        default_day=np.where(failed, solvency.failure_day, NEVER),
        kind="insolvency",
        sudden=solvency.sudden,
        figures={"filings_per_firm": filed / n},
    )
    return finish(run, PROFILE, tl, book)


def _year_mean(health: np.ndarray, last_month: np.ndarray) -> np.ndarray:
    """Each firm's mean health over the twelve months to ``last_month`` (horizon months;
    months past the horizon, whose accounts are never filed in it, count as its last)."""
    columns = np.minimum(BEFORE + last_month[:, None] - np.arange(12)[None, :],
                         health.shape[1] - 1)
    return health[np.arange(len(health))[:, None], columns].mean(axis=1)


def _filings(
    tl: Timeline, cal: _Calendar, pf: Portfolio, k: int, filing: np.ndarray,
    year: np.ndarray, year_end: np.ndarray, accounts: dict[str, np.ndarray], files: np.ndarray,
) -> list[str]:
    """The ``k``-th accounts_filed line of every firm that files it."""
    rows = np.flatnonzero(files)
    thousands = {name: np.round(accounts[name][rows], -3).astype(np.int64) * 100
                 for name in FIGURES}
    lines = []
    for j, c in enumerate(rows.tolist()):
        figures = ",".join(f'"{name}":{money(int(thousands[name][j]))}' for name in FIGURES)
        lines.append(
            head(tl.dates[int(filing[c])], f"fil-{c:06d}-{k:02d}", pf.ids[c])
            + f',"type":"accounts_filed","period_end":"{cal.iso[int(year[c])][int(year_end[c])]}",'
            f'"currency":"{pf.currency[c]}","financials":{{{figures}}}}}'
        )
    return lines


def _master(tl: Timeline, pf: Portfolio, first_filing: np.ndarray) -> list[str]:
    """One master record per firm, on the day its first accounts enter the book."""
    lines = []
    for c, day in enumerate(first_filing.tolist()):
        industry = INDUSTRIES[int(pf.industry[c])]
        lines.append(customer(
            tl.dates[day], f"cus-{c:06d}-00", pf.ids[c], pf.names[c], pf.country[c],
            pf.currency[c], int(pf.credit_limit[c]) * 100, industry=industry.name,
            tags=["corporate" if pf.corporate[c] else "sme", f"nace:{industry.nace}"],
        ))
    return lines

