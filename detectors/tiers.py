"""Customer tiers: the few that matter first.

A customer's tier follows from what it stands to lose: its expected loss, PD times the part
of its exposure above the insured limit, in the reporting currency. Each tier names how
often the customer's limit is reviewed; warnings carry the tier, so the alert routing can
send a key customer's warnings at once and a routine one's in a weekly digest (docs/alerts.md).
Tiers are tried from the first: a customer is in the first whose floor its expected loss
reaches. Without a rate for its currency the exposure is unknown: the customer is then in
the first tier, to be looked at rather than overlooked.

>>> rules = TierRules()
>>> rules.tier_of(pd=0.2, uninsured=80_000.0).name, rules.tier_of(0.01, 50_000.0).name
('key', 'routine')
>>> rules.tier_of(0.05, None).name
'key'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    min_expected_loss: float
    """Expected loss (reporting currency) from which a customer is in this tier."""
    review_days: int
    """Days between reviews of the customer's limit."""


@dataclass(frozen=True, slots=True)
class TierRules:
    tiers: tuple[Tier, ...] = (Tier("key", 10_000.0, 30), Tier("watch", 1_000.0, 90),
                               Tier("routine", 0.0, 365))
    """From the highest floor down; the last one's floor is 0."""

    def tier_of(self, pd: float, uninsured: float | None) -> Tier:
        """The tier of a customer with ``pd`` and ``uninsured`` exposure (None: unknown)."""
        if uninsured is None:
            return self.tiers[0]
        loss = pd * uninsured
        return next((t for t in self.tiers if loss >= t.min_expected_loss), self.tiers[-1])
