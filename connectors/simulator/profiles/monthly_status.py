"""The ``monthly-status`` profile: a behavioural-scoring book of monthly delinquency status.

Shaped like the public credit-record data of about 46,000 accounts: for each account and month
only a status, how many days past due it is in 30-day buckets (0, 30, 60, 90, 120, ...), with
no balance. Each account enters the book (a master record: name, country, EUR, credit limit)
in a month drawn over the whole horizon and is reported monthly for up to five years (half
for a year and a half or less), or until the horizon ends, so only part of the book is live
at any time. A default is the first month 90+ days past due (three payments missed), there
being no amount to weigh; the account is then reported a few more months, ever further
behind, and no more. Defaults are rare: a few percent of accounts over their time in the
book.

Behind the status: holders differ in their mean health (a small group is fragile); health
drifts month by month with the economy and is now and then struck by a life event (`latent`);
it decides each month's payment (`delinquency`), so most delinquencies are a month or two that
cure. Defaults set off by a life event in the four months before count as sudden: they
come from a blow, not from a slide the account's history shows.

Besides, many sound holders now and then pay a few days late: a month with no payment missed
then reads 1–29 days past due (written 15, the bucket's middle, as a real book's status is
mapped). How often differs from holder to holder (most seldom, some most months) and says
little about default: fragile holders slip only somewhat more often. Real status books hold
many such statuses, which is why bureaus count delinquencies from 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from connectors.simulator.profiles.accounts import (
    ACCELERATION,
    NO_DEFAULT,
    draw_holders,
    draw_limits,
    first_default,
    master_lines,
    tradeline_lines,
)
from connectors.simulator.profiles.book import Book, Run, finish, live_share
from connectors.simulator.profiles.delinquency import missed_payments
from connectors.simulator.profiles.latent import account_health, economy
from connectors.simulator.summary import SimulationSummary
from connectors.simulator.timeline import NEVER, Timeline

PROFILE = "monthly-status"
MAX_MONTHS = 60
"""The longest an account is reported (five years)."""
FRAGILE_SHARE = 0.08
_AFTER_DEFAULT = 4
"""Months reported after a default: 0 to 3, each one more payment behind."""
_SUDDEN_WINDOW = 4
SLIP_DAYS = 15
"""Days past due written for a month paid a few days late (the 1–29 days bucket's middle)."""
_SLIP = (0.5, 3.0)
"""Beta distribution of how often a holder pays a few days late (a mean of one month in 7)."""
_FRAGILE_SLIP = 1.5
"""How much more often a fragile holder slips."""


@dataclass(frozen=True)
class _Statuses:
    """Per account (rows) and month of its life (columns): payments behind; per account, its
    credit limit."""

    behind: np.ndarray
    limit: np.ndarray
    event: np.ndarray
    """Where a life event struck."""
    fragile: np.ndarray
    """Per account: a holder of the small fragile group."""


def simulate_monthly_status(run: Run, start: date) -> SimulationSummary:
    """Write a monthly-status book of ``run.customers`` accounts over ``run.months`` months."""
    rng = np.random.default_rng(run.seed)
    tl = Timeline.build(start, run.months)
    n, months = run.customers, run.months
    steps = min(MAX_MONTHS, months)
    factor = economy(rng, months)
    first = (rng.random(n) * months).astype(np.int64)
    planned = 1 + (rng.beta(1.1, 1.6, n) * MAX_MONTHS).astype(np.int64)
    span = np.minimum(planned, months - first)
    calendar = np.minimum(first[:, None] + np.arange(steps)[None, :], months - 1)
    status = _statuses(rng, calendar, factor)

    default_step = first_default(30 * status.behind, None,
                                 np.arange(steps)[None, :] < span[:, None])
    defaulted = default_step != NO_DEFAULT
    after = rng.integers(0, _AFTER_DEFAULT, n)
    stop = np.where(defaulted, np.minimum(default_step + 1 + after,
                                          np.minimum(months - first, steps)), span)
    behind = _after_default(status.behind, default_step)
    run.done(n)

    holders = draw_holders(rng, "M", status.limit)
    reported = np.arange(steps)[None, :] < stop[:, None]
    since_event = default_step[:, None] - np.arange(steps)[None, :]
    sudden = (status.event & (since_event >= 0) & (since_event < _SUDDEN_WINDOW)).any(axis=1)
    snapshot_day = tl.month_start[first + np.maximum(default_step, 0) + 1] - 1
    dpd = np.where(_slips(rng, status.fragile, steps) & (behind == 0), SLIP_DAYS, 30 * behind)
    book = Book(
        feeds={"customers": master_lines(tl, holders, first),
               "payments": tradeline_lines(tl, holders, calendar, reported, dpd, None),
               "news": [], "registry": []},
        ids=holders.ids,
        entry_day=tl.month_start[first],
        exit_day=tl.month_start[first + stop],
        default_day=np.where(defaulted, snapshot_day, NEVER),
        kind="dpd90",
        sudden=defaulted & sudden,
        figures={"months_per_account": float(stop.mean()),
                 "live_share": live_share(first, first + stop - 1, months)},
    )
    return finish(run, PROFILE, tl, book)


def _statuses(rng: np.random.Generator, calendar: np.ndarray, factor: np.ndarray) -> _Statuses:
    """Run every account's health and payments over its months (``calendar``)."""
    n = len(calendar)
    fragile = rng.random(n) < FRAGILE_SHARE
    mean = np.where(fragile, rng.normal(2.6, 0.7, n), rng.normal(5.0, 0.8, n))
    latent = account_health(rng, mean, calendar, factor, phi=0.85, sigma=0.4,
                            event_probability=0.003, event_size=(2.5, 4.5))
    behind = missed_payments(rng, latent.health, arrears_drag=0.9, cure=0.55,
                             terminated_at=ACCELERATION)
    limit = draw_limits(rng, n, median=4_000.0, spread=0.7)
    return _Statuses(behind, limit, latent.event, fragile)


def _slips(rng: np.random.Generator, fragile: np.ndarray, steps: int) -> np.ndarray:
    """The months (accounts x steps) in which a holder pays a few days late."""
    often = rng.beta(*_SLIP, len(fragile)) * np.where(fragile, _FRAGILE_SLIP, 1.0)
    return rng.random((len(fragile), steps)) < often[:, None]


def _after_default(behind: np.ndarray, default_step: np.ndarray) -> np.ndarray:
    """From its default on, an account only falls further behind."""
    since = np.arange(behind.shape[1])[None, :] - default_step[:, None]
    later = (default_step[:, None] != NO_DEFAULT) & (since > 0)
    at_default = np.maximum(default_step, 0)[:, None]
    rows = np.arange(len(behind))[:, None]
    return np.where(later, behind[rows, at_default] + since, behind)
