"""A rejected record does not use up its event id: a later record of the same customer with
that id is judged on its own (a record re-sent once the master data came is applied), and a
book with rejected copies of its records gives the results of the book without them."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from connectors.simulator import simulate
from detectors import events as ev
from detectors.book import BookSettings, CustomerBook
from detectors.clock import DAY
from detectors.dedup import EventIds
from detectors.events import Envelope, Origin
from detectors.records import DeadLetter
from detectors.snapshots import DefaultNotice
from detectors.stage import Send
from flows.cluster import run_job
from flows.explain import explain
from flows.job import Job, SourceSpec
from flows.run import DEADLETTER, SCORES, WARNINGS, WATCHLIST, run_folder

BUCKET = "bucket-0"


def _envelope(event: ev.Event, raw: bytes, position: int, day: int) -> Envelope:
    return Envelope(event, raw, Origin("file", f"{event.FEED}.jsonl", position), day)


def _invoice(event_id: str, day: int, invoice_id: str = "I1") -> ev.Invoice:
    return ev.Invoice(event_id, day * DAY, "A", invoice_id, 100.0, "EUR", day, day + 30)


class _Steps:
    """The id step and one customer book, fed a day at a time as the dataflow feeds them."""

    def __init__(self, memory_days: int = 180) -> None:
        self.ids = EventIds("ids-0", memory_days, lambda _: BUCKET, buckets=(BUCKET,))
        self.book = CustomerBook(BUCKET, BookSettings(event_id_memory_days=memory_days))
        self.rejected: list[tuple[str, str]] = []
        self.dead: set[tuple[int, str]] = set()
        """Where each rejected record was read, and why."""
        self.defaults: list[tuple[str, int, int]] = []
        """Each default: the customer, when, and the day it became known."""

    def day(self, day: int, envelopes: list[Envelope]) -> None:
        self.ids.advance(day - 1)  # as the dataflow does before every day
        self.book.advance(day - 1)
        to_book = []
        for out in self.ids.day(day, envelopes):
            if isinstance(out, Send) and out.to == BUCKET:
                to_book.append(out.item)
            self._note(out)
        for out in self.book.day(day, to_book):
            self._note(out)

    def _note(self, out: object) -> None:
        if isinstance(out, Send) and isinstance(out.item, DefaultNotice):
            self.defaults.append((out.item.customer_id, out.item.at, out.day))
        if isinstance(out, DeadLetter):
            self.rejected.append((out.event_id, out.reason))
            self.dead.add((out.origin.position, out.reason))  # type: ignore[union-attr]

    def open_invoices(self) -> int:
        return len(self.book.ledgers.open_slots())


def test_an_invoice_re_sent_once_its_customers_master_record_came_is_applied() -> None:
    steps = _Steps()
    invoice = _envelope(_invoice("inv-1", 100), b'{"inv-1"}', 1, 100)
    steps.day(100, [invoice])
    assert steps.rejected == [("inv-1", "unknown_customer")]
    steps.day(101, [_envelope(ev.CustomerRecord("cus-1", 101 * DAY, "A", "Acme"), b"c", 1, 101)])
    steps.day(102, [_envelope(_invoice("inv-1", 100), b'{"inv-1"}', 2, 100)])  # read late

    assert steps.rejected == [("inv-1", "unknown_customer")]  # not a duplicate
    assert steps.open_invoices() == 1
    steps.day(103, [_envelope(_invoice("inv-1", 100), b'{"inv-1"}', 3, 100),
                    _envelope(_invoice("inv-1", 100, "I2"), b'{"other"}', 4, 100)])
    assert steps.rejected[1:] == [("inv-1", "duplicate"), ("inv-1", "duplicate_id")]


def test_a_stale_refusal_never_lets_a_copy_of_an_applied_record_through() -> None:
    """A payment rejected twice (no invoice yet) must not make the id step's next round
    of the id a second chance: the payment read once its invoice came, then its copy, is
    one payment and a duplicate (the copy was applied too)."""
    steps = _Steps()
    steps.day(50, [_envelope(ev.CustomerRecord("cus-1", 50 * DAY, "A", "Acme"), b"c", 1, 50)])
    for day in (61, 150):
        steps.day(day, [_envelope(ev.Payment("pay-1", day * DAY, "A", "I1", 30.0, "EUR"),
                                  f"{day}".encode(), day, day)])
    steps.day(270, [_envelope(_invoice("inv-1", 270), b"i", 1, 270)])
    payment = ev.Payment("pay-1", 280 * DAY, "A", "I1", 30.0, "EUR")
    steps.day(280, [_envelope(payment, b"p", 1, 280), _envelope(payment, b"p", 2, 280)])
    assert steps.rejected[-1] == ("pay-1", "duplicate")
    assert steps.book.ledgers.total_open(steps.book.slots["A"]) == 70.0


def test_a_rejected_payment_leaves_the_default_line_where_it_was() -> None:
    """A payment in the customer's currency sets its material overdue amount at the day's
    rate before the ledger judges it: a rejected one moved it for the records after it."""
    lines = []
    for rejected in (False, True):
        steps = _Steps()
        steps.day(1, [_envelope(ev.CustomerRecord("cus-1", DAY, "A", "Acme", currency="USD"),
                                b"c", 1, 1),
                      _envelope(ev.FxRate("fx-1", DAY, None, "EUR", "USD", 1.1), b"f", 2, 1)])
        invoice = ev.Invoice("inv-1", 3 * DAY, "A", "I1", 100.0, "USD", 3, 33)
        steps.day(3, [_envelope(invoice, b"i", 1, 3)])
        payment = ev.Payment("pay-1", 5 * DAY, "A", "NO-SUCH", 10.0, "USD")
        steps.day(5, [_envelope(ev.FxRate("fx-5", 5 * DAY, None, "EUR", "USD", 2.0), b"g", 1, 5),
                      *([_envelope(payment, b"p", 2, 5)] if rejected else [])])
        lines.append(float(steps.book.t.led_material[steps.book.slots["A"]]))
    assert steps.rejected == [("pay-1", "unknown_invoice")]
    assert lines[1] == lines[0] == pytest.approx(500 * 1.1)  # the invoice's day's rate


@pytest.mark.parametrize("seed", range(40))
def test_rejected_copies_of_a_customers_records_change_nothing_at_the_steps(seed: int) -> None:
    """Random books of two customers whose ids repeat (exact copies, other content, reuse
    after the id memory of 8 days, in 30-day stretches), with and without copies of their
    records that their step rejects (a payment of an invoice that does not exist) read
    before them, a day or weeks earlier: the same records are applied and rejected."""
    rng = random.Random(seed)
    genuine: list[tuple[int, ev.Event, bytes]] = []
    for customer in ("A", "B"):
        for n in range(60):
            day = rng.randrange(1, 400)
            event_id = f"{customer}-{rng.randrange(8)}"
            if rng.random() < 0.4:
                genuine.append((day, ev.Invoice(event_id, day * DAY, customer, f"I{n}", 100.0,
                                                "EUR", day, day + 30), b"i%d" % n))
            else:
                invoice = f"I{rng.randrange(n + 1)}"
                raw = b"p%d" % rng.randrange(3)  # the same bytes again now and then
                genuine.append((day, ev.Payment(event_id, day * DAY, customer, invoice, 10.0,
                                                "EUR"), raw))
            if rng.random() < 0.2:
                genuine.append(genuine[-1])
    copies = [(day - rng.choice((0, 1, 20)), ev.Payment(
        event.event_id, (day - 1) * DAY, event.customer_id, "NO-SUCH", 1.0, "EUR"), b"x")
        for day, event, _ in rng.sample(genuine, 25)]

    def run(records: list[tuple[int, ev.Event, bytes]]) -> tuple[Any, ...]:
        steps = _Steps(memory_days=8)
        masters = [_envelope(ev.CustomerRecord(f"cus-{c}", -40 * DAY, c, c), c.encode(), 0,
                             -40) for c in ("A", "B")]
        steps.day(-40, masters)  # before the first copy
        by_day: dict[int, list[Envelope]] = {}
        for position, (day, event, raw) in enumerate(records, start=1):
            by_day.setdefault(day, []).append(_envelope(event, raw, position, day))
        for day in sorted(by_day):
            steps.day(day, by_day[day])
        for day in range(max(by_day) + 1, max(by_day) + 400, 30):  # month ends may default
            steps.day(day, [])
        ledgers = steps.book.ledgers
        return (steps.book.accepted, [ledgers.total_open(steps.book.slots[c]) for c in "AB"],
                {(at, why) for at, why in steps.dead if at <= len(genuine)}, steps.defaults)

    clean = run(genuine)
    mixed = run(genuine + copies)
    assert len(clean[2]) > 10  # repeats and payments of unknown invoices among them
    assert mixed == clean


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feeds = tmp_path_factory.mktemp("book")
    simulate(60, 12, seed=8, out=feeds)
    return feeds


def _with_rejected_copies(book: Path, out: Path) -> dict[str, str]:
    """``book`` with, before some genuine payments records, a copy under the same event id
    that its customer's step rejects: an invoice of the customer dated before its master
    record (``unknown_customer``), a payment of an invoice that does not exist
    (``unknown_invoice``). Returns the copies' reasons by event id."""
    out.mkdir()
    for path in book.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    lines = (book / "payments.jsonl").read_text().splitlines()
    invoices = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "invoice"]
    payments = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "payment"]
    copies: dict[int, str] = {}
    reasons: dict[str, str] = {}
    for i in invoices[:5]:  # the first invoices: dated on the master records' day
        record = json.loads(lines[i])
        record["event_time"] = "2020-12-31"
        copies[i] = json.dumps(record)
        reasons[record["event_id"]] = "unknown_customer"
    for i in payments[::40]:
        record = json.loads(lines[i])
        record["invoice_id"] = "NO-SUCH-INVOICE"
        copies[i] = json.dumps(record)
        reasons[record["event_id"]] = "unknown_invoice"
    mixed = [line for i, line in enumerate(lines) for line in (copies.get(i), line) if line]
    (out / "payments.jsonl").write_text("\n".join(mixed) + "\n")
    return reasons


