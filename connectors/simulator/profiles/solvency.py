"""Firm solvency for the statements profile: a slowly drifting health, and failure below a floor.

A firm's health starts three years before the horizon and drifts month by month (`latent`):
a persistent AR(1) around the firm's own mean (its sector's, better for corporates, and its
own luck), moved by the economy, so a decline takes months to years and shows in more than
one year's accounts. Now and then a blow strikes (fraud, the loss of the main customer, a
failed project); most are survived, a big one can sink a sound firm at once. A firm fails in
the first month, after it has entered the book, in which its health is below the floor; a
failure in a month a blow struck, or the month after, is a sudden one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connectors.simulator.portfolio import INDUSTRIES, Portfolio
from connectors.simulator.profiles.latent import account_health, economy
from connectors.simulator.timeline import NEVER, Timeline

BEFORE = 36
"""Months of health simulated before the horizon (the first accounts describe some)."""
FLOOR = 1.8
PHI = 0.98
SIGMA = 0.25
BLOW_PROBABILITY = 0.0006
BLOW_SIZE = (2.0, 7.0)
ECONOMY = 0.06
"""Monthly shock to the economy's effect on health (its swings move failures in waves)."""
SPREAD = 1.0
"""Spread of firms' own mean health around their sector's."""
_MAX_DRAWS = 50
"""Draws of a firm that keeps failing before it enters the book (in practice a handful)."""


@dataclass(frozen=True)
class Solvency:
    """Health of every firm from `BEFORE` months before the horizon, and its failure."""

    health: np.ndarray
    """Firms x (BEFORE + months): month ``m`` of the horizon is column ``BEFORE + m``."""
    failure_day: np.ndarray
    """`NEVER` for a firm that does not fail within the horizon."""
    sudden: np.ndarray


def simulate_solvency(
    rng: np.random.Generator, pf: Portfolio, tl: Timeline, entry_month: np.ndarray
) -> Solvency:
    """Run every firm's health and find its failure, which cannot come before ``entry_month``.

    A firm whose health fell below the floor before it entered the book would have failed
    and never entered it: its place goes to another firm of its sector and size (a new own
    mean and path), drawn until it survived to its entry.
    """
    n, months = len(pf), tl.months
    sector = np.array([i.health for i in INDUSTRIES])[pf.industry] + 0.6 * pf.corporate
    factor = economy(rng, BEFORE + months, sigma=ECONOMY)
    calendar = np.broadcast_to(np.arange(BEFORE + months), (n, BEFORE + months))
    before_entry = calendar < BEFORE + entry_month[:, None]
    health = np.empty((n, BEFORE + months))
    blow = np.empty((n, BEFORE + months), dtype=bool)
    redraw = np.arange(n)
    for _ in range(_MAX_DRAWS):
        latent = account_health(rng, sector[redraw] + rng.normal(0.0, SPREAD, len(redraw)),
                                calendar[redraw], factor, phi=PHI, sigma=SIGMA,
                                event_probability=BLOW_PROBABILITY, event_size=BLOW_SIZE)
        health[redraw], blow[redraw] = latent.health, latent.event
        redraw = redraw[((latent.health < FLOOR) & before_entry[redraw]).any(axis=1)]
        if not len(redraw):
            break

    below = (health[:, BEFORE:] < FLOOR) & (np.arange(months) >= entry_month[:, None])
    failed = below.any(axis=1)
    month = np.argmax(below, axis=1)
    offset = (rng.random(n) * tl.month_length[month]).astype(np.int64)
    struck = blow[:, BEFORE:]
    rows = np.arange(n)
    sudden = failed & (struck[rows, month] | struck[rows, np.maximum(month - 1, 0)])
    return Solvency(health, np.where(failed, tl.month_start[month] + offset, NEVER), sudden)
