"""The ``cards`` profile: a card book shaped like the public card-default data.

That data follows 30,000 card accounts for six monthly statements and records whether each
defaults the month after; about a fifth do. Here every account enters the book with a master
record (name, country, EUR, credit limit) and then shows only monthly bureau tradelines: five
or six observed snapshots and one more in the outcome month, so six or seven in all. Account
starts are spread over the whole horizon, so in any month only a small part of the book is
live. An account defaults when its outcome-month snapshot is 90+ days past due on 500 EUR or
more, never earlier: like the public data, the book holds only accounts not in default at
their last observed statement.

Behind the snapshots: holders are steady (most) or stretched (heavy revolvers), each with a
mean health; health drifts month by month (`latent`) with the economy of the calendar month,
and now and then a life event strikes. It decides each month's payment (`delinquency`), so
accounts roll 30, 60, 90 days behind and often cure on the way, and weaker holders draw more
of their limit (`accounts`). Some accounts are charged off without that roll: the holder's
personal insolvency (likelier the weaker the health), a death or a fraud; the bureau reports
a charged-off card in its worst bucket, 90+ days past due with the whole balance overdue.
Those are the sudden defaults: the last statements showed the account current or a month
behind. A default that rolled shows 60+ days past due the month before.

Accounts are drawn, run through their months, and sorted by what their outcome month shows:
default, no default, or already in default earlier (dropped). About 22 % of the book is then
taken from the defaulters and the rest from the others, as the public data over-represents
defaults against any real book's monthly rate; the histories are the process's own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np

from connectors.simulator.profiles.accounts import (
    ACCELERATION,
    NO_DEFAULT,
    draw_holders,
    draw_limits,
    first_default,
    master_lines,
    revolve,
    tradeline_lines,
)
from connectors.simulator.profiles.book import Book, Run, finish, live_share
from connectors.simulator.profiles.delinquency import missed_payments
from connectors.simulator.profiles.latent import account_health, economy
from connectors.simulator.summary import SimulationSummary
from connectors.simulator.timeline import NEVER, Timeline

PROFILE = "cards"
HISTORY = (5, 6)
"""Observed snapshots before the outcome month."""
_HISTORY_P = (0.15, 0.85)
SEASONING = 3
"""Months an account already ran, unobserved, before its first snapshot."""
STEPS = SEASONING + max(HISTORY) + 1
OUTCOME = STEPS - 1
"""The step of the outcome month; an account's observed steps end just before it."""
MIN_MONTHS = max(HISTORY) + 1
DEFAULT_SHARE = 0.22
"""Share of the book taken from accounts that default in their outcome month."""
STRETCHED_SHARE = 0.3
_STEADY, _STRETCHED = (3.6, 0.8), (1.5, 0.8)
"""Mean and spread of the mean health of steady and stretched holders."""
CHARGE_OFF_BASE = 0.002
"""Monthly chance of a charge-off whatever the health (a death, a fraud)."""
CHARGE_OFF_OFFSET = -1.5
"""The insolvency charge-off chance per month is sigmoid(CHARGE_OFF_OFFSET - health)."""
_BATCH = 20_000
"""Accounts drawn at a time; fixed, because the random stream depends on it."""


@dataclass(frozen=True)
class _Accounts:
    """Per account (first axis): outcome month, history length, limit, what it shows."""

    outcome_month: np.ndarray
    history: np.ndarray
    limit: np.ndarray
    charged_off: np.ndarray
    """Charged off in the outcome month, without the usual roll."""
    dpd: np.ndarray
    balance: np.ndarray
    paid: np.ndarray
    overdue: np.ndarray
    default_step: np.ndarray

    def __len__(self) -> int:
        return len(self.history)

    def select(self, keep: np.ndarray) -> _Accounts:
        return _Accounts(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[_Accounts]) -> _Accounts:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})


