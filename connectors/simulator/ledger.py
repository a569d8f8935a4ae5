"""The receivables ledger of a block of customers: invoices, payments and credit notes.

Each customer buys a Poisson number of times a month (fewer when stressed, never after it
fails) and is invoiced on its payment terms. It pays each invoice once, after a delay around
the due date that lengthens with stress and with its own habit, sometimes in two parts, and
sometimes after a small credit note for a dispute. Delays are capped below 85 days past due,
so only a failed customer ever leaves an invoice 90 days past due. Nothing is paid on or
after the failure day; what is then still open is handed to `defaults`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.health import Health
from connectors.simulator.lines import head, money
from connectors.simulator.portfolio import Portfolio
from connectors.simulator.timeline import Timeline

MAX_DAYS_LATE = 84
MIN_INVOICE_CENTS = 10_000


@dataclass(frozen=True)
class Ledger:
    """Invoices and settlements of a block, as arrays; ``lines`` are the payments-feed records."""

    lines: list[str]
    customer: np.ndarray
    seq: np.ndarray
    issue: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    """Cents, in the customer's currency."""
    open_at_failure: np.ndarray
    """Cents still unpaid on the failure day (0 for customers that do not fail)."""
    settled_invoice: np.ndarray
    """Index into the invoice arrays of each payment or credit note written."""
    settled_day: np.ndarray
    settled_amount: np.ndarray


def _invoices(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, issue day and amount (cents) of every invoice of the block, by customer and day."""
    stress = health.stress[block]
    rate = pf.invoices_per_month[block, None] * (1.0 - 0.5 * stress)
    counts = rng.poisson(rate)
    rows, months = np.nonzero(counts)
    reps = counts[rows, months]
    customer = np.repeat(block[rows], reps)
    month = np.repeat(months, reps)
    issue = tl.month_start[month] + (rng.random(len(month)) * tl.month_length[month]).astype(
        np.int64
    )
    typical = pf.monthly_volume[customer] / pf.invoices_per_month[customer]
    amount = np.maximum(
        MIN_INVOICE_CENTS, np.round(typical * rng.lognormal(-0.18, 0.6, len(customer)))
    ).astype(np.int64)
    keep = issue < health.failure_day[customer]
    customer, issue, amount = customer[keep], issue[keep], amount[keep]
    order = np.lexsort((issue, customer))
    return customer[order], issue[order], amount[order]


def _days_late(
    rng: np.random.Generator, stress: np.ndarray, habit: np.ndarray, terms: np.ndarray
) -> np.ndarray:
    """Days after the due date each invoice is paid (negative: early), given stress at due."""
    n = len(stress)
    late = habit * (1.0 + 4.0 * stress) * rng.gamma(2.0, 0.5, n)
    late = np.where(late > MAX_DAYS_LATE, rng.integers(65, MAX_DAYS_LATE + 1, n), late)
    on_time = rng.integers(0, 4, n)
    early = -(rng.random(n) * np.minimum(10, terms - 5)).astype(np.int64)
    choice = rng.random(n)
    p_early = 0.3 * (1.0 - stress)
    return np.where(
        choice < p_early, early, np.where(choice < p_early + 0.25, on_time, late.astype(np.int64))
    )


def build_ledger(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline
) -> Ledger:
    """Generate the ledger of the customers in ``block`` (indices into the portfolio)."""
    customer, issue, amount = _invoices(rng, block, pf, health, tl)
    n = len(customer)
    starts = np.r_[0, np.flatnonzero(np.diff(customer)) + 1]
    seq = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    terms = pf.terms[customer]
    due = issue + terms
    stress = health.stress[customer, tl.month_of(due)]
    pay = due + _days_late(rng, stress, pf.lateness[customer], terms)

    partial = rng.random(n) < 0.04 + 0.3 * stress
    first = np.where(partial, np.round(amount * rng.uniform(0.3, 0.7, n)), 0).astype(np.int64)
    first_day = issue + ((pay - issue) * rng.uniform(0.3, 0.8, n)).astype(np.int64)
    disputed = rng.random(n) < 0.03
    credit = np.where(disputed, np.round(amount * rng.uniform(0.02, 0.15, n)), 0).astype(np.int64)
    credit_day = issue + rng.integers(3, 20, n)
    rest = amount - first - credit

    # Settlement candidates: credit note, first part, final payment (kind 0, 1, 2).
    inv = np.concatenate([np.flatnonzero(disputed), np.flatnonzero(partial), np.arange(n)])
    kind = np.repeat([0, 1, 2], [disputed.sum(), partial.sum(), n])
    day = np.concatenate([credit_day[disputed], first_day[partial], pay])
    paid = np.concatenate([credit[disputed], first[partial], rest])
    before_failure = day < health.failure_day[customer[inv]]
    open_at_failure = np.where(
        health.failure_day[customer] < tl.end,
        amount - np.bincount(inv[before_failure], paid[before_failure], n).astype(np.int64),
        0,
    )
    written = before_failure & (day < tl.end)
    inv, kind, day, paid = inv[written], kind[written], day[written], paid[written]

    lines = _format(pf, tl, customer, seq, issue, due, amount, inv, kind, day, paid)
    return Ledger(lines, customer, seq, issue, due, amount, open_at_failure, inv, day, paid)


def _format(
    pf: Portfolio, tl: Timeline, customer: np.ndarray, seq: np.ndarray, issue: np.ndarray,
    due: np.ndarray, amount: np.ndarray, inv: np.ndarray, kind: np.ndarray, day: np.ndarray,
    paid: np.ndarray,
) -> list[str]:
    dates, ids, cur = tl.dates, pf.ids, pf.currency
    customers, seqs = customer.tolist(), seq.tolist()
    lines = [
        head(dates[d], f"inv-{c:06d}-{k:05d}", ids[c])
        + f',"type":"invoice","invoice_id":"INV-{c:06d}-{k:05d}","amount":{money(a)},'
        f'"currency":"{cur[c]}","issue_date":"{dates[d]}","due_date":"{dates[dd]}"}}'
        for c, k, d, dd, a in zip(
            customers, seqs, issue.tolist(), due.tolist(), amount.tolist(), strict=True
        )
    ]
    names = ("credit_note", "payment", "payment")
    prefix = ("crn", "pp1", "pay")
    for i, kd, d, a in zip(inv.tolist(), kind.tolist(), day.tolist(), paid.tolist(), strict=True):
        c, k = customers[i], seqs[i]
        lines.append(
            head(dates[d], f"{prefix[kd]}-{c:06d}-{k:05d}", ids[c])
            + f',"type":"{names[kd]}","invoice_id":"INV-{c:06d}-{k:05d}","amount":{money(a)},'
            f'"currency":"{cur[c]}"}}'
        )
    return lines

