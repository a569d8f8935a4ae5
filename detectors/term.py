"""The PD term structure: the probability of default within several horizons, from the
model's PD at its own horizon and when the book's defaults fell within it.

The models estimate one probability, of default within the configured horizon ``H`` (8
months by default). A desk also asks how likely a default is within 3 or 12 months. Every
labelled default says how many months after its snapshot it came, so the learner counts,
per band of the PD the champion gives the snapshot (`BAND_EDGES`), how the horizon's
defaults spread over its months (`TermCounts`), and publishes the shares as a `TermCurve`:

    P(default within t months) = pd x S(pd, t)        for t <= H,

where ``S(pd, t)`` is the share of the horizon's defaults of snapshots like this one that
came within ``t`` months. Risky customers default sooner than safe ones, so the share is
learned per band and interpolated between the bands' centres in log-odds. Each band's
counts are shrunk towards a constant monthly hazard (`PRIOR_DEFAULTS` defaults' worth), so
a band with few defaults, or a book with none yet, gets the constant-hazard curve
``1 - (1 - pd) ** (t / H)``. Beyond the horizon no label says anything, and the curve keeps
the constant hazard that gives ``pd`` at ``H``. Every curve is non-decreasing in ``t`` and
gives ``pd`` exactly at ``H``.

>>> flat = TermCurve.constant(8)
>>> [round(flat.cumulative(0.2, m), 4) for m in (3, 6, 8, 12)]
[0.0803, 0.1541, 0.2, 0.2845]
>>> counts = TermCounts(8)
>>> counts.add(np.full(400, 0.5), np.full(400, 2))  # risky snapshots: defaults 2 months on
>>> soon = counts.curve()
>>> [round(soon.cumulative(0.6, m), 3) for m in (1, 2, 8)]  # centre of the riskiest band
[0.005, 0.581, 0.6]
>>> terms(8)
(3, 6, 8, 12)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TERMS = (3, 6, 12)
"""Horizons (months) every warning gives besides the configured one."""
BAND_EDGES = (0.02, 0.06, 0.15, 0.35)
"""PD bands whose defaults' timing is learned apart (the default grade bounds)."""
BAND_CENTRES = (0.01, 0.035, 0.095, 0.23, 0.6)
"""The PD each band's curve stands for (about the geometric middle of its edges); curves
of PDs between two centres are interpolated in log-odds."""
PRIOR_DEFAULTS = 20.0
"""Defaults' worth of constant hazard each band's counts are shrunk towards."""


def cumulative_pd(pd: float, horizon_months: int, months: float) -> float:
    """P(default within ``months``) under the constant monthly hazard that gives ``pd``
    within ``horizon_months``; exactly ``pd`` (clipped to [0, 1]) at the horizon."""
    p = min(max(pd, 0.0), 1.0)
    if months == horizon_months:
        return p
    return 1.0 - (1.0 - p) ** (months / horizon_months)


def within(points: Sequence[tuple[int, float]], months: float) -> float:
    """P(default within ``months``) from a published term structure (``(months, pd)`` at
    ascending horizons, as `TermCurve.at_terms` gives): a constant monthly hazard within
    each span between two of its horizons (from 0 at 0), and the last span's beyond them.
    The published PD at each of its horizons (to float precision), and non-decreasing.

    >>> points = [(3, 0.06), (6, 0.09), (8, 0.1), (12, 0.12)]
    >>> [round(within(points, m), 4) for m in (0, 1.5, 3, 7, 8, 14)]
    [0.0, 0.0305, 0.06, 0.095, 0.1, 0.1298]
    """
    if months <= 0 or not points:
        return 0.0
    spans = list(zip([(0, 0.0), *points], points, strict=False))
    (a, p_a), (b, p_b) = next((span for span in spans if months <= span[1][0]), spans[-1])
    survived = 1.0 - p_a
    kept = min(1.0, (1.0 - p_b) / survived) if survived > 0 else 1.0
    return 1.0 - survived * kept ** ((months - a) / (b - a))


def terms(horizon_months: int) -> tuple[int, ...]:
    """The horizons of a term structure: `TERMS` and the configured horizon, ascending."""
    return tuple(sorted({*TERMS, horizon_months}))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


_CENTRE_LOGITS = [_logit(p) for p in BAND_CENTRES]


