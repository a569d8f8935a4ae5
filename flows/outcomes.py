"""The portfolio's outcomes (``outcomes.jsonl``, one line per customer with its
``default_date`` or none): the truth that `evaluate` and `backtest` hold warnings against."""

from __future__ import annotations

import json
from pathlib import Path

from config.errors import ConfigError
from detectors.clock import parse_time, to_seconds
from flows.jsonl import DAMAGED


def load_defaults(outcomes: Path) -> dict[str, int | None]:
    """customer id -> default time (None: did not default in the period; a date is its day's
    00:00 UTC, a time with an offset that moment). A file that cannot be read, or a line
    that is no outcome (not UTF-8 or not JSON, without a customer id, with a default date
    that is no date), is an error naming them: figures measured on part of the truth would
    mislead."""
    try:
        data = outcomes.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the outcomes {outcomes}: {exc.strerror}") from None
    defaults: dict[str, int | None] = {}
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
            customer, when = row["customer_id"], row.get("default_date")
            if not isinstance(customer, str):
                raise TypeError("customer_id is not text")
            defaults[customer] = to_seconds(parse_time(when)) if when else None
        except DAMAGED as exc:
            raise ConfigError(f"{outcomes}, line {number}: not an outcome "
                              f"({type(exc).__name__}: {exc})"[:500]) from None
    return defaults
