"""Feed contract v1: strict parsing, with hand-picked bad records and generated good ones."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.codes import COUNTRIES, CURRENCIES
from config.errors import ContractError
from connectors import contracts as c
from detectors import events as ev
from detectors.clock import to_seconds

INVOICE = {
    "event_id": "e1", "event_time": "2024-03-31T12:00:00+02:00", "customer_id": "C1",
    "type": "invoice", "invoice_id": "I1", "amount": "1250.50", "currency": "EUR",
    "issue_date": "2024-03-31", "due_date": "2024-04-30",
}


def parse(feed: str, obj: object) -> ev.Event:
    return c.parse_record(feed, json.dumps(obj).encode())


def test_invoice_parses_with_its_amount_and_utc_time() -> None:
    event = parse("payments", INVOICE)
    assert isinstance(event, ev.Invoice)
    assert event.amount == 1250.5
    assert event.at == to_seconds(datetime(2024, 3, 31, 10, 0, tzinfo=UTC))
    assert event.due_day - event.issue_day == 30


def test_bare_date_is_midnight_utc_and_extra_fields_are_allowed() -> None:
    event = parse("customers", {"event_id": "c", "event_time": "2024-02-29", "customer_id": "C",
                                "name": "Acme", "crm_ref": {"nested": [17]}})
    assert event.at == to_seconds(datetime(2024, 2, 29, tzinfo=UTC))
    assert isinstance(event, ev.CustomerRecord) and event.name == "Acme"


def test_a_repeated_key_counts_with_its_last_value() -> None:
    raw = json.dumps(INVOICE)[:-1] + ', "amount": "7"}'
    assert c.parse_record("payments", raw.encode()).amount == 7.0


@pytest.mark.parametrize(
    ("change", "reason", "fragment"),
    [
        ({"amount": "-5"}, "schema", "must not be negative"),
        ({"amount": "12,50"}, "schema", "not a decimal"),
        ({"amount": True}, "schema", "decimal number"),
        ({"amount": "NaN"}, "schema", "not a decimal"),
        ({"amount": "\u0661\u0662"}, "schema", "not a decimal"),  # Arabic-Indic 12
        ({"amount": "\uff11\uff12.5"}, "schema", "not a decimal"),  # full-width 12
        ({"amount": "1e16"}, "schema", "at most"),
        ({"amount": 9e307}, "schema", "at most"),
        ({"currency": "EURO"}, "schema", "ISO 4217"),
        ({"currency": "XYZ"}, "schema", "ISO 4217"),
        ({"event_time": "2023-02-29"}, "schema", "event_time"),
        ({"event_time": "2024-03-31T12:00:00"}, "schema", "offset"),
        ({"event_time": 1711886400}, "schema", "RFC 3339"),
        ({"due_date": "2024-13-01"}, "schema", "due_date"),
        ({"due_date": "2024-03-01"}, "schema", "before issue_date"),
        ({"customer_id": 42}, "schema", "customer_id"),
        ({"customer_id": ""}, "schema", "customer_id"),
        ({"event_id": None}, "schema", "event_id"),
        ({"type": "refund"}, "schema", "type"),
    ],
)
def test_bad_invoices_are_rejected_with_a_reason(change: dict, reason: str, fragment: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse("payments", {**INVOICE, **change})
    assert caught.value.reason == reason
    assert fragment in str(caught.value)


def test_missing_ids_are_errors() -> None:
    for field in ("event_id", "customer_id", "invoice_id"):
        record = {k: v for k, v in INVOICE.items() if k != field}
        with pytest.raises(ContractError, match=field):
            parse("payments", record)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b"\xff\xfe{}", "not_utf8"),
        (b'{"contract_version": "2"}', "unknown_version"),
        (b" " * (c.MAX_RECORD_BYTES + 1), "too_large"),
    ],
)
def test_undecodable_records(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        c.parse_record("payments", raw)
    assert caught.value.reason == reason


def test_news_needs_a_company_and_a_sentiment_in_range() -> None:
    base = {"event_id": "n", "event_time": "2024-01-01", "headline": "h", "source": "s"}
    with pytest.raises(ContractError, match="customer_id or company_name"):
        parse("news", base)
    with pytest.raises(ContractError, match="sentiment"):
        parse("news", {**base, "customer_id": "C", "sentiment": -1.5})
    assert parse("news", {**base, "company_name": "Acme Ltd"}).customer_id is None


def test_tradeline_days_past_due_must_be_a_non_negative_integer() -> None:
    base = {"event_id": "t", "event_time": "2024-01-01", "customer_id": "C", "type": "tradeline",
            "outstanding": 10, "currency": "GBP"}
    assert parse("payments", {**base, "days_past_due": 0}).days_past_due == 0
    for bad in (-1, 3.5, "30"):
        with pytest.raises(ContractError, match="days_past_due"):
            parse("payments", {**base, "days_past_due": bad})


def test_a_tradeline_may_report_a_credit_balance_or_none_but_no_negative_limit() -> None:
    base = {"event_id": "t", "event_time": "2024-01-01", "customer_id": "C", "type": "tradeline",
            "days_past_due": 0, "currency": "GBP"}
    assert parse("payments", {**base, "outstanding": "-120.50"}).outstanding == -120.5
    assert parse("payments", base).outstanding is None  # a feed of payment statuses only
    for field in ("overdue", "credit_limit", "paid_in_period"):
        with pytest.raises(ContractError, match=field):
            parse("payments", {**base, "outstanding": 10, field: -1})


def test_a_tradeline_needs_a_currency_only_for_its_amounts() -> None:
    status = {"event_id": "t", "event_time": "2024-01-01", "customer_id": "C",
              "type": "tradeline", "days_past_due": 95}
    assert parse("payments", status).currency is None  # a status alone has nothing to price
    for field in ("outstanding", "overdue", "credit_limit", "paid_in_period"):
        with pytest.raises(ContractError, match=f"{field} given without a currency"):
            parse("payments", {**status, field: 10})


def test_registry_events_and_the_from_field() -> None:
    rating = parse("registry", {"event_id": "r", "event_time": "2024-01-01", "customer_id": "C",
                                "type": "rating_change", "agency": "X", "from": "BB", "to": "B"})
    assert (rating.old, rating.new) == ("BB", "B")
    filed = parse("registry", {"event_id": "a", "event_time": "2024-05-01", "customer_id": "C",
                               "type": "accounts_filed", "period_end": "2023-12-31",
                               "financials": {"total_assets": 100, "net_income": -5.5}})
    assert dict(filed.figures) == {"total_assets": 100.0, "net_income": -5.5}
    with pytest.raises(ContractError, match="status"):
        parse("registry", {"event_id": "s", "event_time": "2024-01-01", "customer_id": "C",
                           "type": "status_change", "status": "bankrupt-ish"})


# -- property-based ----------------------------------------------------------------------

ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1))


@given(event_id=ids, customer=ids, amount=amounts, currency=st.sampled_from(sorted(CURRENCIES)),
       issue=dates, days=st.integers(0, 365))
def test_any_valid_invoice_round_trips(event_id: str, customer: str, amount: Decimal,
                                       currency: str, issue: date, days: int) -> None:
    due = date.fromordinal(issue.toordinal() + days)
    record = {"event_id": event_id, "event_time": issue.isoformat(), "customer_id": customer,
              "type": "invoice", "invoice_id": "I", "amount": str(amount), "currency": currency,
              "issue_date": issue.isoformat(), "due_date": due.isoformat()}
    event = parse("payments", record)
    assert (event.event_id, event.customer_id, event.amount) == (event_id, customer,
                                                                 float(amount))
    assert event.due_day - event.issue_day == days


@given(amount=st.decimals(max_value=Decimal("-0.01"), min_value=Decimal("-1e15"),
                          allow_nan=False, allow_infinity=False))
def test_any_negative_amount_is_rejected(amount: Decimal) -> None:
    with pytest.raises(ContractError, match="negative"):
        parse("payments", {**INVOICE, "amount": str(amount)})


@given(code=st.text(min_size=1, max_size=4).filter(lambda s: s not in COUNTRIES))
def test_any_unknown_country_is_rejected(code: str) -> None:
    with pytest.raises(ContractError, match="country"):
        parse("customers", {"event_id": "c", "event_time": "2024-01-01", "customer_id": "C",
                            "name": "N", "country": code})


@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_contract_errors(raw: bytes) -> None:
    for feed in c.FEEDS:
        with contextlib.suppress(ContractError):
            c.parse_record(feed, raw)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamps_beyond_the_calendar_are_schema_errors(when: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse("payments", {**INVOICE, "event_time": when})
    assert caught.value.reason == "schema"


@pytest.mark.parametrize(("when", "same_as"), [
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),  # a leap second, on its own day
    ("2017-01-01T05:29:60+05:30", "2016-12-31T23:59:59Z"),
    ("2024-03-31T12:00:00.1234567891234Z", "2024-03-31T12:00:00Z")])  # any fraction's length
def test_rfc_3339_times_a_strict_parser_refuses_are_read(when: str, same_as: str) -> None:
    assert parse("payments", {**INVOICE, "event_time": when}).at == parse(
        "payments", {**INVOICE, "event_time": same_as}).at


@pytest.mark.parametrize("when", ["2016-12-31T12:30:60Z", "2016-12-31T23:59:61Z",
                                  "2016-12-31T23:59:60+01:00"])
def test_a_second_60_other_than_a_utc_days_last_is_a_schema_error(when: str) -> None:
    with pytest.raises(ContractError, match="leap second|not a time that exists") as caught:
        parse("payments", {**INVOICE, "event_time": when})
    assert caught.value.reason == "schema"


def test_a_number_with_more_digits_than_any_field_takes_is_a_schema_error() -> None:
    """Valid JSON: it was rejected as invalid_json (the parser's 'number out of range')."""
    raw = json.dumps(INVOICE).replace('"1250.50"', "1" + "0" * 5000).encode()
    with pytest.raises(ContractError, match="no field takes a number that large") as caught:
        c.parse_record("payments", raw)
    assert caught.value.reason == "schema"


@pytest.mark.parametrize("raw", [b'{"amount": ' + b"1" * 5000 + b" garbage", b"[" + b"1" * 5000,
                                 b"1" * 5000])
def test_a_huge_number_in_what_is_no_json_object_is_invalid_json(raw: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        c.parse_record("payments", raw)
    assert caught.value.reason == "invalid_json"


def test_hostile_nesting_and_overflowing_amounts_are_rejected() -> None:
    with pytest.raises(ContractError) as caught:
        c.parse_record("news", b"[" * 100_000 + b"]" * 100_000)
    assert caught.value.reason == "invalid_json"
    with pytest.raises(ContractError, match="finite"):
        parse("payments", {**INVOICE, "amount": "1e400"})
    with pytest.raises(ContractError, match="finite"):
        c.parse_record("payments", json.dumps(INVOICE).replace('"1250.50"', "NaN").encode())


@pytest.mark.parametrize(("raw", "ids"), [
    (b'{"event_id": "e1", "customer_id": "C1", "amount": "-5"}', ("e1", "C1")),
    (b'{"event_id": "e1", "customer_id": 42}', ("e1", None)),
    (b'{"event_id": "' + b"x" * 257 + b'"}', (None, None)),  # longer than any valid id
    (b'["e1", "C1"]', (None, None)),
    (b'{"event_id": "e\\ud800", "customer_id": "C1"}', (None, "C1")),  # a lone surrogate
    (b"{not json", (None, None)),
    (b"\xff\xfe", (None, None)),
    (b"[" * 100_000 + b"]" * 100_000, (None, None)),  # deeper than the parser recurses
])
def test_a_rejected_record_names_the_ids_it_states_where_they_can_be_read(
        raw: bytes, ids: tuple[str | None, str | None]) -> None:
    assert c.stated_ids(raw) == ids


@pytest.mark.parametrize(("given", "kept"), [
    (["Insolvency", " FRAUD "], ("insolvency", "fraud")),
    (["bankruptcy", "insolvency", "sports", "insolvency"], ("insolvency",)),
    (["bankruptcy"], ()),
])
def test_news_categories_are_the_known_ones_in_lower_case(given: list[str],
                                                          kept: tuple[str, ...]) -> None:
    """A category of another scheme kept as it came would weigh nothing and stop the
    headline from being read: an item left without a known category is read as untagged."""
    item = parse("news", {"event_id": "n", "event_time": "2024-02-10", "customer_id": "C",
                          "headline": "Alpha files for insolvency", "source": "wire",
                          "categories": given})
    assert isinstance(item, ev.NewsItem) and item.categories == kept
