"""Amounts in one currency: a customer's limits are converted to the reporting currency as
its receivables are, so limit use compares like with like, and every amount a warning
carries is in the currency it names (the customer's own is beside it)."""

from __future__ import annotations

from pathlib import Path

from feedkit import customer, invoice, payment, status, write_feeds

from config.settings import Settings
from flows.run import SCORES, WARNINGS, read_jsonl, run_folder

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
    from detectors.snapshots import Profile

    desk = WarningDesk("b0", DeskSettings(breach_warnings=("credit_limit",)), {})
    desk.latest.add()
    desk.who.append(("C1", None))
    profile = Profile(credit_limit=100.0)
    warned = [bool(desk._breaches(0, "C1", profile, exposure, day * 86400, 0.1, 2, {}))
              for day, exposure in enumerate((105.0, 115.0, 120.0, 105.0, 95.0, 112.0))]
    assert warned == [False, True, False, False, False, True]
