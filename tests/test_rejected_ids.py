"""A rejected record does not use up its event id: a later record of the same customer with
that id is judged on its own (a record re-sent once the master data came is applied), and a
book with rejected copies of its records gives the results of the book without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import Settings
from connectors.simulator import simulate
from detectors import events as ev
from detectors.book import BookSettings, CustomerBook
from detectors.clock import DAY
from detectors.dedup import EventIds, Repeat, SecondChances
from detectors.events import Envelope, Origin
from detectors.records import DeadLetter
from detectors.stage import Send
from flows.run import DEADLETTER, SCORES, WARNINGS, WATCHLIST, run_folder

BUCKET = "bucket-0"


def _envelope(event: ev.Event, raw: bytes, position: int, day: int) -> Envelope:
    return Envelope(event, raw, Origin("file", f"{event.FEED}.jsonl", position), day)


def _invoice(event_id: str, day: int, invoice_id: str = "I1") -> ev.Invoice:
    return ev.Invoice(event_id, day * DAY, "A", invoice_id, 100.0, "EUR", day, day + 30)


class _Steps:
    """The id step and one customer book, fed a day at a time as the dataflow feeds them."""

    def __init__(self) -> None:
        self.ids = EventIds("ids-0", 180, lambda _: BUCKET)
        self.book = CustomerBook(BUCKET, BookSettings())
        self.rejected: list[tuple[str, str]] = []

    def day(self, day: int, envelopes: list[Envelope]) -> None:
        to_book = []
        for out in self.ids.day(day, envelopes):
            if isinstance(out, Send) and out.to == BUCKET:
                to_book.append(out.item)
            self._note(out)
        for out in self.book.day(day, to_book):
            self._note(out)
        self.ids.advance(day)
        self.book.advance(day)

    def _note(self, out: object) -> None:
        if isinstance(out, DeadLetter):
            self.rejected.append((out.event_id, out.reason))

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


def test_second_chances_go_to_the_customer_whose_record_was_rejected_only() -> None:
    chances = SecondChances(memory_days=30)
    rejected = _envelope(_invoice("inv-1", 100), b"a", 1, 100)
    chances.refuse(rejected, 100)
    again = Repeat(_envelope(_invoice("inv-1", 100), b"b", 2, 100), same=False)
    other = ev.Invoice("inv-1", 100 * DAY, "B", "I1", 1.0, "EUR", 100, 130)
    elsewhere = Repeat(_envelope(other, b"c", 3, 100), same=False)
    assert chances.verdict(again) is None
    assert chances.verdict(elsewhere).reason == "duplicate_id"  # type: ignore[union-attr]

    chances.take(again.envelope, 101)
    assert chances.verdict(Repeat(again.envelope, same=False)).reason == "duplicate"  # type: ignore[union-attr]
    chances.expire(200)
    assert chances.verdict(again).reason == "duplicate_id"  # type: ignore[union-attr]


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


@pytest.mark.parametrize("workers", [1, 2])
def test_rejected_copies_of_a_customers_records_change_nothing(
        book: Path, tmp_path: Path, workers: int) -> None:
    clean = run_folder(Settings(), book, tmp_path / "clean", scores=True, notify=False)
    reasons = _with_rejected_copies(book, tmp_path / "feeds")
    mixed = run_folder(Settings(), tmp_path / "feeds", tmp_path / "mixed", scores=True,
                       workers=workers, notify=False)

    dead = [json.loads(line) for line in (tmp_path / "mixed" / DEADLETTER).read_text()
            .splitlines()]
    assert {row["event_id"]: row["reason"] for row in dead} == reasons
    assert len(dead) == len(reasons) >= 10
    assert mixed.balanced and mixed.accepted == clean.accepted and mixed.duplicates == 0
    for name in (WARNINGS, SCORES, WATCHLIST):
        assert ((tmp_path / "mixed" / name).read_bytes()
                == (tmp_path / "clean" / name).read_bytes()), name
