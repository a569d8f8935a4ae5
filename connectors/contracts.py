"""Feed contract v1 (docs/feeds.md) as strict pydantic models, and its one parser.

`parse_record` validates the raw bytes of one record in a single pass (pydantic parses the
JSON itself) and turns it into a core event (`detectors.events`), or raises `ContractError`
with a reason a person can act on. Unknown extra fields are allowed and ignored (they stay
in the record's raw bytes, which the audit log keeps). A key repeated in one object counts
with its last value, as in most JSON parsers; since every step reads the parsed record, a
repeat cannot make two steps disagree.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from config.codes import COUNTRIES, CURRENCIES
from config.errors import ContractError
from config.settings import MAX_RATE, MIN_RATE
from detectors import events as e
from detectors.clock import parse_time
from detectors.events import FEEDS
from detectors.signals import NEWS_CATEGORIES

__all__ = ["CONTRACT_VERSION", "FEEDS", "MAX_AMOUNT", "MAX_RECORD_BYTES", "Outcome",
           "parse_record"]

CONTRACT_VERSION = "1"
MAX_RECORD_BYTES = 1_000_000
"""A record larger than this is rejected before parsing (a 10 MB line is hostile)."""
MAX_AMOUNT = 1e15
"""The largest amount a record may carry: larger ones are typos or attacks, and sums of a few
of them would overflow."""

_TIME = r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
"""A decimal number in ASCII digits (Python reads other scripts' digits too: not here)."""


def _amount_value(value: Any) -> float:
    """A JSON number or numeric string as a float, finite and at most `MAX_AMOUNT`."""
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value):
            raise ValueError(f"{value[:40]!r} is not a decimal number")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a decimal number (a JSON number or a numeric string)")
    elif isinstance(value, int) and abs(value) > MAX_AMOUNT:
        raise ValueError(f"must be a finite amount of at most {MAX_AMOUNT:.0e}")
    amount = float(value)
    if not math.isfinite(amount) or abs(amount) > MAX_AMOUNT:
        raise ValueError(f"must be a finite amount of at most {MAX_AMOUNT:.0e}")
    return amount


def _non_negative(value: Any) -> float:
    amount = _amount_value(value)
    if amount < 0:
        raise ValueError(f"must not be negative, got {amount}")
    return amount


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"{value[:20]!r} is not an ISO 4217 currency code")
    return value


def _country(value: str) -> str:
    if value not in COUNTRIES:
        raise ValueError(f"{value[:20]!r} is not an ISO 3166-1 alpha-2 country code")
    return value


@lru_cache(maxsize=8192)  # feeds repeat times and dates; only valid strings are remembered
def event_seconds(text: str) -> int:
    """An event time (RFC 3339 with an offset, or a date read as 00:00 UTC) in seconds.

    A leap second (``23:59:60Z``, RFC 3339's last second of a UTC day) is read as the
    second before it, on its own day; fractions of a second, of any length, are dropped.

    >>> event_seconds("2024-03-31"), event_seconds("2024-03-31T02:00:00+02:00")
    (1711843200, 1711843200)
    >>> event_seconds("2016-12-31T23:59:60Z") - event_seconds("2016-12-31T23:59:59.1234567891Z")
    0
    """
    if len(text) == 10:
        return int(datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC).timestamp())
    # astimezone refuses a time that UTC cannot hold (before year 1, after 9999)
    return int(parse_time(text.replace("z", "Z").replace("t", "T")).astimezone(UTC).timestamp())


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=8192)
def date_day(text: str) -> int:
    """A ``YYYY-MM-DD`` date as an event-time day number."""
    return date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL


def _real_time(text: str) -> str:
    try:
        event_seconds(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not a time that exists ({exc})") from None
    return text


def _real_date(text: str) -> str:
    try:
        date_day(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date that exists ({exc})") from None
    return text


def _amount_schema(signed: bool, low: float | None = None,
                   high: float = MAX_AMOUNT) -> dict[str, Any]:
    """The JSON Schema of an amount (or of a rate, from ``low`` to ``high``), as strict as the
    validator where JSON Schema can say it: a number within the bounds, or a numeric string
    in ASCII digits (its size is checked only when read)."""
    sign = "[+-]?" if signed else r"\+?"
    minimum = low if low is not None else -MAX_AMOUNT if signed else 0
    return {"anyOf": [
        {"type": "number", "minimum": minimum, "maximum": high},
        {"type": "string",
         "pattern": rf"^\s*{sign}(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$"},
    ]}


Amount = Annotated[float, PlainValidator(_non_negative), WithJsonSchema(_amount_schema(False))]
SignedAmount = Annotated[float, PlainValidator(_amount_value),
                         WithJsonSchema(_amount_schema(True))]
Currency = Annotated[StrictStr, AfterValidator(_currency)]
Country = Annotated[StrictStr, AfterValidator(_country)]
ID_MAX_LENGTH = 256
Id = Annotated[StrictStr, Field(min_length=1, max_length=ID_MAX_LENGTH)]
EventTime = Annotated[StrictStr, StringConstraints(pattern=_TIME), AfterValidator(_real_time)]
Date = Annotated[StrictStr, StringConstraints(pattern=_DATE), AfterValidator(_real_date)]
Text = StrictStr
CompanyId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
"""An LEI, national registry number or VAT id, as the source writes it."""
def _whole_number(value: Any) -> Any:
    """A JSON number without a fraction as an int (``45.0`` is 45, as JSON Schema's
    ``integer`` says); anything else as it came, for the strict check after."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
"""A count or grade: an integer, written ``45`` or ``45.0`` (both are JSON Schema's
``integer``), never a string or ``45.5``."""


def whole_number_from(low: int, high: int) -> Any:
    """A `WholeNumber` from ``low`` to ``high``, with those bounds in its JSON Schema too
    (pydantic writes a validator's bounds in words JSON Schema does not know)."""
    return Annotated[WholeNumber, Field(ge=low, le=high),
                     WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})]


Grade = whole_number_from(0, 7)
"""A country's or industry's risk grade: 0 (lowest risk) to 7."""
Ratio = SignedAmount
"""A published ratio: a number or numeric string, as amounts are (within +-`MAX_AMOUNT`)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    event_id: Id
    event_time: EventTime
    contract_version: Literal["1"] | None = None


def _num(value: float | None) -> float | None:
    return None if value is None else float(value)


class Customer(_Record):
    """Master data; the latest record per customer wins, in event time."""

    customer_id: Id
    name: Annotated[StrictStr, Field(min_length=1)]
    country: Country | None = None
    industry: Text | None = None
    currency: Currency | None = None
    credit_limit: Amount | None = None
    insured_limit: Amount | None = None
    insured_limit_from: Date | None = None
    """The day ``insured_limit`` applies from, when the insurer announced it ahead (a cut
    with notice); until then the customer's earlier insured limit stays."""
    tags: list[StrictStr] = []
    aliases: list[StrictStr] = []
    lei: CompanyId | None = None
    registry_id: CompanyId | None = None
    vat_id: CompanyId | None = None

    def to_event(self) -> e.CustomerRecord:
        return e.CustomerRecord(
            self.event_id, event_seconds(self.event_time), self.customer_id, self.name,
            self.country, self.industry, self.currency, _num(self.credit_limit),
            _num(self.insured_limit), tuple(self.tags), tuple(self.aliases), self.lei,
            self.registry_id, self.vat_id,
            None if self.insured_limit_from is None else date_day(self.insured_limit_from))


class _LedgerRecord(_Record):
    customer_id: Id
    invoice_id: Id
    amount: Amount
    currency: Currency


class Invoice(_LedgerRecord):
    type: Literal["invoice"]
    issue_date: Date
    due_date: Date

    @model_validator(mode="after")
    def _due_after_issue(self) -> Invoice:
        if self.due_date < self.issue_date:  # same format: string order is date order
            raise ValueError("due_date is before issue_date")
        return self

    def to_event(self) -> e.Invoice:
        return e.Invoice(self.event_id, event_seconds(self.event_time), self.customer_id,
                         self.invoice_id, float(self.amount), self.currency,
                         date_day(self.issue_date), date_day(self.due_date))


class Payment(_LedgerRecord):
    type: Literal["payment"]

    def to_event(self) -> e.Payment:
        return e.Payment(self.event_id, event_seconds(self.event_time), self.customer_id,
                         self.invoice_id, float(self.amount), self.currency)


class CreditNote(_LedgerRecord):
    type: Literal["credit_note"]

    def to_event(self) -> e.CreditNote:
        return e.CreditNote(self.event_id, event_seconds(self.event_time), self.customer_id,
                            self.invoice_id, float(self.amount), self.currency)


class WriteOff(_LedgerRecord):
    type: Literal["write_off"]

    def to_event(self) -> e.WriteOff:
        return e.WriteOff(self.event_id, event_seconds(self.event_time), self.customer_id,
                          self.invoice_id, float(self.amount), self.currency)


class Tradeline(_Record):
    """A periodic bank or bureau snapshot of the customer's account elsewhere."""

    type: Literal["tradeline"]
    customer_id: Id
    days_past_due: whole_number_from(0, 100_000)  # type: ignore[valid-type]
    outstanding: SignedAmount | None = None
    """The balance owed (below 0: a credit balance, more paid than was owed); None from a
    feed of payment statuses only."""
    currency: Currency | None = None
    """Of the amounts: required with any of them, and needless without (a status only)."""
    overdue: Amount | None = None
    credit_limit: Amount | None = None
    paid_in_period: Amount | None = None

    @model_validator(mode="after")
    def _amounts_in_a_currency(self) -> Tradeline:
        if self.currency is None:
            given = [name for name in ("outstanding", "overdue", "credit_limit",
                                       "paid_in_period") if getattr(self, name) is not None]
            if given:
                raise ValueError(f"{', '.join(given)} given without a currency")
        return self

    def to_event(self) -> e.Tradeline:
        return e.Tradeline(self.event_id, event_seconds(self.event_time), self.customer_id,
                           self.days_past_due, _num(self.outstanding), self.currency,
                           _num(self.overdue), _num(self.credit_limit),
                           _num(self.paid_in_period))


def _rate(value: Any) -> float:
    rate = _amount_value(value)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"a rate must be from {MIN_RATE:g} to {MAX_RATE:g}, got {rate:g}")
    return rate


