"""Simulate a B2B receivables portfolio and write it as feed contract v1 files.

The generative process, in plain words:

A seller based in Germany sells on credit to business customers (about 74 % German, the rest
Austrian, Dutch, French, British and American; 80 % small and medium firms, 20 % corporates)
in thirteen sectors whose baseline risk differs (construction and hospitality riskiest,
utilities and health care safest). Each customer has a latent financial health that moves
month by month: it reverts to the firm's own mean (set by sector, size and chance), is pushed
by a common economic factor and by sector shocks (a bad quarter for construction hits all
builders at once), and suffers occasional one-off dips that fade within months. Each month a
firm may slide into distress, more likely the weaker its health; three quarters of such
episodes drag health down steadily for 3-12 months and end in failure, a quarter recover.
Separately, any healthy firm can fail suddenly (fraud, loss of its main client) without any
warning in its health. A failed firm stops buying and paying. Its default is then shown by
an insolvency, administration or liquidation filing within a month (most), a quick write-off
by the seller, or simply by invoices turning 90 days past due; the default date is the first
of these in the feeds. Customers buy several times a month to monthly, invoices are
lognormal in size relative to the credit limit, on net 30, 60 or 90 terms, and are paid
around the due date, later the weaker the firm (and each firm has its own habit), sometimes in
two parts or after a small credit note; healthy firms never go 90 days past due. Signals of
distress are noisy: lengthening payment delays and partial payments, a bank tradeline (for
half the customers) falling behind, late and weaker annual accounts, director resignations,
court judgments, rating downgrades, credit-limit and insurance cuts, and adverse news. The
same signals also appear, less often, at healthy firms (late months that recover, lawsuits,
departing executives, false-alarm headlines), and about a third of news names the company
instead of giving its id; a fifth of news is untagged, and a few euro customers are Chinese,
with most of their news in Chinese. Nothing in the generator looks at a detector: gradual
failures show warning signs with realistic noise and lags, and sudden ones (a quarter to a
third of the defaults observed) show none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np

from connectors.simulator.defaults import resolve_defaults
from connectors.simulator.fx import build_rates
from connectors.simulator.health import simulate_health
from connectors.simulator.ledger import build_ledger
from connectors.simulator.masterdata import build_masterdata
from connectors.simulator.news import build_news
from connectors.simulator.portfolio import EUR_RATE, draw_portfolio
from connectors.simulator.profiles import DEFAULT_PROFILE, PROFILE_NAMES, PROFILES, Run
from connectors.simulator.registry import build_registry
from connectors.simulator.riskgrades import build_country_risk, build_industry_risk
from connectors.simulator.summary import LedgerTotals, SimulationSummary, annual_default_rate
from connectors.simulator.timeline import Timeline
from connectors.simulator.tradelines import build_tradelines
from connectors.simulator.writer import write_feeds

BLOCK = 500
"""Customers generated together; fixed, because the random stream depends on it."""


def simulate(
    customers: int, months: int, seed: int, out: Path, start: date = date(2021, 1, 1),
    progress: Callable[[int], None] | None = None, profile: str = DEFAULT_PROFILE,
) -> SimulationSummary:
    """Simulate ``customers`` customers for ``months`` months from ``start`` (moved to the 1st)
    and write the feeds plus outcomes.jsonl into ``out``; same seed, same bytes.

    ``progress`` is told how many customers were finished since its last call. ``profile``
    picks the shape of book (`PROFILE_NAMES`): the receivables portfolio described above, or
    one of `connectors.simulator.profiles`.
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    if profile != DEFAULT_PROFILE:
        if profile not in PROFILES:
            raise ValueError(f"no profile {profile!r}; one of {', '.join(PROFILE_NAMES)}")
        return PROFILES[profile](Run(customers, months, seed, out, progress), start)
    rng = np.random.default_rng(seed)
    tl = Timeline.build(start, months)
    pf = draw_portfolio(rng, customers)
    health = simulate_health(rng, pf, months, tl.month_start)
    eur = np.array([EUR_RATE[c] for c in pf.currency])

    feeds: dict[str, list[str]] = {
        "fx": build_rates(seed, set(pf.currency), tl),
        "country_risk": build_country_risk(set(pf.country), tl),
        "industry_risk": build_industry_risk(tl),
        "customers": [], "payments": [], "news": [], "registry": []}
    outcomes: list[str] = []
    default_day = np.empty(customers, dtype=np.int64)
    totals = LedgerTotals()
    for first in range(0, customers, BLOCK):
        block = np.arange(first, min(first + BLOCK, customers))
        ledger = build_ledger(rng, block, pf, health, tl)
        trade = build_tradelines(rng, block, pf, health, tl)
        dflt = resolve_defaults(rng, block, pf, health, tl, ledger, trade.first_dpd90)
        feeds["payments"] += ledger.lines + trade.lines + dflt.payment_lines
        feeds["registry"] += dflt.registry_lines + build_registry(rng, block, pf, health, tl, dflt)
        feeds["news"] += build_news(rng, block, pf, health, tl, dflt)
        feeds["customers"] += build_masterdata(rng, block, pf, health, tl, dflt)
        outcomes += dflt.outcome_lines
        default_day[block] = dflt.default_day

        rate = eur[ledger.customer]
        totals.add_invoices(ledger.issue, ledger.due, np.round(ledger.amount * rate))
        for inv, day, amount in (
            (ledger.settled_invoice, ledger.settled_day, ledger.settled_amount),
            (dflt.written_invoice, dflt.written_day, dflt.written_amount),
        ):
            totals.add_settlements(day, ledger.due[inv], np.round(amount * rate[inv]))
        if progress is not None:
            progress(len(block))

    records = write_feeds(out, feeds, outcomes)
    defaulted = default_day < tl.end
    dso, overdue = totals.dso_and_overdue(tl)
    return SimulationSummary(
        customers=customers,
        months=months,
        seed=seed,
        defaults=int(defaulted.sum()),
        sudden_defaults=int((defaulted & health.sudden).sum()),
        records=MappingProxyType(records),
        annual_default_rate=annual_default_rate(default_day, tl.end),
        dso_days=dso,
        overdue_share=overdue,
    )
