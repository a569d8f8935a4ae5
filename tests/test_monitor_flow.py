"""The monitor end to end on real feed folders: warnings, bad input, determinism, recovery."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from feedkit import customer, drain, invoice, payment, record, status, write_feeds
from structlog.testing import capture_logs

from config.settings import DetectorSettings, EngineSettings, RecoverySettings, Settings
from connectors.files import FolderFeeds
from connectors.partition import FeedSource, ReadCount
from detectors.features import OTHER
from detectors.feedclock import FeedClock
from detectors.inbox import Chunk
from detectors.records import DeadLetter
from flows.run import (
    DEADLETTER,
    MODEL_CHOICES,
    SCORES,
    WARNINGS,
    WATCHLIST,
    read_jsonl,
    run_folder,
)

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


@pytest.fixture(scope="module")
def deteriorating(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feeds(tmp_path_factory.mktemp("feeds"), deteriorating_portfolio())


def copy_of(feeds: Path, folder: Path) -> Path:
    """A new feeds folder holding the files of ``feeds``, to add to."""
    folder.mkdir()
    for feed in feeds.iterdir():
        (folder / feed.name).write_bytes(feed.read_bytes())
    return folder


def test_the_deteriorating_customer_is_warned_before_its_insolvency(
        deteriorating: Path, tmp_path: Path) -> None:
    summary = run_folder(SETTINGS, deteriorating, tmp_path / "out")
    warnings = read_jsonl(tmp_path / "out" / WARNINGS)
    early = [w for w in warnings if w["kind"] != "default"]
    assert early and {w["customer_id"] for w in early} == {"BAD"}
    first = early[0]
    assert first["kind"] == "early_warning" and first["grade"] >= "C"
    assert first["event_time"] < "2024-08-20"  # before the insolvency
    assert {r["code"] for r in first["reasons"]} & {"overdue_share", "max_dpd"}
    assert all(r["contribution"] > 0 for r in first["reasons"] if r["code"] != OTHER)
    assert any(e.startswith("pay-") for e in first["evidence"])  # an overdue invoice
    assert [w["kind"] for w in warnings if w["kind"] == "default"] == ["default"]
    assert read_jsonl(tmp_path / "out" / DEADLETTER) == []  # the alias resolved the news
    total = sum(len(v) for v in deteriorating_portfolio().values())
    assert summary.read == summary.accepted == total and summary.balanced


def test_a_customer_in_default_stays_in_the_month_end_scores_at_pd_1(
        deteriorating: Path, tmp_path: Path) -> None:
    run_folder(SETTINGS, deteriorating, tmp_path / "out", scores=True)
    default = next(w for w in read_jsonl(tmp_path / "out" / WARNINGS) if w["kind"] == "default")
    month_ends = [r for r in read_jsonl(tmp_path / "out" / SCORES) if r["month_end"]]
    after = [r for r in month_ends if r["event_time"] > default["event_time"]]
    assert {r["customer_id"] for r in after} == {"BAD", "GOOD"}  # no customer goes missing
    for row in month_ends:
        in_default = row["customer_id"] == "BAD" and row["event_time"] > default["event_time"]
        assert row["defaulted"] is in_default
        if in_default:  # on top, and not ranked among the customers still scored
            assert (row["pd"], row["grade"], row["rank"], row["features"]) == (1.0, "E", None, {})
            assert {t["pd"] for t in row["pd_term"]} == {1.0}
        else:
            assert row["pd"] < 1 and row["features"] and row["rank"] >= 1


def test_a_desks_default_rate_raises_every_prior_pd_and_keeps_the_ranks(
        deteriorating: Path, tmp_path: Path) -> None:
    """`model.prior_default_rate` reaches the running monitor: while the prior scores, every
    month-end PD is higher than by default and the ranks are the same."""
    rich = SETTINGS.model_copy(update={"model": SETTINGS.model.model_copy(
        update={"prior_default_rate": 0.2})})
    rows = {}
    for name, settings in (("usual", SETTINGS), ("rich", rich)):
        run_folder(settings, deteriorating, tmp_path / name, scores=True)
        rows[name] = [r for r in read_jsonl(tmp_path / name / SCORES)
                      if r["month_end"] and not r["defaulted"]]
    usual, high = rows["usual"], rows["rich"]
    assert len({r["event_time"] for r in usual}) >= 6  # every month end of the book
    assert [(r["customer_id"], r["event_time"], r["rank"]) for r in usual] == [
        (r["customer_id"], r["event_time"], r["rank"]) for r in high]
    assert all(h["pd"] > u["pd"] for u, h in zip(usual, high, strict=True))
    assert all(r["model_version"].startswith("prior-") for r in usual + high)


def test_any_number_of_workers_or_buckets_writes_the_same_bytes(
        deteriorating: Path, tmp_path: Path) -> None:
    def outputs(out: Path) -> list[bytes]:
        return [(out / name).read_bytes()
                for name in (WARNINGS, SCORES, WATCHLIST, MODEL_CHOICES)]

    run_folder(SETTINGS, deteriorating, tmp_path / "one", scores=True)
    reference = outputs(tmp_path / "one")
    assert all(reference)
    run_folder(SETTINGS, deteriorating, tmp_path / "again", scores=True)
    assert outputs(tmp_path / "again") == reference
    run_folder(SETTINGS, deteriorating, tmp_path / "three", scores=True, workers=3)
    assert outputs(tmp_path / "three") == reference
    five = SETTINGS.model_copy(update={"engine": EngineSettings(buckets=5)})
    run_folder(five, deteriorating, tmp_path / "five", scores=True)
    assert outputs(tmp_path / "five") == reference


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_of_its_own_holding_only_a_typod_date_changes_no_warning(
        deteriorating: Path, tmp_path: Path, workers: int) -> None:
    # Alone in its input, a record supports itself: only the other inputs tell it is a typo.
    def outputs(out: Path) -> list[bytes]:
        return [(out / name).read_bytes() for name in (WARNINGS, SCORES, WATCHLIST)]

    run_folder(SETTINGS, deteriorating, tmp_path / "clean", scores=True)
    typod = copy_of(deteriorating, tmp_path / "typod")
    late_by_a_year = invoice("GOOD", "2025-09-05", "GOOD-typo", 100, "2025-10-04")
    (typod / "payments-0002.jsonl").write_text(json.dumps(late_by_a_year) + "\n")
    summary = run_folder(SETTINGS, typod, tmp_path / "out", scores=True, workers=workers)
    assert outputs(tmp_path / "out") == outputs(tmp_path / "clean")
    [dead] = read_jsonl(tmp_path / "out" / DEADLETTER)
    assert (dead["event_id"], dead["reason"]) == (late_by_a_year["event_id"], "implausible_time")
    assert "the last day the book's inputs support" in dead["detail"]
    assert summary.rejected == 1 and summary.balanced


def test_a_file_of_its_own_continuing_the_book_moves_its_end(
        deteriorating: Path, tmp_path: Path) -> None:
    # A record within a quarter of the book's end is news, not a typo: the next month end
    # comes, and with it a month-end score for every customer (at the next day's start).
    more = copy_of(deteriorating, tmp_path / "more")
    last = max(r["event_time"] for rs in deteriorating_portfolio().values() for r in rs)
    assert last == "2024-08-20"
    (more / "registry-0002.jsonl").write_text(
        json.dumps(status("GOOD", "2024-10-10", "active")) + "\n")
    run_folder(SETTINGS, more, tmp_path / "out", scores=True)
    assert read_jsonl(tmp_path / "out" / DEADLETTER) == []
    month_ends = {r["event_time"][:10] for r in read_jsonl(tmp_path / "out" / SCORES)
                  if r["month_end"]}
    assert max(month_ends) == "2024-10-01"
    run_folder(SETTINGS, deteriorating, tmp_path / "clean", scores=True)
    assert max(r["event_time"][:10] for r in read_jsonl(tmp_path / "clean" / SCORES)
               if r["month_end"]) == "2024-08-01"


def test_every_bad_input_has_a_defined_outcome_and_the_counts_add_up(tmp_path: Path) -> None:
    feeds = deteriorating_portfolio()
    good = invoice("GOOD", "2024-03-06", "X1", 100, "2024-04-05")
    feeds["payments"] += [
        invoice("GOOD", "2024-03-06", "X2", -5, "2024-04-05"),  # negative amount
        {**invoice("GOOD", "2024-03-06", "X3", 1, "2024-04-05"), "amount": [1]},  # wrong type
        payment("GOOD", "2024-03-07", "NO-SUCH-INVOICE", 10),  # unknown invoice
        good, dict(good),  # the same event twice
        {**good, "amount": "999.00"},  # its id again, other content
        invoice("NEWCO", "2024-03-08", "N1", 100, "2024-04-07"),  # no master data
        invoice("GOOD", "2024-03-01", "X4", 5, "2024-03-31"),  # 5 days out of order: fine
    ]
    folder = write_feeds(tmp_path / "feeds", feeds)
    with (folder / "payments.jsonl").open("a") as f:
        f.write("{this is not json\n")
        f.write(json.dumps(invoice("GOOD", "2024-01-02", "OLD", 1, "2024-02-01")) + "\n")
        f.write(json.dumps(invoice("GOOD", "2999-01-02", "TYPO", 1, "2999-02-01")) + "\n")
        f.write('{"event_id": "big", "pad": "' + "x" * 10_000_000 + '"}\n')  # a 10 MB line
    payload = "".join(json.dumps(payment("GOOD", "2024-08-01", f"GOOD-{m}", 1)) + "\n"
                      for m in range(1, 4)).encode()
    (folder / "payments-0002.jsonl.gz").write_bytes(gzip.compress(payload)[:-20])  # truncated

    # A short read-ahead: the whole file would otherwise be read ahead, and nothing be late.
    settings = SETTINGS.model_copy(update={"detectors": DetectorSettings(read_ahead=4)})
    summary = run_folder(settings, folder, tmp_path / "out")
    dead = read_jsonl(tmp_path / "out" / DEADLETTER)
    by_id = {row["event_id"]: row["reason"] for row in dead if row["event_id"]}
    assert feeds["payments"][-1]["event_id"] not in by_id  # within the allowed lateness
    assert by_id[feeds["payments"][-2]["event_id"]] == "unknown_customer"
    negative = feeds["payments"][-8]  # a schema error still names the record it rejected
    assert by_id[negative["event_id"]] == "schema"
    assert {row["customer_id"] for row in dead if row["event_id"] == negative["event_id"]} == {
        negative["customer_id"]}
    reasons = {row["reason"] for row in dead}
    assert {"schema", "unknown_invoice", "duplicate", "duplicate_id", "invalid_json", "late",
            "implausible_time", "too_large", "unreadable_file", "unknown_customer"} <= reasons
    assert summary.balanced, summary
    assert summary.duplicates == 1
    big = [r for r in dead if r["reason"] == "too_large"]
    assert "10000" in big[0]["detail"] and len(big[0]["original"]) <= 65_536
    truncated = [r for r in dead if r["reason"] == "unreadable_file"]
    assert truncated[0]["origin"]["file"] == "payments-0002.jsonl.gz"


def test_a_byte_order_mark_and_windows_line_ends_cost_nothing(
        deteriorating: Path, tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for path in deteriorating.iterdir():
        text = path.read_bytes().replace(b"\n", b"\r\n")
        (folder / path.name).write_bytes(b"\xef\xbb\xbf" + text)
    summary = run_folder(SETTINGS, folder, tmp_path / "out")
    run_folder(SETTINGS, deteriorating, tmp_path / "plain")
    assert summary.rejected == 0 and summary.read == summary.accepted
    assert (tmp_path / "out" / WARNINGS).read_bytes() == (tmp_path / "plain" /
                                                          WARNINGS).read_bytes()


def test_a_source_partition_resumes_exactly_where_its_snapshot_says(
        deteriorating: Path) -> None:
    feeds = FolderFeeds(deteriorating)
    source = FeedSource(feeds, lambda e: "ids-0", ("ids-0",), lambda: FeedClock(read_ahead=3))

    def records(items: list) -> list[bytes]:
        return [e.raw for i in items if isinstance(i, tuple) for _, e in i[1].items]

    whole = records(drain(source.build_part("feeds", "payments.jsonl", None)))
    part = source.build_part("feeds", "payments.jsonl", None)
    head = drain(part, 7)
    resumed = source.build_part("feeds", "payments.jsonl", part.snapshot())
    part.close()
    tail = drain(resumed)
    assert records(head) + records(tail) == whole and len(whole) > 7
    counts = [i for i in tail if isinstance(i, ReadCount)]
    assert counts == [ReadCount("payments.jsonl", len(whole))]
    assert all(isinstance(i, tuple) and isinstance(i[1], Chunk) for i in head)


def test_dead_letters_keep_the_original_bytes() -> None:
    letter = DeadLetter("news", "not_utf8", "bad byte", b"\xff\x00")
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


def test_news_naming_a_company_registered_that_day_is_resolved(tmp_path: Path) -> None:
    feeds = {
        "customers": [customer("NEW", "2024-01-01", "Newco Ltd")],
        "news": [record("news", company_name="Newco", event_time="2024-01-01T09:00:00Z",
                        headline="Newco opens", source="wire"),
                 record("news", company_name="Nobody", event_time="2024-01-01T10:00:00Z",
                        headline="?", source="wire")],
    }
    summary = run_folder(SETTINGS, write_feeds(tmp_path / "feeds", feeds), tmp_path / "out")
    dead = read_jsonl(tmp_path / "out" / DEADLETTER)
    assert [(d["event_id"], d["reason"]) for d in dead] == [(feeds["news"][1]["event_id"],
                                                            "unknown_company")]
    assert summary.accepted == 2  # the master record and the news resolved to it


def test_a_line_too_large_is_counted_once_on_any_number_of_workers(
        deteriorating: Path, tmp_path: Path) -> None:
    folder = copy_of(deteriorating, tmp_path / "feeds")
    big = record("news", customer_id="BAD", event_time="2024-02-01", headline="x" * 1_100_000,
                 source="wire")
    with (folder / "news.jsonl").open("a") as f:
        f.write(json.dumps(big) + "\n")
    for workers in (1, 2):
        summary = run_folder(SETTINGS, folder, tmp_path / f"out{workers}", workers=workers)
        assert summary.rejected_by_reason == {"too_large": 1} and summary.balanced, summary


def test_hostile_text_in_master_data_reaches_every_output_as_valid_json(
        tmp_path: Path) -> None:
    feeds = deteriorating_portfolio()
    hostile = "Bad\u2028Metals\u2029 <script>\x1b[31m\u202e GmbH\u0085"
    feeds["customers"][1]["name"] = hostile
    summary = run_folder(SETTINGS, write_feeds(tmp_path / "feeds", feeds), tmp_path / "out",
                         scores=True)
    assert summary.warnings
    for name in (WARNINGS, SCORES, WATCHLIST):
        lines = (tmp_path / "out" / name).read_bytes().split(b"\n")
        rows = [json.loads(line) for line in lines if line]
        assert rows
    names = {r["name"] for r in read_jsonl(tmp_path / "out" / WATCHLIST)}
    assert hostile in names


def test_a_run_with_recovery_started_again_repeats_nothing(
        deteriorating: Path, tmp_path: Path) -> None:
    settings = SETTINGS.model_copy(update={"recovery": RecoverySettings(
        directory=tmp_path / "recovery")})
    first = run_folder(settings, deteriorating, tmp_path / "out")
    warnings = (tmp_path / "out" / WARNINGS).read_bytes()
    again = run_folder(settings, deteriorating, tmp_path / "out")
    assert first.balanced and again.to_json() == first.to_json()
    assert (tmp_path / "out" / WARNINGS).read_bytes() == warnings