@dataclass(frozen=True, slots=True)
class TermCurve:
    """Per PD band, the share of the horizon's defaults that come within 1, 2, ... ``H``
    months (``shares[b][H - 1]`` is 1); no shares: the constant monthly hazard."""

    horizon_months: int
    shares: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def constant(cls, horizon_months: int) -> TermCurve:
        """The curve of a constant monthly hazard (nothing learned yet)."""
        return cls(horizon_months)

    def cumulative(self, pd: float, months: float) -> float:
        """P(default within ``months``) for a customer whose PD within the horizon is
        ``pd``: non-decreasing in ``months``, ``pd`` (clipped to [0, 1]) at the horizon,
        and 1 from the start for a PD of 1 (a customer in default)."""
        p = min(max(pd, 0.0), 1.0)
        return self._cumulative(p, self._share_of(p), months)

    def at_terms(self, pd: float) -> list[tuple[int, float]]:
        """``(months, P(default within months))`` at every horizon of `terms`."""
        p = min(max(pd, 0.0), 1.0)
        share = self._share_of(p)  # once for every horizon
        return [(m, self._cumulative(p, share, m)) for m in terms(self.horizon_months)]

    def _share_of(self, p: float) -> list[float] | None:
        """S(p, 1..H), or None where the constant hazard holds: nothing learned yet, or a
        PD of 1."""
        return None if not self.shares or p == 1.0 else self._share(p)

    def _cumulative(self, p: float, share: list[float] | None, months: float) -> float:
        """``p`` times the share of the horizon's defaults within ``months`` (linear between
        whole months); the constant hazard beyond the horizon or without a share."""
        if months <= 0:
            return 0.0
        if share is None or months >= self.horizon_months:
            return cumulative_pd(p, self.horizon_months, months)
        whole = int(months)
        below = share[whole - 1] if whole >= 1 else 0.0
        above = share[whole] if whole < len(share) else 1.0
        return p * (below + (months - whole) * (above - below))

    def _share(self, pd: float) -> list[float]:
        """S(pd, 1..H): the bands' shares interpolated in log-odds between their centres."""
        x = _logit(pd)
        right = bisect.bisect_left(_CENTRE_LOGITS, x)
        if right == 0:
            return list(self.shares[0])
        if right == len(_CENTRE_LOGITS):
            return list(self.shares[-1])
        lo, hi = _CENTRE_LOGITS[right - 1], _CENTRE_LOGITS[right]
        w = (x - lo) / (hi - lo)
        return [(1 - w) * a + w * b
                for a, b in zip(self.shares[right - 1], self.shares[right], strict=True)]


class TermCounts:
    """Defaults counted by the band of their snapshot's PD (as the champion of the month
    end that learns them gives it) and the months from the snapshot to the default (1 to
    the horizon): what a `TermCurve` is learned from."""

    def __init__(self, horizon_months: int) -> None:
        self.horizon_months = horizon_months
        self.counts = np.zeros((len(BAND_CENTRES), horizon_months), dtype=np.float64)

    def add(self, pd: np.ndarray, lag: np.ndarray) -> None:
        """Count defaults: each snapshot's PD and how many months after it the default
        came (lags outside 1 to the horizon are not counted: their timing is unknown)."""
        lag = np.asarray(lag, dtype=np.int64)
        known = (lag >= 1) & (lag <= self.horizon_months)
        band = np.searchsorted(np.asarray(BAND_EDGES), np.asarray(pd)[known], side="right")
        np.add.at(self.counts, (band, lag[known] - 1), 1.0)

    def curve(self) -> TermCurve:
        """Each band's cumulative shares, shrunk towards the constant hazard at its centre;
        the constant curve while no default has been counted."""
        h = self.horizon_months
        if not self.counts.any():
            return TermCurve.constant(h)
        months = np.arange(1, h + 1)
        shares = []
        for centre, counts in zip(BAND_CENTRES, self.counts, strict=True):
            prior = np.array([cumulative_pd(centre, h, m) for m in months]) / centre
            share = (np.cumsum(counts) + PRIOR_DEFAULTS * prior) / (counts.sum()
                                                                     + PRIOR_DEFAULTS)
            share[-1] = 1.0
            shares.append(tuple(round(float(s), 9) for s in np.maximum.accumulate(share)))
        return TermCurve(h, tuple(shares))
