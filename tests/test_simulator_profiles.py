"""The simulator's other shapes of book (cards, monthly-status, statements): reproducible,
contract-valid, shaped like the public books they imitate, with outcomes that agree with the
feeds and default rates in their bands.

Every figure is recomputed from the files written, with the contract's own default rule, so a
generator that drifts from its description fails here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.contracts import Outcome, parse_record
from connectors.simulator import PROFILE_NAMES, SimulationSummary, simulate

FEEDS = ("customers", "payments", "news", "registry")
PROFILES = ("cards", "monthly-status", "statements")
START = date(2021, 1, 1)
SIZES = {"cards": (1500, 36), "monthly-status": (3000, 48), "statements": (1500, 60)}
DEFAULT_STATUSES = {"insolvency_filed", "administration", "liquidation"}
"""Registry statuses that are a default (the contract's definition)."""
MATERIAL = Decimal(500)
"""The contract's materiality threshold; the account books are all in EUR."""
FIGURES = {"revenue", "ebit", "net_income", "total_assets", "total_liabilities",
           "current_assets", "current_liabilities", "retained_earnings"}


@dataclass(frozen=True)
class Generated:
    """A simulated book as written: its folder, summary, raw lines and parsed records."""

    out: Path
    summary: SimulationSummary
    end: date
    raw: dict[str, list[bytes]]
    data: dict[str, list[dict[str, Any]]]

    def by_customer(self, feed: str) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in self.data[feed]:
            grouped[record["customer_id"]].append(record)
        return grouped

    def defaults(self) -> dict[str, date]:
        return {o["customer_id"]: date.fromisoformat(o["default_date"])
                for o in self.data["outcomes"] if o["default_date"]}


def _generate(profile: str, out: Path) -> Generated:
    customers, months = SIZES[profile]
    summary = simulate(customers, months, seed=21, out=out, start=START, profile=profile)
    raw = {feed: (out / f"{feed}.jsonl").read_bytes().splitlines()
           for feed in (*FEEDS, "outcomes")}
    data = {feed: [json.loads(line, parse_float=Decimal) for line in lines]
            for feed, lines in raw.items()}
    end = date(START.year + months // 12, START.month + months % 12, 1)  # START is a January 1
    return Generated(out, summary, end, raw, data)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generated]:
    return {p: _generate(p, tmp_path_factory.mktemp(p)) for p in PROFILES}


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def _month(value: str) -> int:
    return int(value[:4]) * 12 + int(value[5:7])


def _auc(scores: list[float], labels: list[bool]) -> float:
    """Area under the ROC curve (the chance a positive outranks a negative; ties half)."""
    ranked = sorted(zip(scores, labels, strict=True))
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(label for _, label in ranked[i:j]) * (i + j + 1) / 2
        i = j
    positives = sum(labels)
    negatives = len(labels) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


# -- every profile ---------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path: Path,
                                                                profile: str) -> None:
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(200, 24, seed=seed, out=tmp_path / name, profile=profile)
        runs[name] = {f: (tmp_path / name / f"{f}.jsonl").read_bytes()
                      for f in (*FEEDS, "outcomes")}
    assert runs["a"] == runs["b"]
    written = [f for f in (*FEEDS, "outcomes") if runs["a"][f]]
    assert all(runs["a"][f] != runs["c"][f] for f in written)


@pytest.mark.parametrize("customers", [1, 5])
def test_a_small_card_book_is_drawn(tmp_path: Path, customers: int) -> None:
    """Drawn with only one kind of account (defaulters, or none), the sample failed."""
    simulate(customers, 12, seed=1, out=tmp_path / "book", profile="cards")
    assert len((tmp_path / "book" / "customers.jsonl").read_text().splitlines()) == customers


def test_a_book_is_not_written_over_the_files_of_another_profiles_book(tmp_path: Path) -> None:
    """A run reads every feed file of its folder: the card book took the receivables book's
    rates and risk grades along."""
    from config.errors import ConfigError

    simulate(20, 14, seed=1, out=tmp_path / "book")
    with pytest.raises(ConfigError, match=r"holds feed files this book does not write \("
                                          r"country_risk.jsonl, fx.jsonl, industry_risk"):
        simulate(20, 8, seed=1, out=tmp_path / "book", profile="cards")
    simulate(20, 14, seed=2, out=tmp_path / "book")  # the same profile writes the same files


