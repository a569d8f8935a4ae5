"""How a failure shows in the feeds, and the default date that follows from it.

A failed customer stops paying on its failure day. Then, at random: it files for insolvency
(administration or liquidation) within a month (most), the seller writes its open invoices
off within weeks (fraud, disappearance), or nothing formal happens and the invoices simply
age past 90 days before a late write-off. The default date is the first default event in the
generated feeds (docs/feeds.md: insolvency-type status, write_off, or 90+ days past due in the
ledger or a tradeline), so the outcome always agrees with what the feeds show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.health import Health
from connectors.simulator.ledger import Ledger
from connectors.simulator.lines import head, money, outcome
from connectors.simulator.portfolio import Portfolio
from connectors.simulator.timeline import NEVER, Timeline

_STATUSES = ("insolvency_filed", "administration", "liquidation")


@dataclass(frozen=True)
class Defaults:
    """Default events of a block and the resulting outcome per customer of the block."""

    payment_lines: list[str]
    registry_lines: list[str]
    outcome_lines: list[str]
    default_day: np.ndarray
    """Per customer of the block; `NEVER` when no default shows in the feeds."""
    insolvency_day: np.ndarray
    """Per customer of the block: day of the insolvency-type status change, or `NEVER`."""
    written_invoice: np.ndarray
    """Index into the ledger's invoice arrays of each write-off written."""
    written_day: np.ndarray
    written_amount: np.ndarray


def resolve_defaults(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline,
    ledger: Ledger, tradeline_dpd90: np.ndarray,
) -> Defaults:
    """Draw each failure's path, write its default events and work out the outcome."""
    position = {int(c): row for row, c in enumerate(block.tolist())}
    open_inv = np.flatnonzero(ledger.open_at_failure > 0)
    by_customer: dict[int, list[int]] = {}
    for i, c in zip(open_inv.tolist(), ledger.customer[open_inv].tolist(), strict=True):
        by_customer.setdefault(c, []).append(i)

    payments: list[str] = []
    registry: list[str] = []
    default_day = np.full(len(block), NEVER)
    insolvency_day = np.full(len(block), NEVER)
    written: list[tuple[int, int, int]] = []
    kinds: dict[int, str] = {}
    for c in block[health.failure_day[block] < tl.end].tolist():
        failure, sudden = int(health.failure_day[c]), bool(health.sudden[c])
        invoices = by_customer.get(c, [])
        u = rng.random()
        insolvency = not invoices or u < (0.6 if sudden else 0.7)
        quick_write_off = not insolvency and u < 0.85
        candidates: list[tuple[int, int, str]] = []
        if insolvency:
            status_day = failure + int(rng.integers(0, 31))
            status = _STATUSES[int(rng.choice(3, p=(0.6, 0.25, 0.15)))]
            changes = [(status_day, status)]
            if status == "insolvency_filed" and rng.random() < 0.5:
                changes.append((status_day + int(rng.integers(90, 271)), "liquidation"))
            registry.extend(
                _status_line(tl, pf, c, n, d, s) for n, (d, s) in enumerate(changes) if d < tl.end
            )
            candidates.append((status_day, 0, "insolvency"))
            insolvency_day[position[c]] = status_day
            write_off_day = status_day + int(rng.integers(90, 301))
        elif quick_write_off:
            write_off_day = failure + int(rng.integers(20, 76))
        else:
            write_off_day = int(ledger.due[invoices].min()) + 90 + int(rng.integers(60, 271))
        if invoices:
            candidates.append((write_off_day, 1, "write_off"))
            candidates.append((int(ledger.due[invoices].min()) + 90, 2, "dpd90"))
        candidates.append((int(tradeline_dpd90[position[c]]), 2, "dpd90"))
        day, _, kind = min(candidates)
        if day < tl.end:
            default_day[position[c]] = day
            kinds[c] = kind
        if write_off_day < tl.end:
            for i in invoices:
                written.append((i, write_off_day, int(ledger.open_at_failure[i])))
                payments.append(_write_off_line(tl, pf, ledger, i, write_off_day))

    outcomes = [
        outcome(pf.ids[c], None) if day == NEVER else
        outcome(pf.ids[c], tl.dates[day], kinds[c], "sudden" if health.sudden[c] else "gradual")
        for c, day in zip(block.tolist(), default_day.tolist(), strict=True)
    ]
    w = np.array(written, dtype=np.int64).reshape(-1, 3)
    return Defaults(
        payments, registry, outcomes, default_day, insolvency_day, w[:, 0], w[:, 1], w[:, 2]
    )


def _status_line(tl: Timeline, pf: Portfolio, c: int, n: int, day: int, status: str) -> str:
    return (
        head(tl.dates[day], f"sts-{c:06d}-{n}", pf.ids[c])
        + f',"type":"status_change","status":"{status}"}}'
    )


def _write_off_line(tl: Timeline, pf: Portfolio, ledger: Ledger, i: int, day: int) -> str:
    c, k = int(ledger.customer[i]), int(ledger.seq[i])
    return (
        head(tl.dates[day], f"wof-{c:06d}-{k:05d}", pf.ids[c])
        + f',"type":"write_off","invoice_id":"INV-{c:06d}-{k:05d}",'
        f'"amount":{money(int(ledger.open_at_failure[i]))},"currency":"{pf.currency[c]}"}}'
    )
