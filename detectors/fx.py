"""Exchange rates by event date: the rule every amount is converted by.

Rates come from the ``fx`` feed (one record per currency and day: 1 ``base`` buys ``rate``
of ``currency``, the central banks' convention) and, as a fallback, from the configured
static table (``fx_rates``: one unit of a currency in the reporting currency). The rate of
a currency on a day is, in this order:

1. 1 for the reporting currency;
2. the latest feed rate published on or before that day, if it is at most ``max_age_days``
   old (weekends and holidays have no rates of their own), crossed through the base when
   the base is not the reporting currency;
3. the configured static rate, if there is one;
4. none: the amount is missing in the reporting currency (never guessed).

A rate published later never changes an earlier day: decisions use what was known then.

>>> rates = Rates("EUR", {"EUR": 1.0}, max_age_days=4)
>>> rates.put("EUR", "GBP", 0.85, day=100)   # 1 EUR = 0.85 GBP
>>> round(rates.rate("GBP", 103), 6), rates.rate("GBP", 105), rates.rate("GBP", 99)
(1.176471, None, None)
>>> rates.rate("EUR", 1)
1.0
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Series:
    """One currency's rates against one base: days ascending, each day's latest rate."""

    days: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def put(self, day: int, rate: float) -> None:
        at = bisect.bisect_left(self.days, day)
        if at < len(self.days) and self.days[at] == day:
            self.rates[at] = rate
        else:
            self.days.insert(at, day)
            self.rates.insert(at, rate)

    def on(self, day: int, max_age_days: int) -> float | None:
        at = bisect.bisect_right(self.days, day) - 1
        if at < 0 or day - self.days[at] > max_age_days:
            return None
        return self.rates[at]


class Rates:
    """The rates a bucket knows: the feed's, by day, over the configured static table."""

    def __init__(self, reporting_currency: str, static: Mapping[str, float],
                 max_age_days: int = 7) -> None:
        self.reporting = reporting_currency
        self.static = dict(static)
        self.max_age_days = max_age_days
        self._series: dict[tuple[str, str], _Series] = {}

    def put(self, base: str, currency: str, rate: float, day: int) -> None:
        """A feed rate: on ``day``, 1 ``base`` buys ``rate`` ``currency``."""
        self._series.setdefault((base, currency), _Series()).put(day, rate)

    def rate(self, currency: str, day: int) -> float | None:
        """One unit of ``currency`` in the reporting currency on ``day``, or None."""
        if currency == self.reporting:
            return 1.0
        dated = self._dated(currency, day)
        return dated if dated is not None else self.static.get(currency)

    def cross(self, amount: float, currency: str, into: str, day: int) -> float | None:
        """``amount`` of ``currency`` in ``into`` on ``day`` (through the reporting
        currency), or None when either rate is missing."""
        if currency == into:
            return amount
        source, target = self.rate(currency, day), self.rate(into, day)
        if source is None or not target:
            return None
        return amount * source / target

    def _dated(self, currency: str, day: int) -> float | None:
        """From the feed: quoted against the reporting currency, or crossed through a base
        that has a rate of its own (bases tried in a fixed order)."""
        direct = self._series.get((self.reporting, currency))
        if direct is not None:
            quoted = direct.on(day, self.max_age_days)
            if quoted:
                return 1.0 / quoted
        inverse = self._series.get((currency, self.reporting))
        if inverse is not None:
            quoted = inverse.on(day, self.max_age_days)
            if quoted:
                return quoted
        for (base, quoted_currency), series in sorted(self._series.items()):
            if quoted_currency != currency or base == self.reporting:
                continue
            quoted, base_rate = series.on(day, self.max_age_days), self._base_rate(base, day)
            if quoted and base_rate is not None:
                return base_rate / quoted
        return None

    def _base_rate(self, base: str, day: int) -> float | None:
        """A base currency in the reporting currency, from a series quoted in it or in the
        reporting currency (one step, so a cycle of bases cannot recurse)."""
        for key, invert in (((self.reporting, base), True), ((base, self.reporting), False)):
            series = self._series.get(key)
            quoted = None if series is None else series.on(day, self.max_age_days)
            if quoted:
                return 1.0 / quoted if invert else quoted
        return None
