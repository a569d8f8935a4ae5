"""The simulated book's country-risk feed: a grade per country, as a credit insurer or the
OECD publishes them, at the start of the book and then every quarter.

Grades use the 0-7 scale of the OECD's country risk classification: the simulated book's
European and North American countries are graded 0 and China 2. The grades do not change
and the generative process gives country no risk of its own: a model should learn nothing
from them here; the feed is there so that every part of the monitor that reads it runs.
"""

from __future__ import annotations

from connectors.simulator.timeline import Timeline

GRADES = {"CN": 2}
"""Countries graded above 0."""


def build_country_risk(countries: set[str], tl: Timeline) -> list[str]:
    """The feed's lines: every country of the book, on the first day of each quarter."""
    lines = []
    for month, day in enumerate(tl.month_start[:-1].tolist()):
        if month % 3:
            continue
        date = tl.dates[day]
        lines.extend(f'{{"event_time":"{date}","event_id":"crc-{date}-{country}",'
                     f'"country":"{country}","grade":{GRADES.get(country, 0)},'
                     f'"source":"simulated"}}' for country in sorted(countries))
    return lines
