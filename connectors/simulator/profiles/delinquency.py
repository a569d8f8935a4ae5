"""Missed payments, month by month: how far behind an account is, given its latent health.

Each month the holder either pays or misses, with the miss probability ``sigmoid(-h)`` raised
by the arrears already owed (it is harder to catch up than to stay current). A miss puts the
account one more payment behind. A holder who pays while behind clears all arrears with
probability ``cure``, and otherwise pays only the month's amount and stays as far behind,
until the lender terminates the agreement (``terminated_at`` payments behind): from then on
the whole balance is due, and a month without a cure is one more month behind. So accounts
roll 30, 60, 90 days behind one month at a time, and many cure on the way.
"""

from __future__ import annotations

import numpy as np


def missed_payments(
    rng: np.random.Generator, health: np.ndarray, *, arrears_drag: float, cure: float,
    terminated_at: int,
) -> np.ndarray:
    """Payments behind at the end of each step (accounts x steps), starting from none."""
    n, steps = health.shape
    behind = np.zeros(n, dtype=np.int64)
    out = np.empty((n, steps), dtype=np.int64)
    draws = rng.random((2, n, steps))
    for t in range(steps):
        p_miss = 1.0 / (1.0 + np.exp(health[:, t] - arrears_drag * np.minimum(behind, 3)))
        miss = draws[0, :, t] < p_miss
        cured = ~miss & (draws[1, :, t] < cure)
        later = miss | (~cured & (behind >= terminated_at))
        behind = np.where(later, behind + 1, np.where(cured, 0, behind))
        out[:, t] = behind
    return out