def _draw(rng: np.random.Generator, k: int, months: int, factor: np.ndarray) -> _Accounts:
    """Draw ``k`` accounts and run them through their months (some default too early)."""
    history = rng.choice(HISTORY, k, p=_HISTORY_P)
    outcome_month = history + (rng.random(k) * (months - history)).astype(np.int64)
    calendar = outcome_month[:, None] - (OUTCOME - np.arange(STEPS))[None, :]
    stretched = rng.random(k) < STRETCHED_SHARE
    mean = np.where(stretched, rng.normal(*_STRETCHED, k), rng.normal(*_STEADY, k))
    latent = account_health(rng, mean, calendar + STEPS - 1, factor, phi=0.8, sigma=0.45,
                            event_probability=0.005, event_size=(2.0, 4.0))
    behind = missed_payments(rng, latent.health, arrears_drag=1.2, cure=0.3,
                             terminated_at=ACCELERATION)

    # A charged-off account only falls further behind, one payment a month.
    hazard = CHARGE_OFF_BASE + 1.0 / (1.0 + np.exp(latent.health - CHARGE_OFF_OFFSET))
    charged = rng.random((k, STEPS)) < hazard
    charge_off = np.where(charged.any(axis=1), np.argmax(charged, axis=1), STEPS)
    since = np.arange(STEPS)[None, :] - charge_off[:, None]
    at_charge_off = np.maximum(behind[np.arange(k), np.minimum(charge_off, OUTCOME)],
                               ACCELERATION)
    behind = np.where(since >= 0, at_charge_off[:, None] + since, behind)

    transactor = rng.random(k) < np.where(stretched, 0.05, 0.4)
    usual = np.where(transactor, rng.beta(1.2, 6.0, k), rng.beta(2.0, 2.0, k))
    pressure = 0.06 * np.clip(3.0 - latent.health, -1.0, 5.0)
    utilisation = np.clip(usual[:, None] + pressure + rng.normal(0.0, 0.06, (k, STEPS)),
                          0.01, 1.0)
    limit = draw_limits(rng, k, median=3_000.0, spread=0.8)
    revolving = revolve(rng, limit, utilisation, behind, transactor)
    late_days = rng.integers(1, 29, k)[:, None]
    dpd = np.where(behind == 0, 0, 30 * (behind - 1) + late_days)
    reported = np.arange(STEPS)[None, :] >= (OUTCOME - history)[:, None]
    default_step = first_default(dpd, revolving.overdue, reported)
    return _Accounts(outcome_month, history, limit, charge_off == OUTCOME, dpd,
                     revolving.balance, revolving.paid, revolving.overdue, default_step)


def _sample(rng: np.random.Generator, n: int, months: int, factor: np.ndarray) -> _Accounts:
    """``n`` accounts, each drawn from the defaulters with probability `DEFAULT_SHARE` and
    from the accounts that do not default otherwise, in the order they were drawn."""
    from_defaulters = rng.random(n) < DEFAULT_SHARE
    wanted = (n - int(from_defaulters.sum()), int(from_defaulters.sum()))
    found: tuple[list[_Accounts], list[_Accounts]] = ([], [])
    counts = [0, 0]
    while counts[0] < wanted[0] or counts[1] < wanted[1]:
        batch = _draw(rng, _BATCH, months, factor)
        for kind, step in enumerate((NO_DEFAULT, OUTCOME)):
            if counts[kind] < wanted[kind]:
                found[kind].append(batch.select(batch.default_step == step))
                counts[kind] += len(found[kind][-1])
    pool = _Accounts.concat([_Accounts.concat(found[kind]).select(slice(wanted[kind]))
                             for kind in (0, 1) if wanted[kind]])  # (a small book: one kind)
    order = np.empty(n, dtype=np.int64)
    order[~from_defaulters] = np.arange(wanted[0])
    order[from_defaulters] = wanted[0] + np.arange(wanted[1])
    return pool.select(order)


def simulate_cards(run: Run, start: date) -> SimulationSummary:
    """Write a card book of ``run.customers`` accounts over ``run.months`` months from ``start``."""
    if run.months < MIN_MONTHS:
        raise ValueError(f"the cards profile needs at least {MIN_MONTHS} months")
    rng = np.random.default_rng(run.seed)
    tl = Timeline.build(start, run.months)
    factor = economy(rng, run.months + STEPS - 1)
    accounts = _sample(rng, run.customers, run.months, factor)
    run.done(run.customers)
    return finish(run, PROFILE, tl, _book(rng, tl, accounts))


def _book(rng: np.random.Generator, tl: Timeline, acc: _Accounts) -> Book:
    holders = draw_holders(rng, "K", acc.limit)
    first_month = acc.outcome_month - acc.history
    month = acc.outcome_month[:, None] - (OUTCOME - np.arange(STEPS))[None, :]
    reported = np.arange(STEPS)[None, :] >= (OUTCOME - acc.history)[:, None]
    payments = tradeline_lines(tl, holders, month, reported, acc.dpd, acc.balance,
                               overdue=acc.overdue, paid=acc.paid, with_limit=True)
    outcome_day = tl.month_start[acc.outcome_month + 1] - 1
    defaulted = acc.default_step == OUTCOME
    return Book(
        feeds={"customers": master_lines(tl, holders, first_month), "payments": payments,
               "news": [], "registry": []},
        ids=holders.ids,
        entry_day=tl.month_start[first_month],
        exit_day=outcome_day + 1,
        default_day=np.where(defaulted, outcome_day, NEVER),
        kind="dpd90",
        sudden=acc.charged_off,
        figures={
            "tradelines_per_account": float(reported.sum(axis=1).mean()),
            "live_share": live_share(first_month, acc.outcome_month, tl.months),
        },
    )