@pytest.mark.parametrize(("workers", "processes"), [(1, 1), (2, 1), (1, 2)])
def test_rejected_copies_of_a_customers_records_change_nothing(
        book: Path, tmp_path: Path, workers: int, processes: int) -> None:
    clean = run_folder(Settings(), book, tmp_path / "clean", scores=True, notify=False)
    reasons = _with_rejected_copies(book, tmp_path / "feeds")
    mixed = run_job(Job(Settings(), SourceSpec("folder", {"path": str(tmp_path / "feeds")}),
                        tmp_path / "mixed", scores=True, workers=workers, processes=processes))

    dead = [json.loads(line) for line in (tmp_path / "mixed" / DEADLETTER).read_text()
            .splitlines()]
    assert {row["event_id"]: row["reason"] for row in dead} == reasons
    assert len(dead) == len(reasons) >= 10
    assert mixed.balanced and mixed.accepted == clean.accepted and mixed.duplicates == 0
    for name in (WARNINGS, SCORES, WATCHLIST):
        assert ((tmp_path / "mixed" / name).read_bytes()
                == (tmp_path / "clean" / name).read_bytes()), name


def _explained(out: Path, customer_id: str) -> dict[str, Any]:
    """``explain``'s answer at the book's end, without what depends on where records sit
    in the files (and the rejected records, which differ)."""
    doc = explain(customer_id, datetime(2022, 1, 1, tzinfo=UTC), out / "audit", Settings())
    for key in ("log", "rejected"):
        doc.pop(key)
    for entry in doc["evidence"]:
        entry.pop("origin")
        entry.pop("record")
    return doc


def test_explain_cites_the_record_applied_not_a_rejected_copy_read_before_it(
        book: Path, tmp_path: Path) -> None:
    run_folder(Settings(), book, tmp_path / "clean", scores=True, notify=False)
    reasons = _with_rejected_copies(book, tmp_path / "feeds")
    run_folder(Settings(), tmp_path / "feeds", tmp_path / "mixed", scores=True, notify=False)
    paying = sorted({"C" + event_id.split("-")[1] for event_id, reason in reasons.items()
                     if reason == "unknown_invoice"})
    cited = 0
    for customer_id in paying:
        clean = _explained(tmp_path / "clean", customer_id)
        assert _explained(tmp_path / "mixed", customer_id) == clean, customer_id
        cited += sum(entry["event_id"] in reasons for entry in clean["evidence"])
    assert cited  # a genuine record with a rejected copy is cited somewhere
