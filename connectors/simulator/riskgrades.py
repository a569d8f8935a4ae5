"""The simulated book's risk-grade feeds: a grade per country and per industry, as credit
insurers and the OECD publish them, at the start of the book and then every quarter.

Grades use the 0-7 scale of the OECD's country risk classification. Countries: the book's
European and North American countries are graded 0 and China 2; the generative process
gives country no risk of its own, so a model should learn nothing from them. Industries
are graded by the long-run health of their firms in the generative process (the sector's
baseline risk: construction and hospitality 7, utilities 0), as a credit insurer's sector
ratings follow sectors' insolvency rates: a model can learn from them.
"""

from __future__ import annotations

from connectors.simulator.portfolio import INDUSTRIES
from connectors.simulator.timeline import Timeline

COUNTRY_GRADES = {"CN": 2}
"""Countries graded above 0."""
_SAFEST = max(i.health for i in INDUSTRIES)
_RISKIEST = min(i.health for i in INDUSTRIES)
INDUSTRY_GRADES = {i.name: round(7 * (_SAFEST - i.health) / (_SAFEST - _RISKIEST))
                   for i in INDUSTRIES}


def build_country_risk(countries: set[str], tl: Timeline) -> list[str]:
    """The country-risk feed's lines: every country of the book, each quarter."""
    return _quarterly(tl, "crc", "country", {c: COUNTRY_GRADES.get(c, 0) for c in countries})


def build_industry_risk(tl: Timeline) -> list[str]:
    """The industry-risk feed's lines: every industry, each quarter."""
    return _quarterly(tl, "irc", "industry", INDUSTRY_GRADES)


def _quarterly(tl: Timeline, prefix: str, field: str, grades: dict[str, int]) -> list[str]:
    lines = []
    for month, day in enumerate(tl.month_start[:-1].tolist()):
        if month % 3:
            continue
        date = tl.dates[day]
        lines.extend(f'{{"event_time":"{date}","event_id":"{prefix}-{date}-{key}",'
                     f'"{field}":"{key}","grade":{grade},"source":"simulated"}}'
                     for key, grade in sorted(grades.items()))
    return lines
