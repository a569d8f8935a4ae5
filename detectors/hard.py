"""Hard events: records that warn on their own day, not at the next month end.

Early warnings are decided at month ends (`detectors.policy`), so that scores drifting
within a month do not fire and re-fire. Some records need no model to be acted on: a court
judgment that is a large share of what the customer owes us, or news that the customer is
insolvent or under a fraud investigation. Each gives a warning of its own kind, dated by
the record's own event time, through the same alert routing as every other warning.
(An insolvency filing in the registry is a default, which warns on its day already.)

The decision reads the record and the customer's state after it, both fixed by event time
and the monitor's total order of events, so the same input gives the same warnings with
any number of workers.

>>> rules = HardEventRules(judgment_share=0.1, news_categories=("insolvency", "fraud"))
>>> rules.judgment(amount=1_500.0, exposure=10_000.0), rules.judgment(900.0, 10_000.0)
(True, False)
>>> rules.news(("layoffs", "fraud")), rules.news(("layoffs",))
('fraud', None)
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from detectors.money import Exposure
from detectors.signals import NEWS_CATEGORIES
from detectors.snapshots import Profile


@dataclass(frozen=True, slots=True)
class HardEventRules:
    """What makes a record a hard event."""

    judgment_share: float = 0.1
    """A court judgment warns when its amount is at least this share of the customer's
    exposure (open receivables; a customer who owes nothing puts nothing at stake)."""
    news_categories: tuple[str, ...] = ("insolvency", "fraud")
    """News of any of these categories warns: categories of the feed contract
    (`detectors.signals.NEWS_CATEGORIES`), in any case; another would never warn, since the
    contract leaves unknown categories out of every item."""

    def __post_init__(self) -> None:
        categories = tuple(category.strip().lower() for category in self.news_categories)
        unknown = sorted(set(categories) - NEWS_CATEGORIES)
        if unknown:
            raise ConfigError(f"detectors.hard_news_categories: {', '.join(unknown)} is no "
                              f"news category (known: {', '.join(sorted(NEWS_CATEGORIES))})")
        object.__setattr__(self, "news_categories", categories)

    def judgment(self, amount: float, exposure: float) -> bool:
        """Whether a judgment of ``amount`` warns a customer with ``exposure`` open."""
        return exposure > 0 and amount >= self.judgment_share * exposure

    def news(self, categories: tuple[str, ...]) -> str | None:
        """The first of the news item's categories that warns, if any."""
        return next((c for c in categories if c in self.news_categories), None)


@dataclass(frozen=True, slots=True)
class HardEvent:
    """A record that warns on its day: ``kind`` (`detectors.features.JUDGMENT` or
    `detectors.features.ADVERSE_NEWS`), what it
    said (``detail``: the judgment's share of exposure, or the news category), the input
    event, and the customer's master data and exposure."""

    customer_id: str
    slot: int
    at: int
    kind: str
    detail: float | str
    event_id: str
    profile: Profile
    exposure: Exposure