def test_receivables_is_the_default_profile(tmp_path: Path) -> None:
    simulate(120, 12, seed=3, out=tmp_path / "default")
    simulate(120, 12, seed=3, out=tmp_path / "named", profile="receivables")
    for name in (f"{feed}.jsonl" for feed in (*FEEDS, "outcomes")):
        assert (tmp_path / "default" / name).read_bytes() == \
            (tmp_path / "named" / name).read_bytes()
    assert ("receivables", *PROFILES) == PROFILE_NAMES


def test_unknown_profiles_and_short_horizons_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no profile"):
        simulate(10, 12, seed=1, out=tmp_path, profile="mortgages")
    with pytest.raises(ValueError, match="at least 7 months"):
        simulate(10, 6, seed=1, out=tmp_path, profile="cards")
    with pytest.raises(ValueError, match="at least 13 months"):
        simulate(10, 12, seed=1, out=tmp_path, profile="statements")


@pytest.mark.parametrize("profile", PROFILES)
def test_every_line_is_valid_sorted_and_unique(books: dict[str, Generated], profile: str) -> None:
    book = books[profile]
    for feed in FEEDS:
        for line in book.raw[feed]:
            parse_record(feed, line)
        keys = [(r["event_time"], r["event_id"]) for r in book.data[feed]]
        assert keys == sorted(keys), feed
        assert len({event_id for _, event_id in keys}) == len(keys), feed
        assert all(START <= _day(t) < book.end for t, _ in keys), feed
        assert book.summary.records[feed] == len(keys)
    outcomes = [Outcome.model_validate_json(line) for line in book.raw["outcomes"]]
    ids = [o.customer_id for o in outcomes]
    assert sorted(ids) == ids and len(set(ids)) == len(ids) == book.summary.customers
    assert set(ids) == {r["customer_id"] for r in book.data["customers"]}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_horizon_starting_mid_year_holds_every_event(tmp_path: Path, profile: str) -> None:
    simulate(150, 14, seed=2, out=tmp_path, start=date(2019, 5, 17), profile=profile)
    for feed in FEEDS:
        times = [json.loads(line)["event_time"][:10]
                 for line in (tmp_path / f"{feed}.jsonl").read_text().splitlines()]
        assert all("2019-05-01" <= t < "2020-07-01" for t in times), feed


def _first_default_events(book: Generated) -> dict[str, tuple[date, str]]:
    """Each customer's first default event in the feeds, by the contract's definition."""
    first: dict[str, tuple[date, int, str]] = {}

    def seen(customer: str, day: date, rank: int, kind: str) -> None:
        if customer not in first or (day, rank) < first[customer][:2]:
            first[customer] = (day, rank, kind)

    for r in book.data["registry"]:
        if r["type"] == "status_change" and r["status"] in DEFAULT_STATUSES:
            seen(r["customer_id"], _day(r["event_time"]), 0, "insolvency")
    for r in book.data["payments"]:
        if r["type"] == "write_off":
            seen(r["customer_id"], _day(r["event_time"]), 1, "write_off")
        if r["type"] == "tradeline" and r["days_past_due"] >= 90:
            owed = r.get("overdue", r.get("outstanding"))  # none: a status alone
            assert (owed is None) is ("currency" not in r)  # a currency with amounts only
            assert owed is None or r["currency"] == "EUR"  # that of MATERIAL
            if owed is None or Decimal(owed) >= MATERIAL:
                seen(r["customer_id"], _day(r["event_time"]), 2, "dpd90")
    return {c: (day, kind) for c, (day, _, kind) in first.items()}


@pytest.mark.parametrize("profile", PROFILES)
def test_outcomes_agree_with_the_first_default_event_in_the_feeds(
    books: dict[str, Generated], profile: str,
) -> None:
    book = books[profile]
    first = _first_default_events(book)
    for o in book.data["outcomes"]:
        shown = first.get(o["customer_id"])
        if o["default_date"] is None:
            assert shown is None, o
        else:
            assert shown == (date.fromisoformat(o["default_date"]), o["kind"]), o
            assert o["path"] in ("gradual", "sudden")
    assert book.summary.defaults == len(first) > 0
    assert book.summary.sudden_defaults == sum(
        o.get("path") == "sudden" for o in book.data["outcomes"]) > 0


