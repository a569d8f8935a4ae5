"""Ledger arithmetic against hand-worked cases."""

from __future__ import annotations

import pytest

from detectors.ledger import Ledger, LedgerError


@pytest.fixture
def ledger() -> Ledger:
    """Three invoices: 1,000 due day 30; 2,000 due day 60; 500 due day 100."""
    book = Ledger()
    book.invoice("a", 1000.0, issue_day=0, due_day=30)
    book.invoice("b", 2000.0, issue_day=30, due_day=60)
    book.invoice("c", 500.0, issue_day=70, due_day=100)
    return book


def test_aging_buckets_by_days_past_due(ledger: Ledger) -> None:
    # Day 95: a is 65 days late (61-90), b is 35 (31-60), c not yet due.
    assert ledger.aging(95) == {"current": 500.0, "1_30": 0.0, "31_60": 2000.0,
                                "61_90": 1000.0, "over_90": 0.0}
    # Day 131: a 101 (over 90), b 71 (61-90), c 31 (31-60).
    assert ledger.aging(131) == {"current": 0.0, "1_30": 0.0, "31_60": 500.0,
                                 "61_90": 2000.0, "over_90": 1000.0}


def test_partial_payment_then_settlement_gives_delay(ledger: Ledger) -> None:
    first = ledger.pay("a", 400.0, day=40)
    assert (first.closed, first.partial, first.days_late) == (False, True, None)
    assert ledger.total_open() == pytest.approx(3100.0)
    second = ledger.pay("a", 600.0, day=45)
    assert (second.closed, second.days_late) == (True, 15)
    assert ledger.total_open() == pytest.approx(2500.0)


def test_overdue_share_and_max_days_past_due(ledger: Ledger) -> None:
    # Day 70: a (1000) and b (2000) overdue, c (500) current -> 3000 / 3500.
    assert ledger.overdue_share(70) == pytest.approx(3000 / 3500)
    assert ledger.max_days_past_due(70) == 40
    assert ledger.max_days_past_due(70, material=1500.0) == 10  # only b counts
    assert ledger.overdue_amount(70, min_days=20) == pytest.approx(1000.0)


def test_dso_is_open_over_ninety_days_of_sales(ledger: Ledger) -> None:
    # Day 89: sales in the last 90 days = a (day 0) + b + c = 3500; open 3500 -> 90 days.
    assert ledger.dso(89) == pytest.approx(90.0)
    # Day 95: a's sale (day 0) left the window: sales 2500, open 3500 -> 126 days.
    assert ledger.dso(95) == pytest.approx(3500 / 2500 * 90)
    ledger.pay("b", 2000.0, day=95)
    assert ledger.dso(95) == pytest.approx(1500 / 2500 * 90)


def test_credit_notes_write_offs_and_overpayments(ledger: Ledger) -> None:
    ledger.credit("c", 100.0, day=80)
    assert ledger.open_items["c"].open == pytest.approx(400.0)
    ledger.credit("c", 400.0, day=81)
    assert "c" not in ledger.open_items
    settled = ledger.pay("b", 2500.0, day=61)
    assert settled.closed and settled.days_late == 1
    assert ledger.unapplied == pytest.approx(500.0)
    late_extra = ledger.pay("b", 10.0, day=70)  # settled invoice: credit, not an error
    assert not late_extra.closed and ledger.unapplied == pytest.approx(510.0)


def test_unknown_and_duplicate_invoices_are_errors(ledger: Ledger) -> None:
    with pytest.raises(LedgerError) as unknown:
        ledger.pay("zzz", 1.0, day=1)
    assert unknown.value.reason == "unknown_invoice"
    with pytest.raises(LedgerError) as duplicate:
        ledger.invoice("a", 1.0, issue_day=1, due_day=2)
    assert duplicate.value.reason == "duplicate_invoice"


def test_empty_ledger_is_neutral() -> None:
    book = Ledger()
    assert (book.overdue_share(10), book.dso(10), book.max_days_past_due(10)) == (0.0, 0.0, 0)
