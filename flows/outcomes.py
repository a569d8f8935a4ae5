"""The portfolio's outcomes (``outcomes.jsonl``, one line per customer with its
``default_date`` or none): the truth that `evaluate` and `backtest` hold warnings against."""

from __future__ import annotations

import json
from pathlib import Path

from config.errors import ConfigError
from detectors.clock import parse_time, to_seconds
from flows.jsonl import DAMAGED


def load_defaults(outcomes: Path) -> dict[str, int | None]:
    """customer id -> default time (None: did not default in the period). A line that is no
    outcome (not JSON, without a customer id, with a default date that is no date) is an
    error naming its line: figures measured on part of the truth would mislead."""
    defaults: dict[str, int | None] = {}
    with outcomes.open(encoding="utf-8", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                customer, when = row["customer_id"], row.get("default_date")
                if not isinstance(customer, str):
                    raise TypeError("customer_id is not text")
                defaults[customer] = to_seconds(parse_time(when)) if when else None
            except DAMAGED as exc:
                raise ConfigError(f"{outcomes}, line {number}: not an outcome "
                                  f"({type(exc).__name__}: {exc})") from None
    return defaults
