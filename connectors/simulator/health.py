"""Latent financial health, distress episodes and failures, month by month for all customers.

Health ``h`` is a log-odds-like score (higher is safer). Each month it follows a mean-reverting
AR(1) around the customer's own mean, moved by a common economic factor, sector shocks and
occasional one-off dips. A firm can enter distress with a probability that rises as health
falls; distress drags health down for 3-12 months and ends in failure (or, for about a
quarter, in recovery). Independently, any live firm can fail suddenly with a small constant
probability while its health stays normal. ``stress`` (0..1) is what the feeds see of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.portfolio import INDUSTRIES, Portfolio
from connectors.simulator.timeline import NEVER

PHI = 0.8
"""Monthly persistence of a firm's deviation from its mean health."""
SIGMA = 0.35
DIP_PROBABILITY = 0.04
"""A transient bad month (a lost order, a late customer of its own) that fades in months."""
ONSET_OFFSET = -2.4
"""Distress onset probability per month is sigmoid(ONSET_OFFSET - h)."""
RECOVERY_SHARE = 0.25
SUDDEN_PROBABILITY = 0.0007
"""Per month; fraud, loss of the main client, ...: unrelated to health."""


def stress_of(health: np.ndarray) -> np.ndarray:
    """Map health to the 0..1 intensity with which distress shows in payments, news, filings."""
    return 1.0 / (1.0 + np.exp(-1.5 * (2.5 - health)))


@dataclass(frozen=True)
class Health:
    """Outcome of the latent process for every customer (rows) and month (columns)."""

    health: np.ndarray
    stress: np.ndarray
    """1.0 after the failure month (within it, what health says, as failure can be sudden)."""
    failure_day: np.ndarray
    """Day the firm stops buying and paying; `NEVER` if it does not within the horizon."""
    sudden: np.ndarray


def _sector_shocks(rng: np.random.Generator, months: int) -> np.ndarray:
    """Per industry and month: small noise, and now and then a bad quarter (-0.6..-1.2)."""
    shocks = rng.normal(0.0, 0.12, (len(INDUSTRIES), months))
    starts = np.argwhere(rng.random((len(INDUSTRIES), months)) < 0.025)
    for sector, month in starts:
        shocks[sector, month : month + 3] -= rng.uniform(0.6, 1.2)
    return shocks


def simulate_health(
    rng: np.random.Generator, portfolio: Portfolio, months: int, month_start: np.ndarray
) -> Health:
    """Run the health, distress and failure process for ``months`` months."""
    n = len(portfolio)
    mean = (
        np.array([i.health for i in INDUSTRIES])[portfolio.industry]
        + 0.6 * portfolio.corporate
        + rng.normal(0.0, 0.5, n)
    )
    sector = _sector_shocks(rng, months)[portfolio.industry]
    macro = np.cumsum(rng.normal(0.0, 0.05, months)) * 0.5

    health = np.zeros((n, months))
    deviation = rng.normal(0.0, SIGMA / np.sqrt(1 - PHI**2), n)
    alive = np.ones(n, dtype=bool)
    distress_left = np.zeros(n, dtype=np.int64)
    distress_step = np.zeros(n)
    distress_fails = np.zeros(n, dtype=bool)
    failure_month = np.full(n, -1, dtype=np.int64)
    sudden = np.zeros(n, dtype=bool)

    for m in range(months):
        dips = np.where(rng.random(n) < DIP_PROBABILITY, -rng.uniform(1.0, 2.5, n), 0.0)
        deviation = PHI * deviation + rng.normal(0.0, SIGMA, n) + dips
        free = mean + deviation + sector[:, m] + macro[m]
        previous = health[:, m - 1] if m else free
        distressed = distress_left > 0
        h = np.where(distressed, previous + distress_step + rng.normal(0.0, 0.15, n), free)

        # Distress ends: failure, or recovery from where health got to (AR(1) pulls it back).
        ending = distressed & (distress_left == 1)
        failing = ending & distress_fails & alive
        failure_month[failing] = m
        recovered = ending & ~distress_fails
        deviation[recovered] = (h - mean - sector[:, m] - macro[m])[recovered]
        distress_left[distressed] -= 1

        onset = alive & ~distressed & (rng.random(n) < 1 / (1 + np.exp(h - ONSET_OFFSET)))
        fails = rng.random(n) >= RECOVERY_SHARE
        length = np.where(fails, rng.integers(3, 13, n), rng.integers(2, 8, n))
        target = np.where(fails, rng.normal(-0.5, 0.6, n), rng.normal(1.5, 0.5, n))
        distress_left[onset] = length[onset]
        distress_step[onset] = ((target - h) / length)[onset]
        distress_fails[onset] = fails[onset]

        shock = alive & ~distressed & ~failing & (rng.random(n) < SUDDEN_PROBABILITY)
        failure_month[shock] = m
        sudden |= shock
        alive &= ~(failing | shock)
        health[:, m] = h

    failed = failure_month >= 0
    month_len = np.diff(month_start)
    offset = (rng.random(n) * month_len[np.maximum(failure_month, 0)]).astype(np.int64)
    failure_day = np.where(failed, month_start[np.maximum(failure_month, 0)] + offset, NEVER)
    stress = stress_of(health)
    after = np.arange(months)[None, :] > np.where(failed, failure_month, months)[:, None]
    stress[after] = 1.0
    return Health(health, stress, failure_day, sudden)
