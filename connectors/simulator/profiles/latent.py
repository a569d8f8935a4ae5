"""Latent health month by month, for card holders and firms alike: drift, economy, blows.

Health ``h`` is a score where higher is safer (for a card holder, the log-odds of making this
month's payment; for a firm, its distance from failure). It follows a mean-reverting AR(1)
around the borrower's own mean, moves with a common economic factor of the calendar month
(everyone feels a bad year together), and now and then an event knocks it down by several
points (for a holder a job loss, an illness, a separation; for a firm a fraud or the loss of
its main customer); the blow fades as the AR(1) pulls health back. Events strike regardless
of health, so the defaults they cause come without the slow slide that precedes most others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Latent:
    """Health of every account (rows) at each step of its life (columns)."""

    health: np.ndarray
    event: np.ndarray
    """True in the month an event struck."""


def economy(rng: np.random.Generator, months: int, persistence: float = 0.92,
            sigma: float = 0.12) -> np.ndarray:
    """A common factor per calendar month: an AR(1) that wanders through good and bad years."""
    factor = np.zeros(months)
    level = 0.0
    for m, shock in enumerate(rng.normal(0.0, sigma, months).tolist()):
        level = persistence * level + shock
        factor[m] = level
    return factor


def account_health(
    rng: np.random.Generator, mean: np.ndarray, calendar: np.ndarray, factor: np.ndarray, *,
    phi: float, sigma: float, event_probability: float, event_size: tuple[float, float],
) -> Latent:
    """Run the health process for borrowers with means ``mean``; ``calendar[i, t]`` is the
    index into ``factor`` (the economy) of borrower ``i``'s step ``t``."""
    n, steps = calendar.shape
    deviation = rng.normal(0.0, sigma / np.sqrt(1.0 - phi**2), n)
    health = np.empty((n, steps))
    events = rng.random((n, steps)) < event_probability
    blows = rng.uniform(*event_size, (n, steps))
    noise = rng.normal(0.0, sigma, (n, steps))
    for t in range(steps):
        deviation = phi * deviation + noise[:, t] - np.where(events[:, t], blows[:, t], 0.0)
        health[:, t] = mean + deviation + factor[calendar[:, t]]
    return Latent(health, events)
