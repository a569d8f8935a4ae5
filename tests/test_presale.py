"""The pre-sale check: its rule on positions worked by hand, and `creditradar check` on a
real run, whose three outcomes land in a hash-chained audit log that verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from feedkit import write_feeds
from test_money import GBP, _book

from config.settings import Settings
from connectors.audit import read_log, verify_log
from detectors.presale import APPROVE, DECLINE, REFER, Position, PresaleRules, check
from flows.check_cli import CHECKS, check_command
from flows.run import run_folder

RULES = PresaleRules()
SOUND = Position("C1", grade="B", pd=0.03, defaulted=False, exposure=4000.0,
                 credit_limit=20000.0, insured_limit=10000.0, open_warning=None)


def _with(**changes: object) -> Position:
    fields = {name: getattr(SOUND, name) for name in SOUND.__slots__}
    return Position(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_sound_order_is_approved_with_its_expected_loss() -> None:
    answer = check(SOUND, 8000.0, 60, RULES)
    assert answer.outcome == APPROVE
    # 6,000 of the 8,000 fall under the insured limit (10,000 - 4,000): 3 % of 2,000
    assert answer.figures["expected_loss_of_order"] == 60.0
    assert answer.figures["exposure_after"] == 12000.0


@pytest.mark.parametrize(("position", "amount", "terms", "reason"), [
    (SOUND, 16001.0, 60, "above the credit limit"),
    (_with(open_warning="early_warning"), 1000.0, 60, "an open warning (early_warning)"),
    (_with(grade="D", pd=0.2), 1000.0, 60, "grade D (PD 20.0%)"),
    (SOUND, 1000.0, 120, "payment terms of 120 days are longer than 90"),
    (_with(grade="C", pd=0.08), 7000.0, 60, "above the insured limit, 10,000.00"),
    (_with(credit_limit=None), 1000.0, None, "no credit limit on file"),
    (None, 1000.0, None, "no score for this customer"),
    (_with(exposure=None), 100.0, 30, "no exchange rate for the customer's currency"),
])
def test_each_rule_refers(position: Position | None, amount: float, terms: int | None,
                          reason: str) -> None:
    answer = check(position, amount, terms, RULES)
    assert answer.outcome == REFER and any(reason in r for r in answer.reasons), answer


def test_a_defaulted_or_grade_e_customer_is_declined() -> None:
    assert check(_with(defaulted=True, grade="E", pd=1.0), 100.0, 30, RULES).outcome == DECLINE
    assert check(_with(grade="E", pd=0.6), 100.0, 30, RULES).outcome == DECLINE
    assert check(_with(defaulted=True, exposure=None), 100.0, 30, RULES).outcome == DECLINE
    # the grade B customer stays within everything at a smaller order
    assert check(SOUND, 100.0, 30, RULES).outcome == APPROVE


def test_the_command_answers_from_a_run_and_audits_every_answer(tmp_path: Path) -> None:
    settings = Settings(audit={"hmac_key": "k" * 32})
    out = tmp_path / "out"
    run_folder(settings, write_feeds(tmp_path / "feeds", _book()), out)
    runner = CliRunner()

    def ask(customer: str, amount: str) -> tuple[int, str]:
        result = runner.invoke(check_command, [customer, "--amount", amount, "--terms", "30",
                                               "--out", str(out)], obj={"settings": settings})
        return result.exit_code, result.output

    code, text = ask("EURO", "5000")  # pays, 3,000 open of 20,000
    assert (code, text.splitlines()[0][:8]) == (0, "APPROVE:")
    code, text = ask("EURO", "30000")
    assert code == 3 and "above the credit limit, 20,000.00" in text
    code, text = ask("BRIT", "100")  # defaulted in August; exposure 21,000 GBP in euros
    assert code == 4 and f"{21000 * GBP + 100:,.2f}" in text
    records = [r for r in read_log(out / CHECKS) if r.kind == "presale_check"]
    assert [(r.id, r.body["outcome"]) for r in records] == [
        ("EURO", "approve"), ("EURO", "refer"), ("BRIT", "decline")]
    report = verify_log(out / CHECKS, b"k" * 32)
    assert report.ok and report.authenticated


def test_the_demo_shows_a_check_of_its_riskiest_customer(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    from flows.demo import _presale

    out = tmp_path / "out"
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), out)
    _presale(out, Settings())
    shown = capsys.readouterr().out
    assert "Pre-sale checks of an order of 10,000 EUR on 60 days" in shown
    assert "APPROVE: EURO, 10,000.00 EUR" in shown and "BRIT" not in shown  # BRIT defaulted
    assert [r.id for r in read_log(out / CHECKS) if r.kind == "presale_check"] == ["EURO"]


@pytest.mark.parametrize(("kinds", "standing"), [
    (["early_warning", "limit_breach"], "early_warning"),
    (["early_warning", "insurer_deadline", "limit_breach"], "early_warning"),
    (["hard_event", "resolved", "limit_breach"], None),
    (["early_warning", "resolved", "escalation"], "escalation"),
])
def test_only_a_resolution_ends_the_warning_an_order_is_checked_against(
        tmp_path: Path, kinds: list[str], standing: str | None) -> None:
    """A limit or insurer warning after an early warning left the order's check without the
    warning that still stood: a customer at grade B was approved instead of referred."""
    from flows.check_cli import position_of

    row = {"customer_id": "C1", "event_time": "2024-06-30T00:00:00Z", "grade": "B", "pd": 0.02,
           "defaulted": False, "exposure": 1000.0}
    (tmp_path / "watchlist.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "warnings.jsonl").write_text("".join(
        json.dumps({"customer_id": "C1", "kind": kind}) + "\n" for kind in kinds))
    position, _ = position_of(tmp_path, "C1")
    assert position is not None and position.open_warning == standing
