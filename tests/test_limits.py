"""Limit recommendations worked by hand, and `creditradar limits` on a real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from feedkit import write_feeds
from test_money import _book

from config.settings import Settings
from detectors.limits import LimitRules, recommend
from detectors.term import TermCurve
from flows.jsonl import LIMITS
from flows.limits_cli import limits_command
from flows.run import WATCHLIST, read_jsonl, run_folder

RULES = LimitRules(loss_budget=1000.0)


def _advice(pd: float = 0.2, **changes: object):  # noqa: ANN202 - a test customer's advice
    """The advice for a customer whose PD ``pd`` is spread with a constant hazard."""
    base = {"grade": "C", "term": TermCurve.constant(8).at_terms(pd), "defaulted": False,
            "exposure": 5000.0, "credit_limit": 50000.0, "insured_limit": 4000.0,
            "terms_days": 30, "rules": RULES}
    return recommend("C1", **{**base, **changes})  # type: ignore[arg-type]


def test_the_budget_sets_the_uninsured_part() -> None:
    advice = _advice()
    # 2 months at risk: 1 - 0.8 ** (2 / 8) = 0.054258; 1,000 / 0.054258 = 18,430 uninsured
    assert advice.pd_at_risk == pytest.approx(1 - 0.8 ** 0.25)
    assert advice.recommended_limit == 22000.0  # 4,000 + 18,430, down to the thousand
    assert "allows 18,430 above the insured limit of 4,000" in advice.reasons[1]


def test_a_sound_customer_is_capped_and_a_failed_one_gets_nothing() -> None:
    assert _advice(pd=0.001).recommended_limit == 100000.0  # twice the current 50,000
    assert any("capped at 2 times" in r for r in _advice(pd=0.001).reasons)
    assert _advice(grade="E", pd=0.7).recommended_limit == 0.0
    assert _advice(defaulted=True, pd=1.0).recommended_limit == 0.0
    longer = _advice(terms_days=120)
    assert longer.recommended_limit < _advice().recommended_limit  # longer terms, more risk


def test_a_term_structure_that_comes_sooner_puts_more_at_risk_over_short_terms() -> None:
    soon = [(3, 0.15), (6, 0.19), (8, 0.2), (12, 0.23)]  # most of the 8 months' PD by 3
    advice = _advice(term=soon)
    assert advice.pd_at_risk == pytest.approx(1 - 0.85 ** (2 / 3))  # 2 of the first 3 months
    assert advice.pd_at_risk > _advice().pd_at_risk
    assert advice.recommended_limit < _advice().recommended_limit


def test_breaches_are_named() -> None:
    reasons = _advice(exposure=60000.0).reasons
    assert "exposure 60,000.00 is above the current limit 50,000.00" in reasons
    assert "exposure 60,000.00 is above the insured limit 4,000.00" in reasons


def test_the_command_writes_advice_for_every_customer_largest_cuts_first(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), out)
    result = CliRunner().invoke(limits_command, ["--out", str(out)],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / LIMITS).read_text().splitlines()]
    assert {r["customer_id"] for r in rows} == {
        r["customer_id"] for r in read_jsonl(out / WATCHLIST)}
    brit = next(r for r in rows if r["customer_id"] == "BRIT")  # defaulted
    assert brit["recommended_limit"] == 0.0 and rows[0]["customer_id"] == "BRIT"
    assert (brit["current_limit"], brit["currency"]) == (10000, "GBP")  # its own currency
    published = {r["customer_id"]: {t["months"]: t["pd"] for t in r["pd_term"]}
                 for r in read_jsonl(out / WATCHLIST)}
    for row in rows:  # 60 days' terms and a month of collection: the published 3 months
        assert row["pd_at_risk"] == pytest.approx(published[row["customer_id"]][3], abs=1e-12)


def test_the_budget_converts_into_the_customers_currency_at_its_rate(tmp_path: Path) -> None:
    """The budget is 2,500 EUR. A GBP customer scored when a pound was 1.25 euros has a
    budget of 2,000 GBP: at PD 0.2 over 8 months and 30 days' terms, 2 months at risk,
    2,000 / 0.054258 = 36,861 uninsured, plus 4,000 insured: 40,000 GBP (down to the
    thousand; the cap is twice 50,000). A PLN customer without a rate gets none."""
    row = {"grade": "C", "pd": 0.2, "defaulted": False, "event_time": "2024-06-01T00:00:00Z",
           "customer_exposure": 5000.0, "customer_credit_limit": 50000.0,
           "customer_insured_limit": 4000.0}
    (tmp_path / WATCHLIST).write_text(
        json.dumps({**row, "customer_id": "G", "customer_currency": "GBP", "fx_rate": 1.25})
        + "\n" + json.dumps({**row, "customer_id": "P", "customer_currency": "PLN",
                             "fx_rate": None, "fx_missing": True}) + "\n")
    result = CliRunner().invoke(limits_command, ["--out", str(tmp_path), "--terms", "30"],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    [advice] = [json.loads(line) for line in (tmp_path / LIMITS).read_text().splitlines()]
    assert (advice["customer_id"], advice["currency"]) == ("G", "GBP")
    assert advice["recommended_limit"] == 40000.0
    assert "1 customers without a recommendation" in result.output and "P" in result.output


def test_the_command_reads_each_customers_published_term_structure(tmp_path: Path) -> None:
    """A watchlist row's term structure, learned by the run, sets the PD at risk: here
    most of the 8 months' PD comes within 3, so 2 months at risk (30 days' terms and a
    month of collection) carry 1 - 0.85 ** (2 / 3), not a constant hazard's share."""
    soon = [{"months": 3, "pd": 0.15}, {"months": 6, "pd": 0.19}, {"months": 8, "pd": 0.2},
            {"months": 12, "pd": 0.23}]
    row = {"customer_id": "S", "grade": "D", "pd": 0.2, "pd_term": soon, "defaulted": False,
           "customer_exposure": 5000.0, "customer_credit_limit": 50000.0,
           "customer_insured_limit": None, "customer_currency": "EUR", "fx_rate": 1.0}
    (tmp_path / WATCHLIST).write_text(json.dumps(row) + "\n")
    result = CliRunner().invoke(limits_command, ["--out", str(tmp_path), "--terms", "30"],
                                obj={"settings": Settings()})
    assert result.exit_code == 0, result.output
    [advice] = [json.loads(line) for line in (tmp_path / LIMITS).read_text().splitlines()]
    assert advice["pd_at_risk"] == pytest.approx(1 - 0.85 ** (2 / 3))
