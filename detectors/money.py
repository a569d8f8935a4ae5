"""A customer's limits in the reporting currency: the one rule that both the monitor and the
workspace apply, so that limit use and insured share compare amounts in one currency.

A limit converts at the configured rate of the master record's currency (the reporting
currency when the record names none). A currency without a configured rate is taken at 1,
as given, because a master record is never rejected for its currency; ledger amounts in such
a currency are dead-lettered (`no_fx_rate`) instead.

>>> in_reporting(10_000.0, "GBP", {"EUR": 1.0, "GBP": 1.17}, "EUR")
11700.0
>>> in_reporting(None, "GBP", {"GBP": 1.17}, "EUR") is None
True
"""

from __future__ import annotations

from collections.abc import Mapping


def in_reporting(limit: float | None, currency: str | None, rates: Mapping[str, float],
                 reporting_currency: str) -> float | None:
    """``limit`` (in ``currency``) in the reporting currency; None stays None."""
    if limit is None:
        return None
    return limit * rates.get(currency or reporting_currency, 1.0)
