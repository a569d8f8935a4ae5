"""Monthly bank or bureau tradelines for the half of customers a bureau reports on.

The snapshot describes the customer's credit line at its bank, not the seller's ledger: a
facility of one to four times the trade credit limit, drawn more as stress rises. Healthy
firms are now and then a few weeks behind (noise); stressed firms more often and longer,
but never 90 days before they fail. After the failure day nothing is repaid, so days past
due climb by the calendar and the first snapshot at 90+ is a default event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.health import Health
from connectors.simulator.lines import tradeline
from connectors.simulator.portfolio import Portfolio
from connectors.simulator.timeline import NEVER, Timeline


@dataclass(frozen=True)
class Tradelines:
    """Payments-feed lines, and per customer of the block the first snapshot day at 90+ DPD."""

    lines: list[str]
    first_dpd90: np.ndarray


def build_tradelines(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline
) -> Tradelines:
    """Snapshots on the last day of every month for the block's reported customers."""
    k, months = len(block), tl.months
    stress = health.stress[block]
    failure = health.failure_day[block]
    snapshot = tl.month_start[1:] - 1
    facility = np.round(pf.credit_limit[block] * rng.uniform(1.0, 4.0, k), -3)
    facility = (facility * 100).astype(np.int64)
    use = np.clip(0.4 + 0.4 * stress + rng.normal(0.0, 0.08, (k, months)), 0.05, 1.0)
    outstanding = (facility[:, None] * use).astype(np.int64)

    behind = rng.random((k, months)) < 0.03 + 0.6 * stress**2
    dpd = np.where(behind, np.minimum(89, rng.integers(1, 31, (k, months)) + 55 * stress), 0)
    dpd = dpd.astype(np.int64)
    overdue = np.where(behind, outstanding * rng.uniform(0.03, 0.25, (k, months)) * (1 + stress), 0)
    repaid = outstanding * rng.uniform(0.03, 0.06, (k, months)) * (1.0 - 0.7 * stress)

    failed = snapshot[None, :] >= failure[:, None]
    since = snapshot[None, :] - np.minimum(failure, tl.end)[:, None]
    worst_before = np.where(failed, 0, dpd).max(axis=1, initial=0)
    dpd = np.where(failed, since + np.minimum(worst_before, 30)[:, None], dpd)
    overdue = np.where(failed, outstanding * np.minimum(1.0, 0.3 + since / 180), overdue)
    overdue = np.minimum(overdue, outstanding).astype(np.int64)
    repaid = np.where(failed, 0, repaid).astype(np.int64)

    reported = pf.has_tradeline[block]
    at90 = reported[:, None] & (dpd >= 90)
    first = np.where(at90.any(axis=1), snapshot[np.argmax(at90, axis=1)], NEVER)

    dates, ids, cur = tl.dates, pf.ids, pf.currency
    days = [dates[d] for d in snapshot.tolist()]
    dpd_l, out_l = dpd.tolist(), outstanding.tolist()
    over_l, paid_l = overdue.tolist(), repaid.tolist()
    lines = []
    for row in np.flatnonzero(reported).tolist():
        c, limit = int(block[row]), int(facility[row])
        for m in range(months):
            lines.append(tradeline(
                days[m], f"trd-{c:06d}-{m:04d}", ids[c], dpd_l[row][m], out_l[row][m], cur[c],
                overdue=over_l[row][m], credit_limit=limit, paid_in_period=paid_l[row][m],
            ))
    return Tradelines(lines, first)
