"""The PD term structure: the probability of default within several horizons, from the
model's PD at its own horizon.

The models estimate one probability, of default within the configured horizon (8 months
by default). A desk also asks how likely a default is within 3 or 12 months. Under a
constant monthly hazard ``h`` with ``1 - (1 - h) ** H = pd``, the probability within ``t``
months is ``1 - (1 - pd) ** (t / H)``: non-decreasing in ``t``, equal to ``pd`` at the
horizon, and no more than the model knows (the hazard's shape over time is assumed flat,
not learned).

>>> [round(p, 4) for p in (cumulative_pd(0.2, 8, m) for m in (3, 6, 8, 12))]
[0.0803, 0.1541, 0.2, 0.2845]
>>> terms(8)
(3, 6, 8, 12)
"""

from __future__ import annotations

TERMS = (3, 6, 12)
"""Horizons (months) every warning gives besides the configured one."""


def cumulative_pd(pd: float, horizon_months: int, months: float) -> float:
    """P(default within ``months``) under the constant monthly hazard that gives ``pd``
    within ``horizon_months``; exactly ``pd`` (clipped to [0, 1]) at the horizon."""
    p = min(max(pd, 0.0), 1.0)
    if months == horizon_months:
        return p
    return 1.0 - (1.0 - p) ** (months / horizon_months)


def terms(horizon_months: int) -> tuple[int, ...]:
    """The horizons of a term structure: `TERMS` and the configured horizon, ascending."""
    return tuple(sorted({*TERMS, horizon_months}))
