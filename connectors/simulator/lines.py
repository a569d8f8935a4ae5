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
