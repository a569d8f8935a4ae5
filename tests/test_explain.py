"""``explain --as-of``: the state that led to a warning, and the ledger behind it."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from config.settings import Settings
from detectors.clock import parse_time
from detectors.features import OTHER
from flows.auditor_cli import explain_command
from flows.explain import explain
from flows.run import AUDIT, SCORES, WARNINGS, read_jsonl, run_folder
from web.app import templates
from web.pages import _evidence

SETTINGS = Settings()


def ledger_warning(out: Path) -> dict:
    """An early warning whose reasons include ledger figures, so both halves are checked."""
    warnings = [w for w in read_jsonl(out / WARNINGS) if w["kind"] == "early_warning"]
    assert warnings
    ledger = [w for w in warnings if {"overdue_share", "max_dpd", "dso"}
              & {r["code"] for r in w["reasons"]}]
    return (ledger or warnings)[0]


def test_as_of_a_warning_shows_the_state_that_led_to_it(original: Path) -> None:
    warning = ledger_warning(original)
    doc = explain(warning["customer_id"], parse_time(warning["event_time"]),
                  original / AUDIT, SETTINGS)
    score = doc["score"]
    assert (score["event_time"], score["pd"], score["grade"], score["rank"]) == (
        warning["event_time"], warning["pd"], warning["grade"], warning["rank"])
    assert doc["score_consistent"] is True
    assert doc["reasons"] == warning["reasons"]
    features = doc["snapshot"]["features"]
    for reason in warning["reasons"]:
        if reason["code"] != OTHER:
            assert round(features[reason["code"]], 4) == reason["value"]
    found = {e["event_id"]: e for e in doc["evidence"]}
    for event_id in warning["evidence"]:
        assert found[event_id]["found"] and event_id in found[event_id]["raw"]
    assert doc["warnings"][-1]["warning_id"] == warning["warning_id"]


def test_after_a_default_the_score_shown_is_the_models_last(original: Path) -> None:
    listed = [r for r in read_jsonl(original / SCORES) if r["defaulted"]]
    assert listed  # month ends that list a customer in default at PD 1
    row = listed[-1]
    doc = explain(row["customer_id"], parse_time(row["event_time"]), original / AUDIT, SETTINGS)
    assert doc["defaulted_at"] is not None and doc["defaulted_at"] <= row["event_time"]
    score = doc["score"]
    assert score["defaulted"] is False and score["pd"] < 1 and doc["score_consistent"] is True
    assert score["event_time"] <= doc["defaulted_at"]


def test_ledger_figures_are_consistent(original: Path) -> None:
    warning = ledger_warning(original)
    doc = explain(warning["customer_id"], parse_time(warning["event_time"]),
                  original / AUDIT, SETTINGS)
    ledger = doc["ledger"]
    items = ledger["open_items"]
    assert math.isclose(sum(ledger["aging"].values()), ledger["total_open"], abs_tol=0.05)
    assert math.isclose(sum(i["open"] for i in items), ledger["total_open"], abs_tol=0.05)
    assert all(i["days_past_due"] >= 0 for i in items)  # not yet due: 0, never negative
    assert any(i["due"] >= ledger["day"] for i in items)  # (so the line above is tested)
    overdue = sum(i["open"] for i in items if i["days_past_due"] > 0)
    if ledger["total_open"] > 0:
        assert math.isclose(overdue / ledger["total_open"], ledger["overdue_share"],
                            abs_tol=1e-4)
    snapshot = doc["snapshot"]["features"]
    if "overdue_share" in snapshot:
        assert math.isclose(snapshot["overdue_share"], ledger["overdue_share"], abs_tol=1e-6)
        assert snapshot["max_dpd"] == ledger["max_days_past_due"]


def test_just_before_the_warning_it_is_not_yet_issued(original: Path) -> None:
    warning = ledger_warning(original)
    before = parse_time(warning["event_time"]) - timedelta(seconds=1)
    doc = explain(warning["customer_id"], before, original / AUDIT, SETTINGS)
    assert warning["warning_id"] not in {w["warning_id"] for w in doc["warnings"]}
    assert doc["score"] is None or parse_time(doc["score"]["event_time"]) <= before


def test_explain_command_prints_text_and_json(original: Path) -> None:
    warning = ledger_warning(original)
    args = [warning["customer_id"], "--as-of", warning["event_time"], "--log",
            str(original / AUDIT)]
    text = CliRunner().invoke(explain_command, args, obj={"settings": SETTINGS})
    assert text.exit_code == 0, text.output
    assert warning["warning_id"] in text.output and "ledger on" in text.output
    as_json = CliRunner().invoke(explain_command, [*args, "--json"],
                                 obj={"settings": SETTINGS})
    assert as_json.exit_code == 0 and '"score_consistent": true' in as_json.output


def _damaged_copy(out: Path, base: Path, damage: Callable[[list[str], str], None],
                  customer_id: str) -> Path:
    """A copy of the run whose scores.jsonl ``damage`` has edited (its lines and the
    customer whose rows to damage)."""
    copy = base / "out"
    shutil.copytree(out, copy)
    lines = (copy / SCORES).read_text().splitlines()
    damage(lines, customer_id)
    (copy / SCORES).write_text("\n".join(lines) + "\n")
    return copy


def _edit_rows(lines: list[str], customer_id: str, **fields: Any) -> None:
    for i, line in enumerate(lines):
        if json.loads(line)["customer_id"] == customer_id:
            lines[i] = json.dumps({**json.loads(line), **fields})


def _garbage_line(lines: list[str], customer_id: str) -> None:
    lines.insert(3, "{not json")


def _not_an_object(lines: list[str], customer_id: str) -> None:
    lines.insert(3, "[1, 2]")


def _pd_as_text(lines: list[str], customer_id: str) -> None:
    _edit_rows(lines, customer_id, pd="high")


def _reasons_as_text(lines: list[str], customer_id: str) -> None:
    _edit_rows(lines, customer_id, reasons=[{"code": "max_dpd", "label": "late", "value": 1,
                                             "contribution": "big"}])


def _rank_infinite(lines: list[str], customer_id: str) -> None:
    """(JSON cannot carry it: explain --json would print invalid JSON.)"""
    _edit_rows(lines, customer_id, rank=float("inf"))


@pytest.mark.parametrize("damage", [_garbage_line, _not_an_object, _pd_as_text,
                                    _reasons_as_text, _rank_infinite])
def test_a_damaged_scores_file_is_noted_and_the_rest_explained(
        original: Path, tmp_path: Path, damage: Callable[[list[str], str], None]) -> None:
    warning = ledger_warning(original)
    customer_id, as_of = warning["customer_id"], parse_time(warning["event_time"])
    intact = explain(customer_id, as_of, original / AUDIT, SETTINGS)
    copy = _damaged_copy(original, tmp_path, damage, customer_id)
    doc = explain(customer_id, as_of, copy / AUDIT, SETTINGS)
    assert doc["score"] is None and intact["score"] is not None
    assert any(str(copy / SCORES) in note for note in doc["notes"])
    assert doc["ledger"] == intact["ledger"] and doc["warnings"] == intact["warnings"]
    page = templates().get_template("_explain.html").render(doc=doc, evidence=_evidence(doc))
    assert "cannot be read" in page or "is damaged" in page
    text = CliRunner().invoke(explain_command, [customer_id, "--as-of", warning["event_time"],
                                                "--log", str(copy / AUDIT)],
                              obj={"settings": SETTINGS})
    assert text.exit_code == 0, text.output
    assert "ledger on" in text.output and str(copy / SCORES) in text.output
    document = _explain_cli(customer_id, "--as-of", warning["event_time"], "--log",
                            str(copy / AUDIT), "--json")
    assert document.exit_code == 0, document.output
    json.loads(document.stdout, parse_constant=_no_constant)


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def _explain_cli(*args: str) -> Any:
    """``creditradar explain`` as a command line (stdout and stderr kept apart)."""
    return CliRunner().invoke(explain_command, list(args), obj={"settings": SETTINGS})


@pytest.mark.parametrize("customer_id", ["NOPE", "C00001", "C0\x1b[31m1\u2028x"])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_customer_the_log_never_names_is_refused(original: Path, customer_id: str,
                                                   as_json: bool) -> None:
    """An id the whole log never names (a typo, or a real id cut short) fails with one
    escaped line on stderr and nothing on stdout, as text or JSON."""
    log = original / AUDIT
    result = _explain_cli(customer_id, "--as-of", "2021-06-10", "--log", str(log),
                          *(["--json"] if as_json else []))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stdout == ""
    escaped = customer_id.replace("\x1b", "\\x1b").replace("\u2028", "\\u2028")
    assert result.stderr == f"Error: customer {escaped} is not in the audit log at {log}\n"


def test_a_customer_the_log_names_only_later_is_explained_as_not_yet_known(
        original: Path) -> None:
    """Before the customer's first logged input the explanation says nothing is known yet,
    and the command succeeds: the id is right, the time is early."""
    first = min(parse_time(r["event_time"]) for r in read_jsonl(original / SCORES)
                if r["customer_id"] == "C000001")
    before = (first - timedelta(days=400)).date().isoformat()
    result = _explain_cli("C000001", "--as-of", before, "--log", str(original / AUDIT))
    assert result.exit_code == 0, result.output
    assert "customer C000001 as of" in result.stdout
    assert "no input for this customer at or before this time" in result.stdout


def test_a_record_whose_id_another_customers_record_took_first_is_shown_rejected(
        tmp_path: Path) -> None:
    """An explanation parses only the records that concern its customer (its own, master
    data, news, rates): another customer's invoice that took an event id first still makes
    the customer's later record with that id a rejected duplicate, as in the run."""
    from feedkit import customer, invoice, write_feeds

    feeds = write_feeds(tmp_path / "feeds", {
        "customers": [customer("A", "2024-01-01T00:00:00Z", "Alpha GmbH"),
                      customer("B", "2024-01-01T00:00:00Z", "Beta AG")],
        "payments": [invoice("B", "2024-01-05T00:00:00Z", "B-1", 500.0, "2024-02-05",
                             event_id="shared"),
                     invoice("A", "2024-01-09T00:00:00Z", "A-1", 700.0, "2024-02-09",
                             event_id="shared"),
                     invoice("A", "2024-01-12T00:00:00Z", "A-2", 300.0, "2024-02-12")]})
    run_folder(SETTINGS, feeds, tmp_path / "out", notify=False)
    doc = explain("A", parse_time("2024-01-20T00:00:00Z"), tmp_path / "out" / AUDIT, SETTINGS)
    assert [(r["id"], r["reason"]) for r in doc["rejected"]] == [("payments:shared",
                                                                  "duplicate_id")]
    assert [item["invoice_id"] for item in doc["ledger"]["open_items"]] == ["A-2"]
