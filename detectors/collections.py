"""The collections worklist: overdue invoices ranked by what they stand to lose.

At the end of a run every customer's invoices past due are written out (`OverdueInvoice`,
in the customer's own currency). The worklist joins them with the customer's latest PD and
insured limit: an invoice's expected loss is

    PD (1 in default) x its uninsured part, in the reporting currency

where the insured limit covers the customer's open receivables pro rata, so each invoice's
uninsured part is its amount times ``max(0, 1 - insured limit / exposure)``. Each invoice
gets its dunning stage from its days past due (`DunningRules`) and, for an insured customer,
the date by which the credit insurer must be told of the overdue (``notify_days`` after
the due date: a missed notification can void the cover).

>>> rules = DunningRules()
>>> rules.stage(3), rules.stage(20), rules.stage(95)
('reminder', 'second reminder', 'legal action')
>>> item = OverdueInvoice("C1", "Acme", "I-7", "e-7", 6000.0, "GBP", due_day=19_800,
...                       as_of_day=19_830)
>>> row = work_item(item.to_json(), pd=0.1, defaulted=False, exposure=10_000.0,
...                 insured_limit=4_000.0, rate=1.25, rules=rules)
>>> row["days_past_due"], row["uninsured_amount"], row["expected_loss"], row["notify_insurer_by"]
(30, 3600.0, 450.0, '2024-05-17')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from detectors.clock import DAY, to_rfc3339


@dataclass(frozen=True, slots=True)
class DunningRules:
    """Dunning stages by days past due (each from its first day), and the credit insurer's
    notification deadline in days after the due date (None: no insurer to tell)."""

    stages: tuple[tuple[int, str], ...] = ((1, "reminder"), (15, "second reminder"),
                                           (30, "final notice"), (60, "collection agency"),
                                           (90, "legal action"))
    notify_days: int | None = 60

    def stage(self, days_past_due: int) -> str:
        reached = [name for first, name in self.stages if days_past_due >= first]
        return reached[-1] if reached else "not yet due"


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """An invoice past due at the end of a run, in the customer's own currency."""

    customer_id: str
    customer_name: str | None
    invoice_id: str
    event_id: str
    amount: float
    """Still open."""
    currency: str
    due_day: int
    as_of_day: int
    """The run's last day: days past due are counted to it."""

    def to_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_name": self.customer_name,
                "invoice_id": self.invoice_id, "event_id": self.event_id,
                "amount": round(self.amount, 2), "currency": self.currency,
                "due_date": _date(self.due_day), "as_of": _date(self.as_of_day),
                "days_past_due": self.as_of_day - self.due_day}


def work_item(overdue: Mapping[str, Any], *, pd: float, defaulted: bool, exposure: float,
              insured_limit: float | None, rate: float | None,
              rules: DunningRules) -> dict[str, Any]:
    """One row of the worklist: an `OverdueInvoice` row with its dunning stage, insurer's
    deadline, uninsured part and expected loss (``exposure`` and ``insured_limit`` in the
    customer's currency; ``rate`` into the reporting currency, None when there is none)."""
    days = int(overdue["days_past_due"])
    amount = float(overdue["amount"])
    covered = 0.0 if not insured_limit or exposure <= 0 else min(1.0, insured_limit / exposure)
    uninsured = amount * (1.0 - covered)
    loss = (1.0 if defaulted else pd) * uninsured
    deadline = None
    if insured_limit and rules.notify_days is not None:
        deadline = date.fromisoformat(overdue["due_date"]) + timedelta(days=rules.notify_days)
    return {**overdue, "stage": rules.stage(days), "pd": 1.0 if defaulted else pd,
            "defaulted": defaulted, "uninsured_amount": round(uninsured, 2),
            "expected_loss": None if rate is None else round(loss * rate, 2),
            "customer_expected_loss": round(loss, 2),
            "notify_insurer_by": None if deadline is None else deadline.isoformat(),
            "insurer_deadline_passed": deadline is not None and days > (rules.notify_days or 0)}


def _date(day: int) -> str:
    return to_rfc3339(day * DAY)[:10]
