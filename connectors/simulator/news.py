"""News items: a few a year per customer (more for corporates), positive, neutral or adverse.

Adverse items hit healthy firms too (false alarms: a lawsuit, a departing executive); their
rate and the share of distress categories (late payment, layoffs, downgrade) rise with stress,
while good news dries up. A failed firm gets no news except its insolvency being reported.
About 35 % of items name the company (its name or an alias) instead of carrying its id.
About a fifth of items come untagged (no categories, no sentiment: the monitor must read the
headline), and most news about a Chinese customer is in Chinese. Which items are untagged or
Chinese follows from a stable hash of the item's id, not from the random stream, so the
other feeds of a seed keep their bytes.
"""

from __future__ import annotations

import zlib

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
_TEMPLATES_ZH: dict[str, tuple[str, ...]] = {
    "expansion": ("{n}在{c}新建生产基地", "{n}{c}工厂扩产"),
    "new_contract": ("{n}签署多年供货合同", "{n}在{c}中标大型项目"),
    "": ("{n}任命新的销售负责人", "{n}亮相{c}展会"),
    "lawsuit": ("{n}被前供应商起诉", "{n}因交付缺陷卷入诉讼"),
    "layoffs": ("{n}{c}工厂裁员", "{n}宣布员工停工放假"),
    "plant_closure": ("{n}关闭{c}工厂", "{n}关停{c}仓库"),
    "executive_departure": ("{n}财务总监辞职", "{n}总经理离职"),
    "fraud": ("检察机关调查{n}财务问题", "{n}账目被曝造假"),
    "downgrade": ("信用保险公司下调{n}评级", "{n}遭评级机构降级"),
    "late_payment": ("供应商称{n}拖欠货款", "{n}请求供应商延期付款"),
    "insolvency": ("{n}申请破产", "{n}进入破产清算"),
}
_CITIES_ZH = ("上海", "苏州", "宁波", "天津", "青岛", "成都", "武汉", "广州")
UNTAGGED_PERCENT = 20
"""Items per hundred that carry neither categories nor sentiment."""
CHINESE_PERCENT = 80
"""Items per hundred about a Chinese customer that are written in Chinese."""
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
    chinese = pf.country[c] == "CN" and _percent(event_id, "zh") < CHINESE_PERCENT
    names = [pf.names[c], *pf.aliases[c]]
    if chinese:  # the Chinese press writes the Chinese names
        names = [name for name in names if not name.isascii()]
    elif pf.country[c] == "CN":
        names = [name for name in names if name.isascii()]
    by_name = rng.random() < BY_NAME_SHARE
    mentioned = names[int(rng.integers(0, len(names)))]
    templates = (_TEMPLATES_ZH if chinese else _TEMPLATES)[category]
    cities = _CITIES_ZH if chinese else _CITIES
    headline = templates[int(rng.integers(0, len(templates)))].format(
        n=mentioned, c=cities[int(rng.integers(0, len(_CITIES)))]
    )
    untagged = _percent(event_id, "tags") < UNTAGGED_PERCENT
    tags = "" if untagged else (f',"categories":{texts([category] if category else [])},'
                                f'"sentiment":{sentiment:.2f}')
    stamp = f"{tl.dates[day]}T{int(rng.integers(6, 20)):02d}:{int(rng.integers(0, 60)):02d}:00Z"
    who = (
        head(stamp, event_id, None) + f',"company_name":{text(mentioned)}'
        if by_name
        else head(stamp, event_id, pf.ids[c])
    )
    return (
        who + f',"headline":{text(headline)},"source":"{_SOURCES[int(rng.integers(0, 6))]}",'
        f'"url":"https://news.example.com/{event_id}",'
        f'"language":"{"zh" if chinese else "en"}"{tags}}}'
    )


def _percent(event_id: str, salt: str) -> int:
    """A stable number 0-99 for an item (not drawn from the simulation's random stream)."""
    return zlib.crc32(f"{salt}\x00{event_id}".encode()) % 100
