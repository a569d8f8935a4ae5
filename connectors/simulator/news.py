"""News items: a few a year per customer (more for corporates), positive, neutral or adverse.

Adverse items hit healthy firms too (false alarms: a lawsuit, a departing executive); their
rate and the share of distress categories (late payment, layoffs, downgrade) rise with stress,
while good news dries up. A failed firm gets no news except its insolvency being reported.
About 35 % of items name the company (its name or an alias) instead of carrying its id.
"""

from __future__ import annotations

import numpy as np

from connectors.simulator.defaults import Defaults
from connectors.simulator.health import Health
from connectors.simulator.lines import head, text, texts
from connectors.simulator.portfolio import Portfolio
from connectors.simulator.timeline import NEVER, Timeline

BY_NAME_SHARE = 0.35
_SOURCES = ("Trade Gazette", "Business Wire Europe", "Regional Courier", "Industry Insider",
            "Finanz Report", "Credit Watch Daily")
_CITIES = ("Hamburg", "Leipzig", "Stuttgart", "Dortmund", "Linz", "Rotterdam", "Lyon", "Leeds")
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "expansion": ("{n} opens new site in {c}", "{n} expands production capacity in {c}"),
    "new_contract": ("{n} wins multi-year supply contract", "{n} signs framework deal in {c}"),
    "": ("{n} appoints new head of sales", "{n} presents products at {c} trade fair"),
    "lawsuit": ("{n} sued by former supplier", "{n} faces lawsuit over defective deliveries"),
    "layoffs": ("{n} to cut jobs at {c} site", "{n} announces short-time work for staff"),
    "plant_closure": ("{n} to close {c} plant", "{n} shuts warehouse in {c}"),
    "executive_departure": ("Finance director of {n} steps down", "{n} managing director leaves"),
    "fraud": ("Prosecutors examine accounting at {n}", "{n} reports irregularities in books"),
    "downgrade": ("Credit insurer cuts cover for {n}", "{n} downgraded by credit agency"),
    "late_payment": ("Suppliers report late payments from {n}", "{n} asks suppliers for time"),
    "insolvency": ("{n} files for insolvency", "{n} placed in administration"),
}
_ADVERSE = ("lawsuit", "layoffs", "plant_closure", "executive_departure", "fraud", "downgrade",
            "late_payment")
_NOISE_MIX = np.array([0.30, 0.20, 0.05, 0.25, 0.02, 0.10, 0.08])
"""What adverse news about a healthy firm is mostly about."""
_DISTRESS_MIX = np.array([0.15, 0.20, 0.10, 0.08, 0.02, 0.20, 0.25])


def build_news(
    rng: np.random.Generator, block: np.ndarray, pf: Portfolio, health: Health, tl: Timeline,
    defaults: Defaults,
) -> list[str]:
    """News lines for the customers in ``block``."""
    k, months = len(block), tl.months
    stress = health.stress[block]
    base = np.where(pf.corporate[block], 0.5, 0.15)[:, None]
    positive = rng.poisson(base * 0.55 * (1.0 - stress))
    neutral = rng.poisson(np.broadcast_to(base * 0.15, (k, months)))
    adverse = rng.poisson(base * (0.3 + 2.5 * stress))

    lines: list[str] = []
    for row, c in enumerate(block.tolist()):
        failure = int(health.failure_day[c])
        items: list[tuple[int, str, float]] = []
        counts = positive[row] + neutral[row] + adverse[row]
        for m in np.flatnonzero(counts).tolist():
            days = tl.month_start[m] + rng.integers(0, tl.month_length[m], counts[m])
            mix = (1.0 - stress[row, m]) * _NOISE_MIX + stress[row, m] * _DISTRESS_MIX
            picks = (
                [str(rng.choice(("expansion", "new_contract"))) for _ in range(positive[row, m])]
                + [""] * neutral[row, m]
                + [_ADVERSE[i] for i in rng.choice(7, adverse[row, m], p=mix / mix.sum())]
            )
            for j, category in enumerate(picks):
                if days[j] < failure:
                    items.append((int(days[j]), category, _sentiment(rng, category)))
        insolvency = int(defaults.insolvency_day[row])
        if insolvency != NEVER:
            items.append((insolvency + int(rng.integers(0, 4)), "insolvency", -0.9))
        for n, (day, category, sentiment) in enumerate(sorted(items)):
            if day < tl.end:
                lines.append(_line(rng, pf, tl, c, n, day, category, sentiment))
    return lines


def _sentiment(rng: np.random.Generator, category: str) -> float:
    if category in ("expansion", "new_contract"):
        return float(rng.uniform(0.2, 0.8))
    if not category:
        return float(rng.uniform(-0.1, 0.2))
    return -float(rng.uniform(0.3, 0.95))


def _line(
    rng: np.random.Generator, pf: Portfolio, tl: Timeline, c: int, n: int, day: int,
    category: str, sentiment: float,
) -> str:
    event_id = f"nws-{c:06d}-{n:04d}"
    names = [pf.names[c], *pf.aliases[c]]
    by_name = rng.random() < BY_NAME_SHARE
    mentioned = names[int(rng.integers(0, len(names)))]
    templates = _TEMPLATES[category]
    headline = templates[int(rng.integers(0, len(templates)))].format(
        n=mentioned, c=_CITIES[int(rng.integers(0, len(_CITIES)))]
    )
    stamp = f"{tl.dates[day]}T{int(rng.integers(6, 20)):02d}:{int(rng.integers(0, 60)):02d}:00Z"
    who = (
        head(stamp, event_id, None) + f',"company_name":{text(mentioned)}'
        if by_name
        else head(stamp, event_id, pf.ids[c])
    )
    return (
        who + f',"headline":{text(headline)},"source":"{_SOURCES[int(rng.integers(0, 6))]}",'
        f'"url":"https://news.example.com/{event_id}","language":"en",'
        f'"categories":{texts([category] if category else [])},"sentiment":{sentiment:.2f}}}'
    )
