"""Amounts in the right currency: a customer's ledger and limits are in its own currency, so
limit use compares like with like and needs no rate; every amount a warning carries in the
reporting currency is at the rate of its day from the fx feed (or the configured fallback),
is missing (never guessed) without one, and has the customer's own amount beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from feedkit import customer, invoice, payment, record, status, write_feeds

from config.settings import Settings
from flows.run import DEADLETTER, SCORES, WARNINGS, WATCHLIST, read_jsonl, run_folder, summarize

GBP = 1.17  # the default settings' rate, GBP to EUR


def pounds(record: dict) -> dict:
    return {**record, "currency": "GBP"}


def _book() -> dict[str, list[dict]]:
    """BRIT (GBP): 9,000 GBP open on a 10,000 GBP limit from January; then 3,000 GBP a
    month, the first two paid, and an insolvency filing in August. EURO, in euros, pays."""
    feeds: dict[str, list[dict]] = {"customers": [], "payments": [], "news": [], "registry": []}
    feeds["customers"] += [
        customer("BRIT", "2024-01-01", "Brit Tools Ltd", currency="GBP", credit_limit=10000,
                 insured_limit=5000),
        customer("EURO", "2024-01-01", "Euro Foods SA", credit_limit=20000),
    ]
    feeds["payments"].append(pounds(invoice("BRIT", "2024-01-05", "B-0", 9000, "2024-09-30")))
    for m in range(2, 8):
        when, due = f"2024-{m:02d}-05", f"2024-{m + 1:02d}-04"
        feeds["payments"].append(pounds(invoice("BRIT", when, f"B-{m}", 3000, due)))
        feeds["payments"].append(invoice("EURO", when, f"E-{m}", 3000, due))
        feeds["payments"].append(payment("EURO", f"2024-{m + 1:02d}-03", f"E-{m}", 3000))
        if m < 4:
            feeds["payments"].append(pounds(payment("BRIT", f"2024-{m + 1:02d}-04", f"B-{m}",
                                                    3000)))
    feeds["registry"].append(status("BRIT", "2024-08-20", "insolvency_filed"))
    return feeds


def test_limit_use_compares_amounts_in_one_currency(tmp_path: Path) -> None:
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), tmp_path / "out",
               scores=True)
    scores = read_jsonl(tmp_path / "out" / SCORES)
    february = next(s for s in scores if s["customer_id"] == "BRIT" and s["month_end"]
                    and s["event_time"].startswith("2024-02-01"))
    assert february["features"]["utilisation"] == 0.9  # 9,000 GBP of 10,000 GBP


def test_a_warning_names_the_currency_of_its_amounts(tmp_path: Path) -> None:
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), tmp_path / "out")
    [default] = [w for w in read_jsonl(tmp_path / "out" / WARNINGS)
                 if w["customer_id"] == "BRIT" and w["kind"] == "default"]
    # open on 20 August: B-0 and B-4 to B-7, 9,000 + 4 x 3,000 GBP
    assert default["exposure"] == round(21000 * GBP, 2)
    assert (default["currency"], default["customer_currency"]) == ("EUR", "GBP")
    assert default["insured_share"] == round(5000 / 21000, 4)


def test_an_invoice_that_takes_exposure_over_the_limit_warns_that_day(tmp_path: Path) -> None:
    watched = Settings(policy={"limit_breach_warnings": ["credit_limit"]})
    run_folder(watched, write_feeds(tmp_path / "feeds", _book()), tmp_path / "out")
    breaches = [w for w in read_jsonl(tmp_path / "out" / WARNINGS) if w["kind"] == "limit_breach"]
    # BRIT: 9,000 GBP open, then 3,000 more on 5 February: 12,000 of a 10,000 GBP limit
    assert [(w["customer_id"], w["event_time"][:10]) for w in breaches] == [
        ("BRIT", "2024-02-05")]
    [reason] = breaches[0]["reasons"]
    assert (reason["code"], reason["value"]) == ("over_credit_limit", 1.2)
    assert breaches[0]["exposure"] == round(12000 * GBP, 2)
    run_folder(Settings(), write_feeds(tmp_path / "again", _book()), tmp_path / "quiet")
    assert not [w for w in read_jsonl(tmp_path / "quiet" / WARNINGS)
                if w["kind"] == "limit_breach"]  # not watched by default


def test_a_breach_warns_beyond_the_tolerance_and_again_only_after_a_return() -> None:
    from detectors.desk import DeskSettings, WarningDesk
    from detectors.money import Exposure
    from detectors.snapshots import Profile

    desk = WarningDesk("b0", DeskSettings(breach_warnings=("credit_limit",)), {})
    desk.latest.add()
    desk.who.append(("C1", Profile()))
    profile = Profile(credit_limit=100.0)
    warned = [bool(desk._breaches(0, "C1", profile, Exposure(exposure, 1.0), day * 86400, 0.1,
                                  2, {}))
              for day, exposure in enumerate((105.0, 115.0, 120.0, 105.0, 95.0, 112.0))]
    assert warned == [False, True, False, False, False, True]


def rate(day: str, currency: str, value: float | str, base: str = "EUR") -> dict:
    return record("fx", event_time=day, base=base, currency=currency, rate=value)


def _default_of(out: Path, customer_id: str) -> dict:
    [default] = [w for w in read_jsonl(out / WARNINGS)
                 if w["customer_id"] == customer_id and w["kind"] == "default"]
    return default


def test_the_default_converts_at_the_rate_of_its_day(tmp_path: Path) -> None:
    """BRIT defaults on 20 August with 21,000 GBP open. The feed's GBP rates: 0.80 a pound
    to the euro in January, 0.84 on Monday 19 August, 0.70 on the 21st (after the default:
    never used for it). 21,000 / 0.84 = 25,000 EUR."""
    book = _book()
    book["fx"] = [rate("2024-01-02", "GBP", 0.80), rate("2024-08-19", "GBP", "0.84"),
                  rate("2024-08-21", "GBP", 0.70)]
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    default = _default_of(tmp_path / "out", "BRIT")
    assert default["exposure"] == 25000.0
    assert (default["customer_exposure"], default["customer_currency"]) == (21000.0, "GBP")
    assert default["uninsured_exposure"] == round((21000 - 5000) / 0.84, 2)
    assert default["fx_missing"] is False
    assert not read_jsonl(tmp_path / "out" / DEADLETTER)
    assert summarize(tmp_path / "out").accepted == sum(len(rows) for rows in book.values())


def test_a_rate_older_than_the_allowed_age_gives_way_to_the_configured_one(
        tmp_path: Path) -> None:
    """The last GBP rate is from 1 August, 19 days before the default: older than the
    7 days allowed, so the configured GBP rate (1.17 euros a pound) converts."""
    book = _book()
    book["fx"] = [rate("2024-08-01", "GBP", 0.84)]
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    assert _default_of(tmp_path / "out", "BRIT")["exposure"] == round(21000 * GBP, 2)
    allowed = Settings(fx_max_age_days=30)
    run_folder(allowed, write_feeds(tmp_path / "again", book), tmp_path / "older")
    assert _default_of(tmp_path / "older", "BRIT")["exposure"] == 25000.0


def _zloty_book() -> dict[str, list[dict]]:
    """POLA invoices 40,000 PLN a month against a 100,000 PLN limit and pays nothing from
    March: P-3 (due 2 April) is 90 days past due on 1 July, a default with P-3 to P-6 open,
    160,000 PLN. No rate for PLN is configured."""
    feeds: dict[str, list[dict]] = {"customers": [
        customer("POLA", "2024-01-01", "Pola Sp. z o.o.", currency="PLN",
                 credit_limit=100000)], "payments": [], "registry": []}
    for m in range(1, 8):
        feeds["payments"].append({**invoice("POLA", f"2024-{m:02d}-03", f"P-{m}", 40000,
                                            f"2024-{m + 1:02d}-02"), "currency": "PLN"})
        if m < 3:
            feeds["payments"].append({**payment("POLA", f"2024-{m + 1:02d}-01", f"P-{m}",
                                                40000), "currency": "PLN"})
    feeds["registry"].append(status("POLA", "2024-08-20", "insolvency_filed"))
    return feeds


def test_a_currency_without_a_rate_is_booked_and_its_reporting_amounts_are_missing(
        tmp_path: Path) -> None:
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _zloty_book()), tmp_path / "out",
               scores=True)
    out = tmp_path / "out"
    assert not read_jsonl(out / DEADLETTER)  # nothing rejected for want of a rate
    default = _default_of(out, "POLA")
    assert (default["exposure"], default["fx_missing"]) == (None, True)
    assert (default["customer_exposure"], default["event_time"][:10]) == (160000.0,
                                                                          "2024-07-01")
    april = next(s for s in read_jsonl(out / SCORES) if s["month_end"]
                 and s["event_time"].startswith("2024-04-01"))
    assert april["features"]["utilisation"] == 0.4  # P-3 open: 40,000 of 100,000 PLN
    warnings = read_jsonl(out / WARNINGS)  # no PLN rate all along: every one misses it
    assert {(w["exposure"], w["fx_missing"]) for w in warnings} == {(None, True)}
    summary = summarize(out)
    assert (summary.fx_missing_warnings, summary.rejected) == (len(warnings), 0)
    assert summary.fx_missing_customers == {"PLN": 1}


def test_a_rate_that_arrives_fills_the_amounts_from_its_day(tmp_path: Path) -> None:
    book = _zloty_book()
    book["fx"] = [rate("2024-06-28", "PLN", 4.0)]  # a Friday; the default is on Monday
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    default = _default_of(tmp_path / "out", "POLA")
    assert (default["exposure"], default["fx_missing"]) == (40000.0, False)
    [row] = read_jsonl(tmp_path / "out" / WATCHLIST)
    assert (row["customer_credit_limit"], row["customer_currency"]) == (100000.0, "PLN")
    assert summarize(tmp_path / "out").fx_missing_customers == {}


def test_bad_rates_are_dead_lettered_with_their_reason(tmp_path: Path) -> None:
    book = _zloty_book()
    book["fx"] = [rate("2024-08-16", "PLN", 0), rate("2024-08-16", "PLN", -4.0),
                  rate("2024-08-16", "PLX", 4.0), rate("2024-08-16", "PLN", 4.0, base="PLN"),
                  rate("2024-08-16", "PLN", 1e-320), rate("2024-08-16", "PLN", 1e10)]
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out")
    dead = read_jsonl(tmp_path / "out" / DEADLETTER)
    assert [(d["feed"], d["reason"]) for d in dead] == [("fx", "schema")] * 6
    assert {"a rate must be from 1e-09 to 1e+09" in d["detail"] for d in dead} == {True, False}
    assert _default_of(tmp_path / "out", "POLA")["exposure"] is None


def test_a_central_banks_reference_rate_file_becomes_the_fx_feed(tmp_path: Path) -> None:
    """The ECB's layout, newest first, with an N/A cell and a withdrawn currency's column:
    BRIT's default on Tuesday 20 August takes Monday's 0.84 (21,000 / 0.84 = 25,000)."""
    from click.testing import CliRunner

    from flows.cli import cli

    csv = tmp_path / "eurofxref-hist.csv"
    csv.write_text("Date,USD,GBP,CYP,\n2024-08-21,1.11,0.70,N/A,\n2024-08-19,1.10,0.84,N/A,\n"
                   "2024-08-16,N/A,0.85,N/A,\n", encoding="utf-8")
    feeds = write_feeds(tmp_path / "feeds", _book())
    result = CliRunner().invoke(cli, ["rates", str(csv), "--out", str(feeds / "fx.jsonl")],
                                obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "5 rates (2 currencies, 3 days)" in result.output and "CYP" in result.output
    days = [r["event_time"] for r in read_jsonl(feeds / "fx.jsonl")]
    assert days == sorted(days)
    run_folder(Settings(), feeds, tmp_path / "out")
    assert _default_of(tmp_path / "out", "BRIT")["exposure"] == 25000.0
    assert summarize(tmp_path / "out").rejected == 0


@pytest.mark.parametrize(("text", "said"), [
    ("Date,USD,JPY\n2024-03-01,1,08,162,5\n", "line 2: 5 cells where the header names 3"),
    ("Date,USD\n2024-03-01,1.08\n2024-03-01,1.09\n", "line 3: 2024-03-01 again (first at "
                                                    "line 2)"),
    ("Date,USD,JPY,USD\n2024-03-01,1.08,162.5,1.09\n", "line 1: the columns USD are given"),
    ("Date,USD\n20240301,1.08\n", "line 2: '20240301' is not a date (YYYY-MM-DD)"),
    ("Date," + "X" * 200_000 + "\n", "line 1: not a CSV row (field larger than"),
])
def test_a_reference_rate_file_that_would_give_rates_nobody_gave_is_refused(
        tmp_path: Path, text: str, said: str) -> None:
    """A decimal comma split a cell (JPY 8 for 162,5), and a date or column given twice
    wrote two rates under one id; each is one line naming where, and nothing is written."""
    from click.testing import CliRunner

    from flows.cli import cli

    csv = tmp_path / "rates.csv"
    csv.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rates", str(csv), "--out", str(tmp_path / "fx.jsonl")])
    assert result.exit_code == 1 and f"Error: {said}" in result.output, result.output
    assert not (tmp_path / "fx.jsonl").exists()


def test_country_and_industry_grades_are_model_inputs_from_their_dates(tmp_path: Path) -> None:
    """GB is graded 0 from January and 3 from 15 May: BRIT's month-end snapshots of 1 May
    and 1 June see 0 and 3; EURO, whose master data names no country, sees none. EURO's
    industry, tools, is graded 5; BRIT names no industry."""
    book = _book()
    book["customers"] = [{**c, "country": "GB"} if c["customer_id"] == "BRIT" else c
                         for c in book["customers"]]
    book["country_risk"] = [
        record("country_risk", event_time="2024-01-01", country="GB", grade=0),
        record("country_risk", event_time="2024-05-15", country="GB", grade=3),
        record("country_risk", event_time="2024-05-15", country="GB", grade=9)]  # no such
    book["industry_risk"] = [
        record("industry_risk", event_time="2024-01-01", industry="tools", grade=5)]
    book["customers"] = [{**c, "industry": "tools"} if c["customer_id"] == "EURO" else c
                         for c in book["customers"]]
    run_folder(Settings(), write_feeds(tmp_path / "feeds", book), tmp_path / "out",
               scores=True)
    out = tmp_path / "out"
    seen = {(s["customer_id"], s["event_time"][:10]): s["features"].get("country_risk")
            for s in read_jsonl(out / SCORES) if s["month_end"]}
    assert (seen[("BRIT", "2024-05-01")], seen[("BRIT", "2024-06-01")]) == (0.0, 3.0)
    assert seen[("EURO", "2024-06-01")] is None
    industry = {(s["customer_id"], s["event_time"][:10]): s["features"].get("industry_risk")
                for s in read_jsonl(out / SCORES) if s["month_end"]}
    assert (industry[("EURO", "2024-06-01")], industry[("BRIT", "2024-06-01")]) == (5.0, None)
    assert [(d["feed"], d["reason"]) for d in read_jsonl(out / DEADLETTER)] == [
        ("country_risk", "schema")]


def test_concentration_shares_the_reporting_exposure_of_customers_still_trading(
        tmp_path: Path) -> None:
    from flows.run import concentration

    rows = [("A", "DE", 600.0, False), ("B", "DE", 200.0, False), ("C", "FR", 200.0, False),
            ("D", "FR", 5000.0, True), ("E", "PL", None, False)]  # defaulted; no PLN rate
    (tmp_path / WATCHLIST).write_text("".join(
        json.dumps({"customer_id": c, "country": country, "exposure": exposure,
                    "defaulted": defaulted}) + "\n" for c, country, exposure, defaulted in rows))
    assert concentration(tmp_path, "country") == [("DE", 0.8), ("FR", 0.2)]
    assert concentration(tmp_path, "country", limit=1) == [("DE", 0.8), ("other", 0.2)]
    assert concentration(tmp_path, "industry") == [("unknown", 1.0)]


def test_tiers_follow_the_expected_loss_and_set_the_next_review(tmp_path: Path) -> None:
    """BRIT defaulted (PD 1) with 21,000 GBP open, 5,000 insured: 16,000 GBP, 18,720 EUR
    stand to be lost, above the key tier's 10,000: reviewed 30 days after its last score.
    EURO owes nothing at the end: routine, reviewed after a year. With the key tier's
    floor raised to 20,000, BRIT is a watch customer."""
    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), tmp_path / "out")
    rows = {r["customer_id"]: r for r in read_jsonl(tmp_path / "out" / WATCHLIST)}
    assert (rows["BRIT"]["tier"], rows["EURO"]["tier"]) == ("key", "routine")
    assert rows["BRIT"]["next_review"] == "2024-09-01"  # defaulted 2 August, + 30 days
    assert _default_of(tmp_path / "out", "BRIT")["tier"] == "key"
    higher = Settings(policy={"tiers": [
        {"name": "key", "min_expected_loss": 20_000, "review_days": 30},
        {"name": "watch", "min_expected_loss": 1_000, "review_days": 90},
        {"name": "routine", "min_expected_loss": 0, "review_days": 365}]})
    run_folder(higher, write_feeds(tmp_path / "again", _book()), tmp_path / "higher")
    rows = {r["customer_id"]: r for r in read_jsonl(tmp_path / "higher" / WATCHLIST)}
    assert rows["BRIT"]["tier"] == "watch"


def test_tiers_must_descend_to_a_floor_of_zero() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="floors"):
        Settings(policy={"tiers": [{"name": "a", "min_expected_loss": 5, "review_days": 9}]})