Rate = Annotated[float, PlainValidator(_rate),
                 WithJsonSchema(_amount_schema(False, MIN_RATE, MAX_RATE))]


class FxRate(_Record):
    """A day's exchange rate: 1 ``base`` buys ``rate`` ``currency``."""

    base: Currency
    currency: Currency
    rate: Rate

    @model_validator(mode="after")
    def _two_currencies(self) -> FxRate:
        if self.base == self.currency:
            raise ValueError(f"base and currency are both {self.base}")
        return self

    def to_event(self) -> e.FxRate:
        return e.FxRate(self.event_id, event_seconds(self.event_time), None, self.base,
                        self.currency, float(self.rate))


class CountryRisk(_Record):
    """A country's risk grade from its date: 0 (lowest risk) to 7 (highest)."""

    country: Country
    grade: Grade  # type: ignore[valid-type]
    source: Text | None = None

    def to_event(self) -> e.CountryRisk:
        return e.CountryRisk(self.event_id, event_seconds(self.event_time), None, self.country,
                             self.grade)


class IndustryRisk(_Record):
    """An industry's risk grade from its date: 0 (lowest risk) to 7 (highest)."""

    industry: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    grade: Grade  # type: ignore[valid-type]
    source: Text | None = None

    def to_event(self) -> e.IndustryRisk:
        return e.IndustryRisk(self.event_id, event_seconds(self.event_time), None,
                              self.industry, self.grade)


class News(_Record):
    customer_id: Id | None = None
    company_name: Annotated[StrictStr, Field(min_length=1)] | None = None
    headline: Text
    source: Text
    body: Text | None = None
    url: Text | None = None
    language: Text | None = None
    categories: list[StrictStr] = []
    sentiment: Annotated[float, Field(strict=True, ge=-1.0, le=1.0)] | None = None
    lei: CompanyId | None = None
    registry_id: CompanyId | None = None
    vat_id: CompanyId | None = None

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, categories: list[str]) -> list[str]:
        """The categories the monitor knows, in lower case (``Insolvency`` is
        ``insolvency``); others are left out. An item with categories is not read for its
        headline, so a tag of another vendor's scheme (``bankruptcy``) kept as it came would
        weigh nothing and hide what the headline says; with no known category left, the
        item is read as untagged."""
        known = (category.strip().lower() for category in categories)
        return list(dict.fromkeys(c for c in known if c in NEWS_CATEGORIES))

    @model_validator(mode="after")
    def _names_a_company(self) -> News:
        if self.customer_id is None and self.company_name is None and not (
                self.lei or self.registry_id or self.vat_id):
            raise ValueError("news needs customer_id or company_name (or an identifier: lei, "
                             "registry_id, vat_id)")
        return self

    def to_event(self) -> e.NewsItem:
        return e.NewsItem(self.event_id, event_seconds(self.event_time), self.customer_id,
                          self.company_name, self.headline, self.source,
                          tuple(self.categories), _num(self.sentiment), self.language,
                          self.lei, self.registry_id, self.vat_id)