@pytest.mark.parametrize("profile", PROFILES)
def test_nothing_positive_happens_after_a_default(books: dict[str, Generated],
                                                  profile: str) -> None:
    book = books[profile]
    defaulted = book.defaults()
    for customer, lines in book.by_customer("payments").items():
        after = [r for r in lines
                 if customer in defaulted and _day(r["event_time"]) >= defaulted[customer]]
        for before, later in zip(after, after[1:], strict=False):
            assert later["days_past_due"] > before["days_past_due"], later
            if "outstanding" in before:
                assert Decimal(later["outstanding"]) >= Decimal(before["outstanding"]), later
        assert all(Decimal(r.get("paid_in_period", 0)) == 0 for r in after)
    for r in (*book.data["registry"], *book.data["customers"]):
        if r["customer_id"] in defaulted and r.get("type") != "status_change":
            assert _day(r["event_time"]) < defaulted[r["customer_id"]], r


# -- the shape of each book ------------------------------------------------------------------

def _live_shares(first_last: list[tuple[int, int]], months: int) -> list[float]:
    """Share of the book with a record in each month of the horizon."""
    start = START.year * 12 + START.month
    live = [0] * months
    for first, last in first_last:
        for m in range(first - start, last - start + 1):
            live[m] += 1
    return [count / len(first_last) for count in live]


def test_cards_are_a_few_monthly_tradelines_per_account_with_staggered_starts(
    books: dict[str, Generated],
) -> None:
    book = books["cards"]
    assert not book.data["news"] and not book.data["registry"]
    assert {r["type"] for r in book.data["payments"]} == {"tradeline"}
    master = book.by_customer("customers")
    defaulted = book.defaults()
    spans = []
    counts = defaultdict(int)
    for customer, lines in book.by_customer("payments").items():
        counts[len(lines)] += 1
        months = [_month(r["event_time"]) for r in lines]
        assert months == list(range(months[0], months[0] + len(lines)))
        assert all((_day(r["event_time"]) + timedelta(days=1)).day == 1 for r in lines)
        assert all({"days_past_due", "outstanding", "credit_limit", "paid_in_period",
                    "overdue"} <= set(r) for r in lines)
        (record,) = master[customer]
        assert record["event_time"] == lines[0]["event_time"][:8] + "01"
        assert {"name", "country", "currency", "credit_limit"} <= set(record)
        if customer in defaulted:
            assert _day(lines[-1]["event_time"]) == defaulted[customer]
        spans.append((months[0], months[-1]))
    assert set(counts) <= {6, 7} and counts[7] > counts[6] > 0
    assert len(spans) == book.summary.customers
    starts = {first for first, _ in spans}
    assert len(starts) >= SIZES["cards"][1] - 7
    assert max(_live_shares(spans, SIZES["cards"][1])) < 0.35


def test_monthly_status_is_days_past_due_buckets_for_up_to_five_years(
    books: dict[str, Generated],
) -> None:
    book = books["monthly-status"]
    assert not book.data["news"] and not book.data["registry"]
    keys = {"event_id", "event_time", "customer_id", "type", "days_past_due"}
    spans = []
    for lines in book.by_customer("payments").values():
        assert all(set(r) == keys and (r["days_past_due"] % 30 == 0 or r["days_past_due"] == 15)
                   for r in lines)
        months = [_month(r["event_time"]) for r in lines]
        assert months == list(range(months[0], months[0] + len(lines))) and len(lines) <= 60
        spans.append((months[0], months[-1]))
    assert {r["days_past_due"] for r in book.data["payments"]} >= {0, 15, 30, 60, 90, 120}
    assert len(spans) == book.summary.customers
    assert len({first for first, _ in spans}) == SIZES["monthly-status"][1]
    shares = _live_shares(spans, SIZES["monthly-status"][1])
    assert max(shares) < 0.6 and max(last - first for first, last in spans) > 36


def test_monthly_status_slips_of_a_few_days_are_common_and_say_little_about_default(
    books: dict[str, Generated],
) -> None:
    """Many sound holders now and then pay a few days late (1-29 days, written 15): such
    months are common, and an account's share of them ranks defaulters far worse than its
    share of months 30+ days past due (counted before the default, so that the default's
    own statuses do not count)."""
    book = books["monthly-status"]
    defaulted = book.defaults()
    statuses = [r["days_past_due"] for r in book.data["payments"]]
    assert 0.05 <= statuses.count(15) / len(statuses) <= 0.3
    slips, lates, labels = [], [], []
    for customer, lines in book.by_customer("payments").items():
        until = defaulted.get(customer)
        before = [r["days_past_due"] for r in lines
                  if until is None or _day(r["event_time"]) < until - timedelta(days=180)]
        if before:
            slips.append(before.count(15) / len(before))
            lates.append(sum(d >= 30 for d in before) / len(before))
            labels.append(until is not None)
    assert sum(labels) >= 30
    assert 0.4 <= _auc(slips, labels) <= 0.6 < _auc(lates, labels) - 0.03


