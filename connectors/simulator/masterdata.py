"""Customer master data: one full record per customer at the start, then limit changes.

The credit team reviews limits once a year (raising them for sound customers, cutting them for
stressed ones), a credit insurer may withdraw cover once stress is high, and a defaulted
customer is blocked (limit 0). Every record repeats the whole master data, since the latest
record per customer wins.
"""

from __future__ import annotations

import numpy as np

from connectors.simulator.defaults import Defaults
from connectors.simulator.health import Health
from connectors.simulator.lines import customer
from connectors.simulator.portfolio import INDUSTRIES, Portfolio
from connectors.simulator.timeline import NEVER, Timeline


def _round_limit(value: float) -> int:
    return max(5_000, int(round(value / 5_000)) * 5_000)


def build_masterdata(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline,
    defaults: Defaults,
) -> list[str]:
    """Customer records for ``block``: the initial one and every later change."""
    lines: list[str] = []
    for row, c in enumerate(block.tolist()):
        failure = int(health.failure_day[c])
        limit, insured = int(pf.credit_limit[c]), int(pf.insured_limit[c])
        changes: list[tuple[int, int, int, bool]] = [(0, limit, insured, False)]
        stress = health.stress[c]
        cover_cut = insured > 0 and rng.random() < 0.6
        for m in range(tl.months):
            day = int(tl.month_start[m] + rng.integers(0, 28))
            if day >= failure:
                break
            s = float(stress[m])
            if m % 12 == 11 and rng.random() < 0.35 and (s > 0.4 or s < 0.15):
                limit = _round_limit(limit * (rng.uniform(0.5, 0.8) if s > 0.4 else
                                              rng.uniform(1.1, 1.4)))
                insured = min(insured, limit)
                changes.append((day, limit, insured, False))
            elif cover_cut and s > 0.5:
                insured = 0 if rng.random() < 0.5 else _round_limit(insured / 2)
                changes.append((day, limit, insured, False))
                cover_cut = False
        blocked = int(defaults.default_day[row])
        if blocked != NEVER and blocked + 7 < tl.end:
            changes.append((blocked + int(rng.integers(1, 8)), 0, 0, True))
        for n, (day, lim, ins, is_blocked) in enumerate(changes):
            lines.append(_record(pf, tl, c, n, day, lim, ins, is_blocked))
    return lines


def _record(
    pf: Portfolio, tl: Timeline, c: int, n: int, day: int, limit: int, insured: int,
    blocked: bool,
) -> str:
    industry = INDUSTRIES[int(pf.industry[c])]
    tags = ["corporate" if pf.corporate[c] else "sme", f"region:{pf.region[c]}",
            f"nace:{industry.nace}"] + (["blocked"] if blocked else [])
    return customer(
        tl.dates[day], f"cus-{c:06d}-{n:02d}", pf.ids[c], pf.names[c], pf.country[c],
        pf.currency[c], limit * 100, industry=industry.name, insured_limit=insured * 100,
        tags=tags, aliases=pf.aliases[c],
    )
