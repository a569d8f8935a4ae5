"""Feed contract v1 (../shared/FEEDS.md) as strict pydantic models.

Every feed record is parsed here and nowhere else: `parse_record` turns raw bytes into a
typed event or raises `ContractError` with a reason a person can act on. Unknown extra
fields are kept (``extra="allow"``) and ignored, as the contract says.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from config.errors import ContractError
from connectors._codes import COUNTRIES, CURRENCIES

CONTRACT_VERSION = "1"
FEEDS = ("customers", "payments", "news", "registry")
MAX_RECORD_BYTES = 1_000_000
"""A record larger than this is rejected before JSON parsing (a 10 MB line is hostile)."""

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _event_time(value: Any) -> datetime:
    """RFC 3339 with an offset, or a bare date read as 00:00 UTC; anything else is an error."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp or a YYYY-MM-DD date string")
    return _parse_event_time(value)


@lru_cache(maxsize=4096)  # feeds repeat times and dates; only valid strings are remembered
def _parse_event_time(value: str) -> datetime:
    if _DATE.match(value):
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp with an offset, nor a date")
    parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    return parsed.astimezone(UTC)


def _plain_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("must be a YYYY-MM-DD date string")
    return _parse_date(value)


@lru_cache(maxsize=4096)  # due dates and period ends repeat across a feed's records
def _parse_date(value: str) -> date:
    if not _DATE.match(value):
        raise ValueError("must be a YYYY-MM-DD date string")
    return date.fromisoformat(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a decimal number (JSON number or numeric string)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be finite")
    try:
        parsed = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not parsed.is_finite() or not math.isfinite(float(parsed)):
        raise ValueError("must be a finite amount")
    return parsed


def _non_negative(value: Any) -> Decimal:
    parsed = _decimal(value)
    if parsed < 0:
        raise ValueError(f"must not be negative, got {parsed}")
    return parsed


def _currency(value: Any) -> str:
    if not isinstance(value, str) or value not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def _country(value: Any) -> str:
    if not isinstance(value, str) or value not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


EventTime = Annotated[datetime, BeforeValidator(_event_time)]
PlainDate = Annotated[date, BeforeValidator(_plain_date)]
Amount = Annotated[Decimal, BeforeValidator(_non_negative)]
SignedAmount = Annotated[Decimal, BeforeValidator(_decimal)]
Currency = Annotated[str, BeforeValidator(_currency)]
Country = Annotated[str, BeforeValidator(_country)]
Id = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: Id
    event_time: EventTime



class Customer(_Event):
    """Master data; the latest record per customer wins, in event time."""

    feed: Literal["customers"] = "customers"
    customer_id: Id
    name: Annotated[StrictStr, Field(min_length=1)]
    country: Country | None = None
    industry: StrictStr | None = None
    currency: Currency | None = None
    credit_limit: Amount | None = None
    insured_limit: Amount | None = None
    tags: list[StrictStr] = []
    aliases: list[StrictStr] = []


class _LedgerEvent(_Event):
    feed: Literal["payments"] = "payments"
    customer_id: Id
    invoice_id: Id
    amount: Amount
    currency: Currency


class Invoice(_LedgerEvent):
    type: Literal["invoice"]
    issue_date: PlainDate
    due_date: PlainDate

    @model_validator(mode="after")
    def _due_after_issue(self) -> Invoice:
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self


class Payment(_LedgerEvent):
    type: Literal["payment"]


class CreditNote(_LedgerEvent):
    type: Literal["credit_note"]


class WriteOff(_LedgerEvent):
    type: Literal["write_off"]


class Tradeline(_Event):
    """A periodic bank or bureau snapshot of the customer's account elsewhere."""

    feed: Literal["payments"] = "payments"
    type: Literal["tradeline"]
    customer_id: Id
    days_past_due: Annotated[StrictInt, Field(ge=0, le=100_000)]
    outstanding: Amount
    currency: Currency
    overdue: Amount | None = None
    credit_limit: Amount | None = None
    paid_in_period: Amount | None = None


class News(_Event):
    feed: Literal["news"] = "news"
    customer_id: Id | None = None
    company_name: Annotated[StrictStr, Field(min_length=1)] | None = None
    headline: StrictStr
    source: StrictStr
    body: StrictStr | None = None
    url: StrictStr | None = None
    language: StrictStr | None = None
    categories: list[StrictStr] = []
    sentiment: Annotated[float, Field(ge=-1.0, le=1.0, strict=False)] | None = None

    @model_validator(mode="after")
    def _names_a_company(self) -> News:
        if self.customer_id is None and self.company_name is None:
            raise ValueError("news needs customer_id or company_name")
        return self


class Status(StrEnum):
    ACTIVE = "active"
    INSOLVENCY_FILED = "insolvency_filed"
    ADMINISTRATION = "administration"
    RESTRUCTURING = "restructuring"
    LIQUIDATION = "liquidation"
    DISSOLVED = "dissolved"
    STRUCK_OFF = "struck_off"


DEFAULT_STATUSES = frozenset({Status.INSOLVENCY_FILED, Status.ADMINISTRATION, Status.LIQUIDATION})


class _RegistryEvent(_Event):
    feed: Literal["registry"] = "registry"
    customer_id: Id


class StatusChange(_RegistryEvent):
    type: Literal["status_change"]
    status: Status


class Financials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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


class AccountsFiled(_RegistryEvent):
    type: Literal["accounts_filed"]
    period_end: PlainDate
    currency: Currency | None = None
    financials: Financials = Financials()
    ratios: dict[StrictStr, Annotated[float, Field(allow_inf_nan=False)]] = {}


class AccountsOverdue(_RegistryEvent):
    type: Literal["accounts_overdue"]
    period_end: PlainDate


class DirectorChange(_RegistryEvent):
    type: Literal["director_change"]
    change: Literal["appointed", "resigned"]
    role: StrictStr | None = None


class CapitalChange(_RegistryEvent):
    type: Literal["capital_change"]
    delta: SignedAmount
    currency: Currency


class CourtJudgment(_RegistryEvent):
    type: Literal["court_judgment"]
    amount: Amount
    currency: Currency
    kind: StrictStr | None = None


class RatingChange(_RegistryEvent):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    type: Literal["rating_change"]
    agency: StrictStr
    from_: StrictStr | None = Field(default=None, alias="from")
    to: StrictStr


class Outcome(BaseModel):
    """Ground truth for evaluation only; the monitor never reads it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    customer_id: Id
    default_date: PlainDate | None = None
    kind: StrictStr | None = None


PaymentEvent = Annotated[
    Invoice | Payment | CreditNote | WriteOff | Tradeline, Field(discriminator="type")
]
RegistryEvent = Annotated[
    StatusChange
    | AccountsFiled
    | AccountsOverdue
    | DirectorChange
    | CapitalChange
    | CourtJudgment
    | RatingChange,
    Field(discriminator="type"),
]
Event = Customer | PaymentEvent | News | RegistryEvent

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "customers": TypeAdapter(Customer),
    "payments": TypeAdapter(PaymentEvent),
    "news": TypeAdapter(News),
    "registry": TypeAdapter(RegistryEvent),
}


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where or 'record'}: {item['msg']}")
    return "; ".join(parts)


_DECODER = json.JSONDecoder(parse_float=Decimal)
"""Numbers with a fraction stay exact decimals; one decoder, as `json.loads` builds one a call."""


def parse_record(feed: str, raw: bytes | str) -> Event:
    """Parse one raw record of ``feed``; raise `ContractError` saying why it is not valid v1."""
    if feed not in _ADAPTERS:
        raise ContractError("unknown_feed", f"no feed named {feed!r} in contract v1")
    if len(raw) > MAX_RECORD_BYTES:
        raise ContractError("too_large", f"record of {len(raw)} bytes exceeds {MAX_RECORD_BYTES}")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ContractError("not_utf8", str(exc)) from exc
    try:
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting
        raise ContractError("invalid_json", str(exc) or "nested too deeply") from exc
    if not isinstance(obj, dict):
        raise ContractError("invalid_json", "a record must be a JSON object")
    version = obj.get("contract_version", CONTRACT_VERSION)
    if version != CONTRACT_VERSION:
        raise ContractError("unknown_version", f"contract_version {version!r} is not supported")
    try:
        return _ADAPTERS[feed].validate_python(obj)
    except ValidationError as exc:
        raise ContractError("schema", _describe(exc)) from exc
    except (ArithmeticError, RecursionError) as exc:  # e.g. year 1 shifted before UTC's start
        raise ContractError("schema", f"{type(exc).__name__}: {exc}") from exc

