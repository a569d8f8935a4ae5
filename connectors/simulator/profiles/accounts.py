"""What the private-account books (cards, monthly status) share: holders, balances, defaults.

Holders live in the euro area and are billed in EUR, so the contract's materiality threshold
(500 in the reporting currency) applies to their amounts as written. A revolving balance is
the limit times a utilisation that moves month by month; a holder two or more payments behind
can no longer spend, and the balance grows by interest and late fees instead. Four payments
behind, the issuer terminates the agreement and the whole balance falls due, so it all shows
as overdue. A default is the first snapshot 90+ days past due on a material amount, as the
contract defines it, or, in a book that reports no amounts, on its days past due alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.lines import customer, tradeline
from connectors.simulator.names import person_names
from connectors.simulator.timeline import Timeline

MATERIAL_CENTS = 50_000
"""The contract's materiality threshold, 500 EUR: smaller amounts 90+ days late are no default."""
COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "BE", "AT", "PT", "IE", "FI")
_COUNTRY_WEIGHTS = (0.30, 0.20, 0.15, 0.12, 0.07, 0.05, 0.04, 0.03, 0.02, 0.02)
CURRENCY = "EUR"
ACCELERATION = 4
"""Payments behind at which the whole balance falls due (the snapshot shows 90+ days)."""
FROZEN = 2
"""Payments behind from which the card is blocked for new spending."""
_INTEREST = 0.02
_LATE_FEE = 2_500
_MIN_DUE = 2_500
_MIN_DUE_SHARE = 0.05
NO_DEFAULT = -1


@dataclass(frozen=True)
class Holders:
    """Master data of the book's accounts."""

    ids: list[str]
    names: list[str]
    countries: list[str]
    limit: np.ndarray
    """Credit limit in cents, a multiple of 100 EUR."""


def draw_limits(rng: np.random.Generator, n: int, median: float, spread: float) -> np.ndarray:
    """Lognormal credit limits in cents: 100 EUR steps from 500 to 50,000 EUR."""
    euros = np.clip(np.round(rng.lognormal(np.log(median), spread, n), -2), 500, 50_000)
    return (euros * 100).astype(np.int64)


def draw_holders(rng: np.random.Generator, prefix: str, limit: np.ndarray) -> Holders:
    """Ids ``<prefix>000000``..., names and countries for accounts with limits ``limit``."""
    n = len(limit)
    countries = [str(c) for c in rng.choice(COUNTRIES, size=n, p=_COUNTRY_WEIGHTS)]
    return Holders([f"{prefix}{i:06d}" for i in range(n)], person_names(rng, n), countries,
                   limit)


@dataclass(frozen=True)
class Revolving:
    """Balances and payments of every account (rows) at each step (columns), in cents."""

    balance: np.ndarray
    paid: np.ndarray
    overdue: np.ndarray


def revolve(
    rng: np.random.Generator, limit: np.ndarray, utilisation: np.ndarray, behind: np.ndarray,
    transactor: np.ndarray,
) -> Revolving:
    """Balances, payments and arrears that follow from utilisation and payments behind.

    A current holder pays the whole previous balance (transactors) or one to four times the
    minimum due (revolvers); one catching up pays all arrears; one staying behind pays only
    the month's minimum; a miss pays nothing.
    """
    n, steps = behind.shape
    balance = np.empty((n, steps))
    paid = np.zeros((n, steps))
    multiple = rng.uniform(1.0, 4.0, (n, steps))
    previous = limit * utilisation[:, 0]
    was_behind = np.zeros(n, dtype=np.int64)
    for t in range(steps):
        now = behind[:, t]
        due = np.minimum(previous, np.maximum(_MIN_DUE, _MIN_DUE_SHARE * previous))
        current = np.where(transactor, previous, np.minimum(previous, due * multiple[:, t]))
        paid[:, t] = np.select(
            [now > was_behind, (was_behind > 0) & (now == 0), was_behind > 0],
            [0.0, np.minimum(previous, (was_behind + 1) * due), due],
            current,
        )
        frozen = previous * (1.0 + _INTEREST) + _LATE_FEE - paid[:, t]
        balance[:, t] = np.where(now >= FROZEN, frozen, limit * utilisation[:, t])
        previous, was_behind = balance[:, t], now
    arrears = behind * np.maximum(_MIN_DUE, _MIN_DUE_SHARE * balance)
    overdue = np.where(behind >= ACCELERATION, balance, np.minimum(balance, arrears))
    return Revolving(*(np.round(a).astype(np.int64) for a in (balance, paid, overdue)))


def first_default(dpd: np.ndarray, amount: np.ndarray | None,
                  reported: np.ndarray) -> np.ndarray:
    """Step of each account's first reported snapshot 90+ days past due on a material
    amount (on any, where the book reports no ``amount``), or `NO_DEFAULT`."""
    hit = reported & (dpd >= 90)
    if amount is not None:
        hit &= amount >= MATERIAL_CENTS
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), NO_DEFAULT)


def master_lines(tl: Timeline, holders: Holders, entry_month: np.ndarray) -> list[str]:
    """One master-data record per account, on the first day of the month it enters the book."""
    days = tl.month_start[entry_month].tolist()
    return [
        customer(tl.dates[day], f"cus-{i:06d}-00", holders.ids[i], holders.names[i],
                 holders.countries[i], CURRENCY, int(holders.limit[i]))
        for i, day in enumerate(days)
    ]


def tradeline_lines(
    tl: Timeline, holders: Holders, month: np.ndarray, reported: np.ndarray, dpd: np.ndarray,
    outstanding: np.ndarray | None, *, overdue: np.ndarray | None = None,
    paid: np.ndarray | None = None, with_limit: bool = False,
) -> list[str]:
    """A tradeline on the last day of ``month[i, t]`` for every reported step of every account;
    the balance, ``overdue``, ``paid`` and the credit limit only when given."""
    rows, steps = np.nonzero(reported)
    days = (tl.month_start[month[rows, steps] + 1] - 1).tolist()
    columns = [a[rows, steps].tolist() if a is not None else [None] * len(rows)
               for a in (dpd, outstanding, overdue, paid)]
    limits = holders.limit[rows].tolist() if with_limit else [None] * len(rows)
    return [
        tradeline(tl.dates[day], f"trd-{i:06d}-{t:02d}", holders.ids[i], d, o, CURRENCY,
                  overdue=od, credit_limit=lim, paid_in_period=p)
        for i, t, day, d, o, od, p, lim in zip(
            rows.tolist(), steps.tolist(), days, *columns, limits, strict=True)
    ]