Status = Literal["active", "insolvency_filed", "administration", "restructuring", "liquidation",
                 "dissolved", "struck_off"]


class _RegistryRecord(_Record):
    customer_id: Id


class StatusChange(_RegistryRecord):
    type: Literal["status_change"]
    status: Status

    def to_event(self) -> e.StatusChange:
        return e.StatusChange(self.event_id, event_seconds(self.event_time), self.customer_id,
                              self.status)


class Financials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    revenue: SignedAmount | None = None
    ebit: SignedAmount | None = None
    net_income: SignedAmount | None = None
    total_assets: Amount | None = None
    total_liabilities: Amount | None = None
    current_assets: Amount | None = None
    current_liabilities: Amount | None = None
    retained_earnings: SignedAmount | None = None
    equity: SignedAmount | None = None
    cash: SignedAmount | None = None
    working_capital: SignedAmount | None = None
    interest_expense: SignedAmount | None = None
    operating_cash_flow: SignedAmount | None = None
    short_term_liabilities: Amount | None = None
    inventory: Amount | None = None
    receivables: Amount | None = None


class AccountsFiled(_RegistryRecord):
    type: Literal["accounts_filed"]
    period_end: Date
    currency: Currency | None = None
    financials: Financials = Financials()
    ratios: dict[StrictStr, Ratio] = {}

    def to_event(self) -> e.AccountsFiled:
        figures = tuple((k, float(v)) for k, v in self.financials if v is not None)
        ratios = tuple((k, float(v)) for k, v in self.ratios.items())
        return e.AccountsFiled(self.event_id, event_seconds(self.event_time), self.customer_id,
                               date_day(self.period_end), figures, ratios)


class AccountsOverdue(_RegistryRecord):
    type: Literal["accounts_overdue"]
    period_end: Date

    def to_event(self) -> e.AccountsOverdue:
        return e.AccountsOverdue(self.event_id, event_seconds(self.event_time),
                                 self.customer_id, date_day(self.period_end))


class DirectorChange(_RegistryRecord):
    type: Literal["director_change"]
    change: Literal["appointed", "resigned"]
    role: Text | None = None

    def to_event(self) -> e.DirectorChange:
        return e.DirectorChange(self.event_id, event_seconds(self.event_time), self.customer_id,
                                self.change, self.role)


class CapitalChange(_RegistryRecord):
    type: Literal["capital_change"]
    delta: SignedAmount
    currency: Currency

    def to_event(self) -> e.CapitalChange:
        return e.CapitalChange(self.event_id, event_seconds(self.event_time), self.customer_id,
                               float(self.delta), self.currency)


class CourtJudgment(_RegistryRecord):
    type: Literal["court_judgment"]
    amount: Amount
    currency: Currency
    kind: Text | None = None

    def to_event(self) -> e.CourtJudgment:
        return e.CourtJudgment(self.event_id, event_seconds(self.event_time), self.customer_id,
                               float(self.amount), self.currency, self.kind)


class RatingChange(_RegistryRecord):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False,
                              populate_by_name=True)

    type: Literal["rating_change"]
    agency: Text
    from_: Text | None = Field(default=None, alias="from")
    to: Text

    def to_event(self) -> e.RatingChange:
        return e.RatingChange(self.event_id, event_seconds(self.event_time), self.customer_id,
                              self.agency, self.from_, self.to)


