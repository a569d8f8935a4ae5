"""A customer's money in its own currency and in the reporting currency.

A customer's ledger, limits and ratios (limit use, overdue share, DSO) are worked in its own
currency, the one its master data names, so they need no exchange rate. Amounts shown in the
reporting currency take the rate of the day they are shown for (`detectors.fx`); without a
rate for that day the reporting amount is missing (None), never guessed, and the customer's
own amount stands beside it.

>>> e = Exposure(9_000.0, 1.17)
>>> round(e.reporting, 2), e.limit_use(10_000.0), round(e.in_reporting(10_000.0), 2)
(10530.0, 0.9, 11700.0)
>>> Exposure(9_000.0, float("nan")).reporting is None
True
>>> round(e.uninsured(5_000.0).reporting, 2), e.uninsured(None) == e
(4680.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Exposure:
    """Open receivables in the customer's currency (``own``) and that currency's rate into
    the reporting currency on the day (NaN: no rate)."""

    own: float
    rate: float

    @property
    def missing(self) -> bool:
        """Whether the reporting amount is missing for want of a rate."""
        return math.isnan(self.rate)

    @property
    def reporting(self) -> float | None:
        return None if self.missing else self.own * self.rate

    def in_reporting(self, amount: float | None) -> float | None:
        """Another amount of the customer's currency (a limit) in the reporting currency."""
        if amount is None or math.isnan(amount) or self.missing:
            return None
        return amount * self.rate

    def uninsured(self, insured_limit: float | None) -> Exposure:
        """The part above ``insured_limit`` (the customer's currency; None or NaN: nothing
        is insured), at the same rate."""
        if insured_limit is None or math.isnan(insured_limit):
            return self
        return Exposure(max(0.0, self.own - insured_limit), self.rate)

    def limit_use(self, limit: float | None) -> float | None:
        """Exposure over ``limit`` (both in the customer's currency); None without a limit."""
        if limit is None or math.isnan(limit) or limit <= 0:
            return None
        return self.own / limit


NO_EXPOSURE = Exposure(0.0, 1.0)
