"""The credit insurer's notification deadline: a warning before it passes.

A credit insurance policy asks to be told of an overdue invoice within a number of days
after its due date (``notify_days``); a missed notification can void the cover. With
``warn_days`` set, an insured customer's invoice still open at the end of the day
``warn_days`` before that deadline gives a warning of its own on that day, naming the
invoice and the deadline. A customer is insured when its master data gives an insured limit
above 0.

>>> terms = InsuranceTerms(notify_days=60, warn_days=10)
>>> terms.warn_offset  # the warning comes 50 days after the due date
50
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.money import Exposure
from detectors.snapshots import Profile


@dataclass(frozen=True, slots=True)
class InsuranceTerms:
    notify_days: int | None = 60
    """Days after the due date by which the insurer must hear of an overdue (None: no
    credit insurance)."""
    warn_days: int | None = None
    """Warn this many days before the deadline (None: no deadline warnings)."""

    @property
    def warns(self) -> bool:
        return self.notify_days is not None and self.warn_days is not None

    @property
    def warn_offset(self) -> int:
        """Days after the due date on which the warning comes."""
        assert self.notify_days is not None and self.warn_days is not None
        return max(0, self.notify_days - self.warn_days)


@dataclass(frozen=True, slots=True)
class CoverCut:
    """The insurer announced at ``at`` that the customer's insured limit falls from ``old``
    to ``new`` (the customer's currency) on ``starts_day``; ``profile`` and ``exposure`` as
    they stand when it was announced."""

    customer_id: str
    slot: int
    at: int
    event_id: str
    old: float
    new: float
    starts_day: int
    profile: Profile
    exposure: Exposure


@dataclass(frozen=True, slots=True)
class DeadlineNotice:
    """An insured customer's invoice ``invoice_id`` (event ``event_id``, ``amount`` still
    open in the customer's currency, due on ``due_day``) is still open ``warn_days`` before
    the insurer's deadline, ``deadline_day``; noticed at ``at``."""

    customer_id: str
    slot: int
    at: int
    invoice_id: str
    event_id: str
    amount: float
    due_day: int
    deadline_day: int
    profile: Profile
    exposure: Exposure
