"""The simulated book's exchange rates: the fx feed a treasury or a central bank would give.

One rate per currency the book uses (other than the euro) and business day, plus the first
day of the book whatever its weekday: how many units of the currency one euro buys, the
European Central Bank's convention. Each rate moves around its level in
`connectors.simulator.portfolio.EUR_RATE` as a slowly mean-reverting random walk of its
logarithm (about 0.4 % a day), from its own random stream, so adding the feed changes no
other record of the book.
"""

from __future__ import annotations

import numpy as np

from connectors.simulator.portfolio import EUR_RATE
from connectors.simulator.timeline import Timeline

DAILY_SD = 0.004
"""Standard deviation of a day's change of a rate's logarithm."""
REVERSION = 0.998
"""Share of yesterday's deviation from the level that is left today."""
_STREAM = 0xF0
"""Mixed into the seed: the rates' own random stream."""


def build_rates(seed: int, currencies: set[str], tl: Timeline) -> list[str]:
    """The fx feed's lines for ``currencies`` over the book's days."""
    rng = np.random.default_rng([seed, _STREAM])
    quoted = sorted(c for c in currencies if c != "EUR")
    days = [d for d in range(tl.end) if d == 0 or _weekday(tl, d) < 5]
    shocks = rng.normal(0.0, DAILY_SD, (len(days), len(quoted)))
    deviation = np.zeros(len(quoted))
    lines = []
    for row, day in enumerate(days):
        deviation = REVERSION * deviation + shocks[row]
        date = tl.dates[day]
        for column, currency in enumerate(quoted):
            rate = np.exp(deviation[column]) / EUR_RATE[currency]
            lines.append(f'{{"event_time":"{date}","event_id":"fx-{date}-EUR-{currency}",'
                         f'"base":"EUR","currency":"{currency}","rate":{rate:.6g}}}')
    return lines


def _weekday(tl: Timeline, day: int) -> int:
    return (tl.start.weekday() + day) % 7
