"""Ledger arithmetic against hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.features import INDEX, empty
from detectors.ledger import SALES_DAYS, LedgerError, Ledgers
from detectors.strings import StringTable
from detectors.table import Table


@pytest.fixture
def ledgers() -> Ledgers:
    """Customer 0 with three invoices: 1,000 due day 30; 2,000 due day 60; 500 due day 100."""
    book = Ledgers(Table(Ledgers.COLUMNS), material=0.0, strings=StringTable())
    book.t.add()
    book.invoice(0, "C", "a", 1000.0, issue_day=0, due_day=30, event_id="e-a")
    book.invoice(0, "C", "b", 2000.0, issue_day=30, due_day=60, event_id="e-b")
    book.invoice(0, "C", "c", 500.0, issue_day=70, due_day=100, event_id="e-c")
    return book


def figures(book: Ledgers, day: int, slot: int = 0) -> dict[str, float]:
    X = empty(1)
    book.features(np.array([slot]), day, X)
    return {code: float(X[0, INDEX[code]]) for code in
            ("overdue_share", "max_dpd", "dso", "share_over_90", "has_ledger")}


def test_overdue_share_days_past_due_and_share_over_90(ledgers: Ledgers) -> None:
    # Day 70: a (1000) and b (2000) overdue, c (500) current -> 3000 / 3500; a 40 days late.
    f = figures(ledgers, 70)
    assert f["overdue_share"] == pytest.approx(3000 / 3500) and f["max_dpd"] == 40.0
    # Day 131: a is 101 days late: 1000 of 3500 over 90.
    assert figures(ledgers, 131)["share_over_90"] == pytest.approx(1000 / 3500)


def test_days_past_due_counts_only_material_invoices() -> None:
    book = Ledgers(Table(Ledgers.COLUMNS), material=1500.0, strings=StringTable())
    book.t.add()
    book.invoice(0, "C", "a", 1000.0, issue_day=0, due_day=30, event_id="e-a")
    book.invoice(0, "C", "b", 2000.0, issue_day=30, due_day=60, event_id="e-b")
    assert figures(book, 70)["max_dpd"] == 10.0  # only b is above 1,500


def test_partial_payment_then_settlement_gives_delay(ledgers: Ledgers) -> None:
    first = ledgers.pay(0, "C", "a", 400.0, day=40)
    assert (first.closed, first.partial, first.days_late) == (False, True, None)
    assert ledgers.total_open(0) == pytest.approx(3100.0)
    second = ledgers.pay(0, "C", "a", 600.0, day=45)
    assert (second.closed, second.days_late) == (True, 15)
    assert ledgers.total_open(0) == pytest.approx(2500.0)
    assert [event for event, _, _ in ledgers.open_items(0)] == ["e-b", "e-c"]


def test_dso_is_open_receivables_over_about_ninety_days_of_sales(ledgers: Ledgers) -> None:
    # Sales decay over 90 days: as of day 70, 1000 e^-70/90 + 2000 e^-40/90 + 500.
    sales = 1000 * math.exp(-70 / SALES_DAYS) + 2000 * math.exp(-40 / SALES_DAYS) + 500
    assert figures(ledgers, 70)["dso"] == pytest.approx(3500 / sales * SALES_DAYS)
    ledgers.pay(0, "C", "b", 2000.0, day=70)
    assert figures(ledgers, 70)["dso"] == pytest.approx(1500 / sales * SALES_DAYS)


def test_credit_notes_write_offs_and_overpayments(ledgers: Ledgers) -> None:
    ledgers.credit(0, "C", "c", 100.0, day=80)
    assert ledgers.total_open(0) == pytest.approx(3400.0)
    ledgers.credit(0, "C", "c", 400.0, day=81)
    assert [event for event, _, _ in ledgers.open_items(0)] == ["e-a", "e-b"]
    settled = ledgers.pay(0, "C", "b", 2500.0, day=61)
    assert settled.closed and settled.days_late == 1
    assert float(ledgers.t.led_unapplied[0]) == pytest.approx(500.0)
    late_extra = ledgers.pay(0, "C", "b", 10.0, day=70)  # settled: credit, not an error
    assert not late_extra.closed and float(ledgers.t.led_unapplied[0]) == pytest.approx(510.0)


def test_unknown_and_duplicate_invoices_are_errors(ledgers: Ledgers) -> None:
    with pytest.raises(LedgerError) as unknown:
        ledgers.pay(0, "C", "zzz", 1.0, day=1)
    assert unknown.value.reason == "unknown_invoice"
    with pytest.raises(LedgerError) as duplicate:
        ledgers.invoice(0, "C", "a", 1.0, issue_day=1, due_day=2, event_id="x")
    assert duplicate.value.reason == "duplicate_invoice"
    ledgers.pay(0, "C", "a", 1000.0, day=31)
    with pytest.raises(LedgerError) as settled_again:  # a settled id is remembered too
        ledgers.invoice(0, "C", "a", 1.0, issue_day=40, due_day=50, event_id="y")
    assert settled_again.value.reason == "duplicate_invoice"


def test_invoice_ids_belong_to_their_customer(ledgers: Ledgers) -> None:
    ledgers.t.add()
    ledgers.invoice(1, "D", "a", 50.0, issue_day=5, due_day=9, event_id="d-a")  # same id, D
    assert ledgers.total_open(1) == 50.0 and ledgers.total_open(0) == 3500.0


def test_the_default_day_is_when_the_open_amount_90_days_late_reaches_the_material_one(
) -> None:
    book = Ledgers(Table(Ledgers.COLUMNS), material=500.0, strings=StringTable())
    book.t.add()
    book.invoice(0, "C", "a", 300.0, issue_day=0, due_day=10, event_id="e-a")
    assert book.default_day(0) > 10**6
    book.invoice(0, "C", "b", 300.0, issue_day=0, due_day=40, event_id="e-b")
    assert book.default_day(0) == 130  # 300 + 300 by b's due day, plus 90
    book.pay(0, "C", "a", 300.0, day=20)
    assert book.default_day(0) > 10**6


def test_an_empty_ledger_is_neutral_and_says_nothing() -> None:
    book = Ledgers(Table(Ledgers.COLUMNS), material=500.0, strings=StringTable())
    book.t.add()
    f = figures(book, 10)
    assert f["has_ledger"] == 0.0
    assert all(math.isnan(f[k]) for k in ("overdue_share", "max_dpd", "dso"))


def test_many_customers_at_once_read_exactly_as_each_alone() -> None:
    # Invoices come and go across 100 customers (freed rows are reused by others); the
    # month-end path (sorting the whole table) and the per-customer path (walking each
    # customer's list) must sum each customer's invoices in the same order.
    import random

    rng = random.Random(5)
    book = Ledgers(Table(Ledgers.COLUMNS), material=100.0, strings=StringTable())
    slots = [book.t.add() for _ in range(100)]
    for n in range(3000):
        slot = rng.choice(slots)
        if rng.random() < 0.6 or not book.has_open(slot):
            due = rng.randrange(0, 200)
            book.invoice(slot, f"C{slot}", f"i{n}", rng.uniform(1, 1e4) / 3, due - 30, due,
                         f"e{n}")
        else:
            row = rng.choice(list(book.rows(slot)))
            invoice = f"i{book.strings.get(int(book.items.event[row]))[1:]}"
            book.pay(slot, f"C{slot}", invoice, rng.uniform(1, 1e4) / 7, day=150)
    together = empty(len(slots))
    book.features(np.array(slots), 170, together)
    for i, slot in enumerate(slots):
        alone = empty(1)
        book.features(np.array([slot]), 170, alone)
        assert np.array_equal(together[i], alone[0], equal_nan=True)
    assert np.array_equal(book.exposure(np.array(slots)),
                          [book.exposure(np.array([s]))[0] for s in slots])