def test_statements_are_one_set_of_accounts_a_year_and_bankruptcies(
    books: dict[str, Generated],
) -> None:
    book = books["statements"]
    assert not book.data["news"] and not book.data["payments"]
    assert {r["type"] for r in book.data["registry"]} == {"accounts_filed", "status_change"}
    master = book.by_customer("customers")
    defaulted = book.defaults()
    for customer, events in book.by_customer("registry").items():
        filings = [r for r in events if r["type"] == "accounts_filed"]
        statuses = [r for r in events if r["type"] == "status_change"]
        assert all(set(r["financials"]) == FIGURES for r in filings)
        (record,) = master[customer]
        assert record["event_time"] == filings[0]["event_time"]
        assert (_day(filings[0]["event_time"]) - START).days < 366
        for a, b in zip(filings, filings[1:], strict=False):
            assert 300 <= (_day(b["event_time"]) - _day(a["event_time"])).days <= 365
            assert _month(b["period_end"]) - _month(a["period_end"]) == 12
            assert (_day(b["period_end"]) + timedelta(days=1)).day == 1
        if customer in defaulted:
            (status,) = statuses
            assert status["status"] == "insolvency_filed"
            assert 0 < (defaulted[customer] - _day(filings[-1]["event_time"])).days <= 365
        else:
            assert not statuses


# -- default rates and how predictable defaults are -------------------------------------------

def test_default_rates_are_in_their_bands(books: dict[str, Generated]) -> None:
    cards = books["cards"].summary
    assert 0.17 <= cards.defaults / cards.customers <= 0.27
    status = books["monthly-status"].summary
    assert 0.01 <= status.defaults / status.customers <= 0.08
    statements = books["statements"]
    firm_years = sum(
        ((statements.defaults().get(r["customer_id"], statements.end) - _day(r["event_time"])).days
         / 365.25) for r in statements.data["customers"])
    assert 0.015 <= statements.summary.defaults / firm_years <= 0.06
    assert statements.summary.annual_default_rate == pytest.approx(
        statements.summary.defaults / firm_years, rel=1e-3)
    for book in books.values():
        assert 0.05 <= book.summary.sudden_defaults / book.summary.defaults <= 0.6


def test_card_defaults_show_in_the_last_statement_but_not_always(
    books: dict[str, Generated],
) -> None:
    book = books["cards"]
    defaulted = book.defaults()
    last_dpd, labels = [], []
    for customer, lines in book.by_customer("payments").items():
        last_dpd.append(lines[-2]["days_past_due"])
        labels.append(customer in defaulted)
    auc = _auc(last_dpd, labels)
    current = sum(d == 0 for d, y in zip(last_dpd, labels, strict=True) if y) / sum(labels)
    assert 0.65 <= auc <= 0.95 and current >= 0.15


def _z_double_prime(financials: dict[str, Decimal]) -> float:
    f = {k: float(v) for k, v in financials.items()}
    assets, debt = f["total_assets"], f["total_liabilities"]
    return (6.56 * (f["current_assets"] - f["current_liabilities"]) / assets
            + 3.26 * f["retained_earnings"] / assets + 6.72 * f["ebit"] / assets
            + 1.05 * (assets - debt) / debt)


def test_accounts_weaken_before_bankruptcy_and_z_is_informative_not_perfect(
    books: dict[str, Generated],
) -> None:
    book = books["statements"]
    defaulted = book.defaults()
    scores, labels = [], []
    for r in book.data["registry"]:
        if r["type"] == "accounts_filed":
            failed = defaulted.get(r["customer_id"])
            scores.append(-_z_double_prime(r["financials"]))
            labels.append(failed is not None
                          and (failed - _day(r["event_time"])).days <= 365)
    assert 0.65 <= _auc(scores, labels) <= 0.9


def test_the_command_line_writes_a_profile(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flows.cli import cli

    result = CliRunner().invoke(cli, ["simulate", "--profile", "statements", "--customers", "40",
                                      "--months", "24", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["profile"] == "statements" and summary["customers"] == 40
    assert (tmp_path / "registry.jsonl").read_text().count('"accounts_filed"') >= 40
