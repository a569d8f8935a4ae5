"""The collections worklist, worked by hand on a run of the monitor."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from feedkit import payment, write_feeds
from test_money import GBP, _book

from config.settings import Settings
from flows.cli import cli
from flows.collections_cli import collections_command
from flows.jsonl import COLLECTIONS
from flows.run import OVERDUE, WARNINGS, read_jsonl, run_folder


def test_overdue_invoices_are_ranked_by_expected_loss_with_stage_and_deadline(
        tmp_path: Path) -> None:
    """The input ends on 20 August 2024. BRIT (GBP, defaulted, so PD 1) has 21,000 GBP open
    and a 5,000 GBP insured limit, so 16/21 of each invoice is uninsured: 3,000 GBP invoices
    B-4 to B-7, due on the 4th of May to August, are 108, 77, 47 and 16 days past due; B-0
    is not yet due. Each stands to lose 3,000 x 16/21 = 2,285.71 GBP, 2,674.29 EUR at the
    configured 1.17. The insurer must hear of each 60 days after its due date. EURO paid
    everything on time."""
    out = tmp_path / "out"
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), out)
    assert [r["invoice_id"] for r in read_jsonl(out / OVERDUE)] == ["B-4", "B-5", "B-6", "B-7"]
    result = CliRunner().invoke(collections_command, ["--out", str(out)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / COLLECTIONS).read_text().splitlines()]
    assert [(r["rank"], r["invoice_id"], r["days_past_due"], r["stage"]) for r in rows] == [
        (1, "B-4", 108, "legal action"), (2, "B-5", 77, "collection agency"),
        (3, "B-6", 47, "final notice"), (4, "B-7", 16, "second reminder")]
    assert {(r["amount"], r["currency"], r["uninsured_amount"], r["expected_loss"])
            for r in rows} == {(3000.0, "GBP", 2285.71, round(3000 * 16 / 21 * GBP, 2))}
    assert [(r["notify_insurer_by"], r["insurer_deadline_passed"]) for r in rows] == [
        ("2024-07-03", True), ("2024-08-03", True), ("2024-09-02", False),
        ("2024-10-03", False)]
    assert "Brit Tools Ltd" in result.output and "2024-07-03 (passed)" in result.output


def test_without_credit_insurance_there_is_no_deadline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), out)
    uninsured = Settings(policy={"insurer_notify_days": None})
    result = CliRunner().invoke(collections_command, ["--out", str(out)],
                                obj={"settings": uninsured})
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out / COLLECTIONS)
    assert rows and {r["notify_insurer_by"] for r in rows} == {None}


WARNED = Settings(policy={"insurer_deadline_warning_days": 10})
"""The insurer must hear of an overdue within 60 days of the due date; warn 10 before."""


def _deadlines(out: Path) -> list[tuple[str, str, str, str]]:
    return [(w["customer_id"], w["event_time"][:10], w["reasons"][0]["label"],
             w["reasons"][0]["value"]) for w in read_jsonl(out / WARNINGS)
            if w["kind"] == "insurer_deadline"]


def test_an_insured_invoice_still_open_warns_ten_days_before_the_insurers_deadline(
        tmp_path: Path) -> None:
    """BRIT is insured. B-4, due 4 May, is still open 50 days later, on 23 June: the insurer
    must hear of it by 3 July. B-5, due 4 June: on 24 July, by 3 August. B-6's day, 23
    August, comes after the input ends (20 August). EURO, not insured, pays on time anyway;
    B-2 and B-3 were paid on their due dates."""
    book = _book()
    run_folder(WARNED, write_feeds(tmp_path / "feeds", book), tmp_path / "one")
    assert _deadlines(tmp_path / "one") == [
        ("BRIT", "2024-06-23", "invoice B-4 overdue: the insurer must be told by 2024-07-03",
         "2024-07-03"),
        ("BRIT", "2024-07-24", "invoice B-5 overdue: the insurer must be told by 2024-08-03",
         "2024-08-03")]
    [first] = [w for w in read_jsonl(tmp_path / "one" / WARNINGS)
               if w["kind"] == "insurer_deadline"][:1]
    assert first["evidence"] == [next(r["event_id"] for r in book["payments"]
                                      if r.get("invoice_id") == "B-4"
                                      and r["type"] == "invoice")]
    run_folder(WARNED, tmp_path / "feeds", tmp_path / "two", workers=2)
    assert (tmp_path / "two" / WARNINGS).read_bytes() == (tmp_path / "one" /
                                                           WARNINGS).read_bytes()
    run_folder(Settings(), write_feeds(tmp_path / "feeds3", _book()), tmp_path / "off")
    assert _deadlines(tmp_path / "off") == []  # not asked for


def test_an_invoice_paid_by_the_end_of_its_warning_day_does_not_warn(tmp_path: Path) -> None:
    book = _book()
    book["payments"].append({**payment("BRIT", "2024-07-24", "B-5", 3000), "currency": "GBP"})
    run_folder(WARNED, write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    assert [d[2][:12] for d in _deadlines(tmp_path / "out")] == ["invoice B-4 "]


def test_an_insurer_cut_announced_ahead_warns_when_announced_and_applies_on_its_day(
        tmp_path: Path) -> None:
    """On 1 March the insurer announces that BRIT's insured limit falls from 5,000 to
    1,000 GBP on 1 April. A warning goes out on 1 March with the exposure the cut leaves
    uninsured; the August default's insured share is of 1,000. A later record restating
    5,000 cancels the cut."""
    book = _book()
    brit = next(c for c in book["customers"] if c["customer_id"] == "BRIT")
    book["customers"].append({**brit, "event_id": "cut-1", "event_time": "2024-03-01",
                              "insured_limit": 1000, "insured_limit_from": "2024-04-01"})
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    warnings = read_jsonl(tmp_path / "out" / WARNINGS)
    [cut] = [w for w in warnings if w["kind"] == "insured_limit_cut"]
    assert (cut["event_time"][:10], cut["evidence"]) == ("2024-03-01", ["cut-1"])
    assert cut["reasons"][0]["label"] == (
        "the insurer cuts the insured limit from 5,000 to 1,000 GBP from 2024-04-01")
    # open on 1 March: B-0 9,000 and B-2 3,000 (due 4 March): 12,000 GBP, 11,000 above 1,000
    assert cut["customer_exposure"] == 12000.0
    assert cut["uninsured_exposure"] == round(11000 * GBP, 2)
    [default] = [w for w in warnings if w["kind"] == "default"]
    assert default["insured_share"] == round(1000 / 21000, 4)  # the cut applied in April
    again = {**brit, "event_id": "cut-2", "event_time": "2024-03-10", "insured_limit": 5000}
    book["customers"].append(again)  # a later record restates the cover: no cut comes
    run_folder(Settings(), write_feeds(tmp_path / "feeds2", book), tmp_path / "kept")
    [default] = [w for w in read_jsonl(tmp_path / "kept" / WARNINGS) if w["kind"] == "default"]
    assert default["insured_share"] == round(5000 / 21000, 4)


def test_a_run_with_nothing_past_due_has_an_empty_worklist(tmp_path: Path) -> None:
    """Every invoice paid on time: the run still leaves its overdue file (empty), and the
    worklist says that no invoice is past due."""
    book = _book()
    book["customers"] = [c for c in book["customers"] if c["customer_id"] == "EURO"]
    book["payments"] = [p for p in book["payments"] if p["customer_id"] == "EURO"]
    book["registry"] = []
    out = tmp_path / "out"
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), out)
    assert (out / OVERDUE).read_bytes() == b""
    result = CliRunner().invoke(collections_command, ["--out", str(out)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 invoices past due")
    assert (out / COLLECTIONS).read_bytes() == b""


def test_a_folder_that_is_no_runs_output_is_one_line_of_error(tmp_path: Path) -> None:
    """Through the ``creditradar`` command group, as a user runs it: the error the command
    raises is one line and exit status 1, not a traceback."""
    result = CliRunner().invoke(cli, ["collections", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (f"Error: no {OVERDUE} under {tmp_path}: is it a finished run's "
                             "output?\n")