class Outcome(BaseModel):
    """Ground truth for evaluation only; the monitor never reads it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    customer_id: Id
    default_date: Annotated[date, Field(strict=False)] | None = None
    kind: StrictStr | None = None


PaymentRecord = Annotated[Invoice | Payment | CreditNote | WriteOff | Tradeline,
                          Field(discriminator="type")]
RegistryRecord = Annotated[
    StatusChange | AccountsFiled | AccountsOverdue | DirectorChange | CapitalChange
    | CourtJudgment | RatingChange,
    Field(discriminator="type"),
]
ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "fx": TypeAdapter(FxRate),
    "country_risk": TypeAdapter(CountryRisk),
    "industry_risk": TypeAdapter(IndustryRisk),
    "customers": TypeAdapter(Customer),
    "payments": TypeAdapter(PaymentRecord),
    "news": TypeAdapter(News),
    "registry": TypeAdapter(RegistryRecord),
}
"""The wire model of each feed (also the source of the published JSON Schemas)."""


def parse_record(feed: str, raw: bytes) -> e.Event:
    """Parse one raw record of ``feed`` into a core event; raise `ContractError` saying why
    it is not a valid contract-v1 record."""
    adapter = ADAPTERS.get(feed)
    if adapter is None:
        raise ContractError("unknown_feed", f"no feed named {feed!r} in contract v1")
    if len(raw) > MAX_RECORD_BYTES:
        raise ContractError("too_large", f"record of {len(raw)} bytes exceeds {MAX_RECORD_BYTES}")
    try:
        record = adapter.validate_json(raw)
    except ValidationError as exc:
        raise _contract_error(exc, raw) from None
    if (b"NaN" in raw or b"Infinity" in raw) and _has_non_json_number(raw):
        raise ContractError("invalid_json", "NaN and Infinity are not JSON numbers")
    return record.to_event()


def stated_ids(raw: bytes) -> tuple[str | None, str | None]:
    """The ``event_id`` and ``customer_id`` a rejected record states, where it is a JSON
    object giving them as strings of a valid id's length that can be written, so that its
    dead letter names them; else None."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it reads
        return None, None
    if not isinstance(record, dict):
        return None, None
    return tuple(  # type: ignore[return-value]
        value if isinstance(value, str) and 0 < len(value) <= ID_MAX_LENGTH and _encodable(value)
        else None
        for value in (record.get("event_id"), record.get("customer_id")))


def _encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (JSON's ``\\ud800`` escape reads as a lone
    surrogate, which cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _an_object(raw: bytes) -> bool:
    """Whether ``raw`` is a JSON object, whatever the size of its numbers (only asked of
    records the parser refused for a number out of its range)."""
    try:
        return isinstance(json.loads(raw, parse_int=float), dict)
    except (ValueError, RecursionError):
        return False


def _reject_constant(name: str) -> None:
    raise ValueError(name)


def _has_non_json_number(raw: bytes) -> bool:
    """Whether a record the contract accepted carries a NaN or Infinity literal in a field
    it ignores (the parser tolerates them; JSON does not). Only asked of records whose bytes
    spell one, so valid records pay nothing."""
    try:
        json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        return True
    return False


def _contract_error(error: ValidationError, raw: bytes) -> ContractError:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    if first["type"] == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return ContractError("not_utf8", str(exc))
        if "number out of range" in first["msg"] and _an_object(raw):  # more digits than
            return ContractError("schema", f"{first['msg'].removeprefix('Invalid JSON: ')}: "
                                           "no field takes a number that large")
        return ContractError("invalid_json", first["msg"])
    if first["type"] in ("model_type", "dict_type") and not first["loc"]:
        return ContractError("invalid_json", "a record must be a JSON object")
    if any("contract_version" in p["loc"] for p in problems) or _other_version(raw):
        return ContractError("unknown_version", "contract_version is not '1'")
    return ContractError("schema", "; ".join(_describe(p) for p in problems[:MAX_PROBLEMS]))


MAX_PROBLEMS = 5
"""Problems named in a schema error at most (a hostile record can have thousands)."""
_TAGS = {"union_tag_not_found": "type: missing (one of the feed's record types is required)",
         "union_tag_invalid": "type: not one of the feed's record types"}


def _other_version(raw: bytes) -> bool:
    """A record of another contract version, whatever else is wrong with it (only asked of
    records that failed, so the extra parse costs the valid ones nothing)."""
    if b"contract_version" not in raw:
        return False
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("contract_version", CONTRACT_VERSION) != "1"


def _describe(problem: Any) -> str:
    if problem["type"] in _TAGS:
        return _TAGS[problem["type"]]
    loc = problem["loc"]
    if loc and loc[0] in _TYPE_TAGS:
        loc = loc[1:]
    where = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] in ("string_pattern_mismatch", "string_type") and loc:
        message = _SHAPES.get(str(loc[-1]), message)
    return f"{where or 'record'}: {message}"


_SHAPES = {
    "event_time": "must be an RFC 3339 timestamp with an offset (2024-03-31T12:00:00Z) or a "
                  "date (2024-03-31)",
    **{name: "must be a YYYY-MM-DD date string"
       for name in ("issue_date", "due_date", "period_end")},
}
"""What the time and date fields must look like, said plainly (not as a pattern)."""


_TYPE_TAGS = frozenset(
    ("invoice", "payment", "credit_note", "write_off", "tradeline", "status_change",
     "accounts_filed", "accounts_overdue", "director_change", "capital_change",
     "court_judgment", "rating_change"))
"""The discriminator tags pydantic puts first in an error's location: dropped, since the
record's own ``type`` already says it."""
