"""The portfolio simulator: reproducible, contract-valid, calibrated, and honest about defaults.

Every figure here is recomputed from the files the simulator wrote, not from its internals,
so a miscalibrated generator or a summary that flatters itself fails these tests.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.contracts import Outcome, parse_record
from connectors.simulator import SimulationSummary, simulate
from connectors.simulator.portfolio import EUR_RATE
from detectors.clock import to_seconds
from detectors.events import DEFAULT_STATUSES
from detectors.news.classify import HeadlineReader

FEEDS = ("customers", "payments", "news", "registry")
BOOK_WIDE = ("fx", "country_risk", "industry_risk")
"""The feeds about no customer."""
START = date(2021, 1, 1)
MONTHS = 36
END = date(2024, 1, 1)


def _read(folder: Path, feed: str) -> list[dict[str, Any]]:
    with (folder / f"{feed}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line, parse_float=Decimal) for line in handle]


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    out = tmp_path_factory.mktemp("small")
    return out, simulate(400, 24, seed=11, out=out)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary, dict]:
    out = tmp_path_factory.mktemp("large")
    summary = simulate(2000, MONTHS, seed=5, out=out, start=START)
    data = {feed: _read(out, feed) for feed in (*FEEDS, "outcomes")}
    return out, summary, data


def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(150, 12, seed=seed, out=tmp_path / name)
        runs[name] = {
            f: (tmp_path / name / f"{f}.jsonl").read_bytes() for f in (*FEEDS, "outcomes")
        }
    assert runs["a"] == runs["b"]
    assert all(runs["a"][f] != runs["c"][f] for f in FEEDS)


def test_progress_counts_every_customer_once(tmp_path: Path) -> None:
    calls: list[int] = []
    simulate(1234, 3, seed=1, out=tmp_path, progress=calls.append)
    assert sum(calls) == 1234 and len(calls) > 1


def test_every_line_is_valid_sorted_and_unique(small: tuple[Path, SimulationSummary]) -> None:
    out, summary = small
    for feed in (*FEEDS, *BOOK_WIDE):
        raw = (out / f"{feed}.jsonl").read_bytes().splitlines()
        events = [parse_record(feed, line) for line in raw]
        keys = [(e.at, e.event_id) for e in events]
        assert keys == sorted(keys), feed
        assert keys[-1][0] < to_seconds(datetime(2023, 1, 1, tzinfo=UTC)), feed
        assert len({e.event_id for e in events}) == len(events), feed
        assert summary.records[feed] == len(events) > 0
    outcomes = [
        Outcome.model_validate_json(line)
        for line in (out / "outcomes.jsonl").read_bytes().splitlines()
    ]
    assert len({o.customer_id for o in outcomes}) == len(outcomes) == summary.customers


def test_every_record_type_occurs(large: tuple[Path, SimulationSummary, dict]) -> None:
    _, _, data = large
    types = {feed: {r.get("type") for r in data[feed]} for feed in ("payments", "registry")}
    assert types["payments"] == {"invoice", "payment", "credit_note", "write_off", "tradeline"}
    assert types["registry"] == {
        "status_change", "accounts_filed", "accounts_overdue", "director_change",
        "capital_change", "court_judgment", "rating_change",
    }
    kinds = {o["kind"] for o in data["outcomes"]}
    assert {"insolvency", "write_off", "dpd90"} <= kinds


def _first_default_events(data: dict) -> dict[str, tuple[date, int, str]]:
    """Per customer, the first default event the feeds show (docs/feeds.md), ties by kind order."""
    first: dict[str, tuple[date, int, str]] = {}

    def seen(customer: str, day: date, rank: int, kind: str) -> None:
        if day < END and (customer not in first or (day, rank) < first[customer][:2]):
            first[customer] = (day, rank, kind)

    for r in data["registry"]:
        if r["type"] == "status_change" and r["status"] in DEFAULT_STATUSES:
            seen(r["customer_id"], _day(r["event_time"]), 0, "insolvency")
    invoices: dict[str, dict] = {}
    settled: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for r in data["payments"]:
        if r["type"] == "write_off":
            seen(r["customer_id"], _day(r["event_time"]), 1, "write_off")
        if r["type"] == "tradeline" and r["days_past_due"] >= 90:
            seen(r["customer_id"], _day(r["event_time"]), 2, "dpd90")
        if r["type"] == "invoice":
            invoices[r["invoice_id"]] = r
        elif r["type"] in ("payment", "credit_note", "write_off"):
            settled[r["invoice_id"]].append((_day(r["event_time"]), Decimal(r["amount"])))
    for invoice_id, inv in invoices.items():
        at90 = date.fromisoformat(inv["due_date"]) + timedelta(days=90)
        paid = sum((a for d, a in settled[invoice_id] if d <= at90), Decimal(0))
        if Decimal(inv["amount"]) - paid > 0:
            seen(inv["customer_id"], at90, 2, "dpd90")
    return first


def test_outcomes_agree_with_the_first_default_event_in_the_feeds(
    large: tuple[Path, SimulationSummary, dict],
) -> None:
    _, summary, data = large
    first = _first_default_events(data)
    for o in data["outcomes"]:
        shown = first.get(o["customer_id"])
        if o["default_date"] is None:
            assert shown is None, o
        else:
            assert shown is not None, o
            assert (o["default_date"], o["kind"]) == (shown[0].isoformat(), shown[2]), o
    assert summary.defaults == len(first) > 0


def _owners(data: dict) -> dict[str, set[str]]:
    """Which customer ids each name or alias in the master data belongs to."""
    owner: dict[str, set[str]] = defaultdict(set)
    for r in data["customers"]:
        for name in [r["name"], *r.get("aliases", [])]:
            owner[name].add(r["customer_id"])
    return owner


def _news_customer(r: dict, owner: dict[str, set[str]]) -> str:
    return r.get("customer_id") or next(iter(owner[r["company_name"]]))


def _tone(r: dict) -> float:
    """An item's sentiment: the feed's, or its headline's as the monitor reads it (untagged
    items carry none)."""
    if "sentiment" in r:
        return r["sentiment"]
    return HeadlineReader().read(r["headline"], r.get("language")).sentiment


def test_nothing_positive_happens_after_a_default(
    large: tuple[Path, SimulationSummary, dict],
) -> None:
    _, _, data = large
    defaulted = {o["customer_id"]: o["default_date"] for o in data["outcomes"] if o["default_date"]}
    for r in data["payments"]:
        if r["type"] in ("invoice", "payment", "credit_note") and r["customer_id"] in defaulted:
            assert r["event_time"][:10] < defaulted[r["customer_id"]], r
    owner = _owners(data)
    for r in data["news"]:
        customer = _news_customer(r, owner)
        if customer in defaulted and _tone(r) > 0:
            assert r["event_time"][:10] < defaulted[customer], r


def _exposure_years(outcomes: list[dict]) -> float:
    days = 0
    for o in outcomes:
        until = date.fromisoformat(o["default_date"]) if o["default_date"] else END
        days += (until - START).days
    return days / 365.25


def test_default_rate_and_sudden_share(large: tuple[Path, SimulationSummary, dict]) -> None:
    _, summary, data = large
    defaults = [o for o in data["outcomes"] if o["default_date"]]
    rate = len(defaults) / _exposure_years(data["outcomes"])
    sudden = sum(o["path"] == "sudden" for o in defaults) / len(defaults)
    assert 0.02 <= rate <= 0.04
    assert sudden >= 0.20
    assert summary.annual_default_rate == pytest.approx(rate, rel=1e-3)
    assert summary.sudden_defaults == sum(o["path"] == "sudden" for o in defaults)


def _dso_and_overdue(data: dict) -> tuple[float, float]:
    """Month-end receivables over trailing-90-day sales, and their past-due share, in EUR."""
    rate = {r["customer_id"]: EUR_RATE[r["currency"]] for r in data["customers"]}
    invoices = {}
    settlements = []
    for r in data["payments"]:
        if r["type"] == "invoice":
            invoices[r["invoice_id"]] = (
                _day(r["issue_date"]), _day(r["due_date"]),
                float(r["amount"]) * rate[r["customer_id"]],
            )
        elif r["type"] in ("payment", "credit_note", "write_off"):
            settlements.append((_day(r["event_time"]), r["invoice_id"],
                                float(r["amount"]) * rate[r["customer_id"]]))
    dso, overdue = [], []
    for m in range(7, MONTHS + 1):
        month_end = date(START.year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
        open_amount = {k: a for k, (i, _, a) in invoices.items() if i <= month_end}
        for d, k, a in settlements:
            if d <= month_end:
                open_amount[k] -= a
        receivable = sum(open_amount.values())
        past_due = sum(a for k, a in open_amount.items() if invoices[k][1] < month_end)
        window = month_end - timedelta(90)
        sales = sum(a for i, _, a in invoices.values() if window < i <= month_end)
        dso.append(receivable / sales * 90)
        overdue.append(past_due / receivable)
    return sum(dso) / len(dso), sum(overdue) / len(overdue)


def test_dso_and_overdue_share_match_the_market(
    large: tuple[Path, SimulationSummary, dict],
) -> None:
    _, summary, data = large
    dso, overdue = _dso_and_overdue(data)
    assert 80 <= dso <= 100
    assert 0.12 <= overdue <= 0.18
    assert summary.dso_days == pytest.approx(dso, rel=0.01)
    assert summary.overdue_share == pytest.approx(overdue, rel=0.01)


def test_news_by_name_resolves_to_exactly_one_customer(
    large: tuple[Path, SimulationSummary, dict],
) -> None:
    _, _, data = large
    owner = _owners(data)
    by_name = [r for r in data["news"] if "company_name" in r]
    assert 0.30 <= len(by_name) / len(data["news"]) <= 0.40
    for r in by_name:
        assert len(owner[r["company_name"]]) == 1, r["company_name"]
        assert "customer_id" not in r


def _warning_signs(data: dict) -> dict[str, tuple[float, float]]:
    """Per customer group, mean days late of payments and adverse news per customer-year,
    in the window 10 to 2 months before default (the whole horizon for survivors)."""
    outcome = {o["customer_id"]: o for o in data["outcomes"]}

    def group_and_window(customer: str) -> tuple[str, date, date] | None:
        o = outcome[customer]
        if not o["default_date"]:
            return "survivor", START, END
        d = date.fromisoformat(o["default_date"])
        lo = d - timedelta(days=300)
        return (o["path"], lo, d - timedelta(days=60)) if lo >= START else None

    due = {r["invoice_id"]: _day(r["due_date"]) for r in data["payments"] if r["type"] == "invoice"}
    late: dict[str, list[int]] = defaultdict(list)
    for r in data["payments"]:
        g = group_and_window(r["customer_id"])
        if r["type"] == "payment" and g and g[1] <= _day(r["event_time"]) < g[2]:
            late[g[0]].append((_day(r["event_time"]) - due[r["invoice_id"]]).days)
    adverse: dict[str, int] = defaultdict(int)
    owner = _owners(data)
    for r in data["news"]:
        g = group_and_window(_news_customer(r, owner))
        if g and _tone(r) < 0 and g[1] <= _day(r["event_time"]) < g[2]:
            adverse[g[0]] += 1
    years: dict[str, float] = defaultdict(float)
    for customer in outcome:
        g = group_and_window(customer)
        if g:
            years[g[0]] += (g[2] - g[1]).days / 365.25
    return {k: (sum(v) / len(v), adverse[k] / years[k]) for k, v in late.items()}


def test_gradual_defaults_warn_and_sudden_ones_do_not(
    large: tuple[Path, SimulationSummary, dict],
) -> None:
    signs = _warning_signs(large[2])
    survivor, gradual, sudden = signs["survivor"], signs["gradual"], signs["sudden"]
    assert gradual[0] > 1.5 * survivor[0] and gradual[1] > 1.5 * survivor[1]
    assert sudden[0] < 1.3 * survivor[0] and sudden[1] < 1.5 * survivor[1]


def test_summary_is_json_ready(small: tuple[Path, SimulationSummary]) -> None:
    _, summary = small
    encoded = json.loads(json.dumps(summary.to_json()))
    assert encoded["customers"] == 400
    assert set(encoded["records"]) == {*FEEDS, *BOOK_WIDE, "outcomes"}
    assert encoded["defaults"] == summary.defaults <= summary.customers


def test_the_book_spans_currencies_and_countries_with_a_rate_every_business_day(
        small: tuple[Path, SimulationSummary]) -> None:
    """At least six currencies and ten countries; every customer's currency but the euro
    has a rate on the first day and every weekday after; amounts in a customer's currency
    are about the same size in euros whatever the currency."""
    out, _ = small
    masters = {r["customer_id"]: r for r in _read(out, "customers")}
    currencies = {r["currency"] for r in masters.values()}
    assert len(currencies) >= 6 and len({r["country"] for r in masters.values()}) >= 10
    rates = _read(out, "fx")
    assert {r["currency"] for r in rates} == currencies - {"EUR"}
    assert {r["base"] for r in rates} == {"EUR"} and min(r["rate"] for r in rates) > 0
    days = sorted({date.fromisoformat(r["event_time"]) for r in rates})
    assert days[0] == date(2021, 1, 1) and all(d.weekday() < 5 for d in days[1:])
    assert len(rates) == len(days) * (len(currencies) - 1)
    first = {r["currency"]: float(r["rate"]) for r in rates
             if r["event_time"] == "2021-01-01"}
    euro, other = [], []  # credit limits in euros, of the euro and of the other customers
    for r in masters.values():
        (euro if r["currency"] == "EUR" else other).append(
            float(r["credit_limit"]) / first.get(r["currency"], 1.0))
    assert len(other) > 30
    assert 0.5 < statistics.median(other) / statistics.median(euro) < 2.0
    grades = {(r["country"], r["grade"]) for r in _read(out, "country_risk")}
    assert {c for c, _ in grades} == {r["country"] for r in masters.values()}
    sectors = {r["industry"]: r["grade"] for r in _read(out, "industry_risk")}
    assert {r["industry"] for r in masters.values()} <= set(sectors)
    assert sectors["construction"] == 7 and sectors["energy_utilities"] == 0
