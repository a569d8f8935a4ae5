"""The monitor flow end to end: bytewax's testing source and sink, and real feed folders."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from bytewax.testing import TestingSink, TestingSource, run_main
from feedkit import customer, drain, invoice, payment, record, status, write_feeds
from structlog.testing import capture_logs

from config.settings import RecoverySettings, Settings
from connectors.files import FeedFolderSource
from connectors.records import DeadLetter, RawRecord, SourceDone, Warning, Watermark
from detectors.clock import to_seconds
from flows.monitor import Outputs, build_flow
from flows.run import DEADLETTER, EPOCH, WARNINGS, read_jsonl, run_folder

SETTINGS = Settings()


def deteriorating_portfolio() -> dict[str, list[dict]]:
    """GOOD pays on time; BAD stops paying in March and files for insolvency in August."""
    feeds: dict[str, list[dict]] = {"customers": [], "payments": [], "news": [], "registry": []}
    for cid, name in (("GOOD", "Good Foods SA"), ("BAD", "Bad Metals GmbH")):
        feeds["customers"].append(customer(cid, "2024-01-01", name, credit_limit=20000,
                                           aliases=[name.split()[0] + " " + name.split()[1]]))
    for m in range(1, 8):
        when, due = f"2024-{m:02d}-05", f"2024-{m + 1:02d}-04"
        for cid in ("GOOD", "BAD"):
            feeds["payments"].append(invoice(cid, when, f"{cid}-{m}", 3000, due))
        feeds["payments"].append(payment("GOOD", f"2024-{m + 1:02d}-03", f"GOOD-{m}", 3000))
        if m < 3:
            feeds["payments"].append(payment("BAD", f"2024-{m + 1:02d}-04", f"BAD-{m}", 3000))
    feeds["news"].append(record("news", company_name="BAD METALS", event_time="2024-05-02",
                                headline="Bad Metals cuts jobs", source="wire",
                                categories=["layoffs"], sentiment=-0.6))
    feeds["registry"].append(status("BAD", "2024-08-20", "insolvency_filed"))
    return feeds


def as_items(feeds: dict[str, list[dict]]) -> list:
    rows = sorted(((r["event_time"], feed, r) for feed, rs in feeds.items() for r in rs),
                  key=lambda t: t[0])
    items: list = [RawRecord(feed, json.dumps(r).encode(), {"n": i})
                   for i, (_, feed, r) in enumerate(rows)]
    end = to_seconds(datetime(2024, 12, 1, tzinfo=UTC))
    return [*items, Watermark("p", 1, end), SourceDone("p", len(items))]


def test_flow_with_bytewax_testing_tools_warns_the_deteriorating_customer_only() -> None:
    warnings: list = []
    dead: list = []
    stats: list = []
    outputs = Outputs(TestingSink(warnings), TestingSink(dead), stats=TestingSink(stats))
    flow = build_flow(SETTINGS, TestingSource(as_items(deteriorating_portfolio())), outputs)
    run_main(flow, epoch_interval=EPOCH)
    early = [w for _, w in warnings if isinstance(w, Warning) and w.kind != "default"]
    assert early and {w.customer_id for w in early} == {"BAD"}
    first = early[0]
    assert first.kind == "early_warning" and first.grade >= "C"
    assert first.event_time < "2024-08-20"  # before the insolvency
    assert {r.code for r in first.reasons} & {"overdue_share", "max_dpd"}
    assert all(r.contribution > 0 for r in first.reasons)
    assert any(e.startswith("pay-") for e in first.evidence)  # an overdue invoice
    assert [w.kind for _, w in warnings if w.kind == "default"] == ["default"]
    assert not dead  # the news named by company alias was resolved, not dead-lettered
    read = sum(s.records for _, s in stats if isinstance(s, SourceDone))
    accepted = sum(s.count for _, s in stats if not isinstance(s, SourceDone))
    assert read == accepted == sum(len(v) for v in deteriorating_portfolio().values())


def test_same_input_gives_byte_identical_warnings(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    run_folder(SETTINGS, feeds, tmp_path / "a")
    run_folder(SETTINGS, feeds, tmp_path / "b")
    first = (tmp_path / "a" / WARNINGS).read_bytes()
    assert first and first == (tmp_path / "b" / WARNINGS).read_bytes()


def test_every_bad_input_has_a_defined_outcome_and_the_counts_add_up(tmp_path: Path) -> None:
    feeds = deteriorating_portfolio()
    good = invoice("GOOD", "2024-03-06", "X1", 100, "2024-04-05")
    feeds["payments"] += [
        invoice("GOOD", "2024-03-06", "X2", -5, "2024-04-05"),  # negative amount
        {**invoice("GOOD", "2024-03-06", "X3", 1, "2024-04-05"), "amount": [1]},  # wrong type
        payment("GOOD", "2024-03-07", "NO-SUCH-INVOICE", 10),  # unknown invoice
        good, dict(good),  # duplicate event id
        invoice("NEWCO", "2024-03-08", "N1", 100, "2024-04-07"),  # unknown customer: accepted
        invoice("GOOD", "2024-03-01", "X4", 5, "2024-03-31"),  # 5 days out of order: accepted
    ]
    folder = write_feeds(tmp_path / "feeds", feeds)
    with (folder / "payments.jsonl").open("a") as f:
        f.write("{this is not json\n")
        f.write(json.dumps(invoice("GOOD", "2024-01-02", "OLD", 1, "2024-02-01")) + "\n")  # late
        f.write('{"event_id": "big", "pad": "' + "x" * 10_000_000 + '"}\n')  # a 10 MB line
    payload = "".join(json.dumps(payment("GOOD", "2024-08-01", f"GOOD-{m}", 1)) + "\n"
                      for m in range(1, 4)).encode()
    (folder / "payments-0002.jsonl.gz").write_bytes(gzip.compress(payload)[:-20])  # truncated

    summary = run_folder(SETTINGS, folder, tmp_path / "out")
    dead = read_jsonl(tmp_path / "out" / DEADLETTER)
    dead_ids = {row["event_id"] for row in dead}
    unknown_customer, out_of_order = feeds["payments"][-2:]
    assert unknown_customer["event_id"] not in dead_ids  # accepted without master data
    assert out_of_order["event_id"] not in dead_ids  # within the allowed lateness
    reasons = {row["reason"] for row in dead}
    assert {"schema", "unknown_invoice", "duplicate", "invalid_json", "late", "too_large",
            "unreadable_file"} <= reasons
    assert summary.balanced, summary
    assert summary.duplicates == 1
    big = [r for r in read_jsonl(tmp_path / "out" / DEADLETTER) if r["reason"] == "too_large"]
    assert "10000" in big[0]["detail"] and len(big[0]["original"]) <= 65_536
    truncated = [r for r in read_jsonl(tmp_path / "out" / DEADLETTER)
                 if r["reason"] == "unreadable_file"]
    assert truncated[0]["origin"]["file"] == "payments-0002.jsonl.gz"


def test_folder_source_resumes_exactly_where_its_snapshot_says(tmp_path: Path) -> None:
    folder = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    source = FeedFolderSource(folder)

    whole = [i for i in drain(source.build_part("s", "shard-0-of-1", None))
             if isinstance(i, RawRecord)]
    part = source.build_part("s", "shard-0-of-1", None)
    head = drain(part, 20)
    resumed = source.build_part("s", "shard-0-of-1", part.snapshot())
    part.close()
    tail = drain(resumed)
    both = [i for i in head + tail if isinstance(i, RawRecord)]
    assert [r.raw for r in both] == [r.raw for r in whole]
    times = [json.loads(r.raw)["event_time"] for r in whole]
    assert times == sorted(times)


def test_two_workers_write_the_same_warnings_as_one(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    one = run_folder(SETTINGS, feeds, tmp_path / "one")
    two = run_folder(SETTINGS, feeds, tmp_path / "two", workers=2)
    assert one.warnings and one.to_json() == two.to_json()
    assert (tmp_path / "one" / WARNINGS).read_bytes() == (tmp_path / "two" / WARNINGS).read_bytes()


def test_dead_letters_keep_the_original_bytes() -> None:
    letter = DeadLetter("news", "not_utf8", "bad byte", b"\xff\x00", {"file": "x"})
    assert letter.to_json()["original_encoding"] == "hex"
    assert bytes.fromhex(letter.to_json()["original"]) == b"\xff\x00"


def test_rejections_are_logged_with_customer_and_event_ids(tmp_path: Path) -> None:
    feeds = deteriorating_portfolio()
    feeds["payments"].append(payment("GOOD", "2024-03-07", "NO-SUCH-INVOICE", 10))
    folder = write_feeds(tmp_path / "feeds", feeds)
    with capture_logs() as logs:
        run_folder(SETTINGS, folder, tmp_path / "out")
    rejected = [e for e in logs if e["event"] == "event.rejected"]
    assert [(e["customer_id"], e["reason"]) for e in rejected] == [("GOOD", "unknown_invoice")]
    assert rejected[0]["event_id"] == feeds["payments"][-1]["event_id"]


def test_news_naming_a_company_on_the_day_it_is_registered_is_resolved() -> None:
    """Within a day the order is not fixed: the news may come before the customer record."""
    news = record("news", company_name="Newco", event_time="2024-01-01T09:00:00Z",
                  headline="Newco opens", source="wire")
    master = customer("NEW", "2024-01-01", "Newco Ltd")
    lost = record("news", company_name="Nobody", event_time="2024-01-01T10:00:00Z",
                  headline="?", source="wire")
    items = [RawRecord("news", json.dumps(news).encode()),
             RawRecord("news", json.dumps(lost).encode()),
             RawRecord("customers", json.dumps(master).encode()),
             SourceDone("p", 3)]
    warnings: list = []
    dead: list = []
    stats: list = []
    flow = build_flow(SETTINGS, TestingSource(items), Outputs(
        TestingSink(warnings), TestingSink(dead), stats=TestingSink(stats)))
    run_main(flow, epoch_interval=EPOCH)
    assert [(d.event_id, d.reason) for _, d in dead] == [(lost["event_id"], "unknown_company")]
    accepted = sum(s.count for _, s in stats if not isinstance(s, SourceDone))
    assert accepted == 2  # the master record and the news resolved to it


def test_a_line_too_large_is_counted_once_on_any_number_of_workers(tmp_path: Path) -> None:
    folder = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    big = record("news", customer_id="BAD", event_time="2024-02-01", headline="x" * 1_100_000,
                 source="wire")
    with (folder / "news.jsonl").open("a") as f:
        f.write(json.dumps(big) + "\n")
    for workers in (1, 2):
        summary = run_folder(SETTINGS, folder, tmp_path / f"out{workers}", workers=workers)
        assert summary.rejected_by_reason == {"too_large": 1} and summary.balanced, summary


def test_a_run_with_recovery_started_again_repeats_nothing(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    settings = SETTINGS.model_copy(update={"recovery": RecoverySettings(
        directory=tmp_path / "recovery")})
    first = run_folder(settings, feeds, tmp_path / "out")
    warnings = (tmp_path / "out" / WARNINGS).read_bytes()
    again = run_folder(settings, feeds, tmp_path / "out")
    assert first.balanced and again.to_json() == first.to_json()
    assert (tmp_path / "out" / WARNINGS).read_bytes() == warnings
