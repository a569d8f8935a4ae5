"""Deterministic JSON-line formatting shared by the feed generators.

Lines are built with string formatting, not ``json.dumps`` per record, because the ledger has
millions of them. Every line starts with ``event_time`` then ``event_id``, so sorting the lines
as strings sorts a file by (event_time, event_id) as long as one feed uses one time format.
"""

from __future__ import annotations

import json


def money(cents: int) -> str:
    """Format integer cents as a quoted JSON decimal string with two places: ``"1234.50"``."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f'"{sign}{cents // 100}.{cents % 100:02d}"'


def text(value: str) -> str:
    """Quote free text (names, headlines) as a JSON string, keeping non-ASCII readable."""
    return json.dumps(value, ensure_ascii=False)


def texts(values: list[str]) -> str:
    """Quote a list of strings as a JSON array."""
    return "[" + ",".join(text(v) for v in values) + "]"


def head(event_time: str, event_id: str, customer_id: str | None) -> str:
    """The leading fields every event line shares (without the closing brace)."""
    line = f'{{"event_time":"{event_time}","event_id":"{event_id}"'
    return line if customer_id is None else f'{line},"customer_id":"{customer_id}"'


def customer(
    event_time: str, event_id: str, customer_id: str, name: str, country: str, currency: str,
    credit_limit: int, *, industry: str | None = None, insured_limit: int | None = None,
    tags: list[str] | None = None, aliases: list[str] | None = None,
) -> str:
    """A master-data line; amounts in cents, optional fields written only when given."""
    industry_field = "" if industry is None else f',"industry":{text(industry)}'
    insured = "" if insured_limit is None else f',"insured_limit":{money(insured_limit)}'
    tag_field = "" if tags is None else f',"tags":{texts(tags)}'
    alias_field = f',"aliases":{texts(aliases)}' if aliases else ""
    return (
        head(event_time, event_id, customer_id)
        + f',"name":{text(name)},"country":"{country}"{industry_field},"currency":"{currency}",'
        f'"credit_limit":{money(credit_limit)}{insured}{tag_field}{alias_field}}}'
    )


def tradeline(
    event_time: str, event_id: str, customer_id: str, days_past_due: int,
    outstanding: int | None, currency: str, *, overdue: int | None = None,
    credit_limit: int | None = None, paid_in_period: int | None = None,
) -> str:
    """A bank or bureau snapshot line; amounts in cents, optional fields only when given,
    and the currency only with an amount (a status alone has none)."""
    balance = "" if outstanding is None else f',"outstanding":{money(outstanding)}'
    optional = "".join(
        f',"{key}":{money(value)}'
        for key, value in (("overdue", overdue), ("credit_limit", credit_limit),
                           ("paid_in_period", paid_in_period))
        if value is not None
    )
    priced = f',"currency":"{currency}"' if balance or optional else ""
    return (
        head(event_time, event_id, customer_id)
        + f',"type":"tradeline","days_past_due":{days_past_due}{balance}{priced}{optional}}}'
    )


def outcome(
    customer_id: str, default_date: str | None, kind: str | None = None, path: str | None = None
) -> str:
    """An outcomes.jsonl line: the customer's first default (date and kind) or nulls; ``path``
    (gradual or sudden) is the generator's own account of how it got there."""
    if default_date is None:
        return f'{{"customer_id":"{customer_id}","default_date":null,"kind":null}}'
    return (
        f'{{"customer_id":"{customer_id}","default_date":"{default_date}",'
        f'"kind":"{kind}","path":"{path}"}}'
    )
