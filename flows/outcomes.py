"""The portfolio's outcomes (``outcomes.jsonl``, one line per customer with its
``default_date`` or none): the truth that `evaluate`, `backtest` and `learn-news` hold
warnings and news against."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from detectors.clock import seconds_of
from flows.jsonl import DAMAGED, DamagedLine, numbered_rows, problem_of


def load_defaults(outcomes: Path) -> dict[str, int | None]:
    """customer id -> default time (None: did not default in the period; a date is its day's
    00:00 UTC, a time with an offset that moment). A file that cannot be read, or a line
    that is no outcome (not UTF-8 or not JSON, without a customer id, without the
    ``default_date`` key, null for a customer that did not default, or with a default date
    that is no date, a key given twice, or a customer given twice), is an error naming
    them: figures measured on part of the truth, or on another file taken for outcomes (a
    run's warnings.jsonl), would mislead."""
    try:
        found: dict[str, int | None] = {}
        first_line: dict[str, int] = {}
        for number, row in numbered_rows(outcomes, unique_keys=True):
            customer, when = _outcome(outcomes, number, row)
            if customer in found:
                raise DamagedLine(outcomes, number, f"customer {customer!r} again (first at "
                                  f"line {first_line[customer]}): one line per customer")
            found[customer], first_line[customer] = when, number
        return found
    except OSError as exc:
        raise ConfigError(f"cannot read the outcomes {outcomes}: {exc.strerror}") from None
    except DamagedLine as exc:
        raise ConfigError(f"{outcomes}, line {exc.number}: not an outcome "
                          f"({exc.problem})"[:500]) from None


def _outcome(path: Path, number: int, row: dict[str, Any]) -> tuple[str, int | None]:
    """One line of the outcomes as (customer id, default time); a `DamagedLine` if it is
    none."""
    try:
        customer, when = row["customer_id"], row["default_date"]
        if not isinstance(customer, str):
            raise TypeError("customer_id is not text")
        if when is not None and not isinstance(when, str):
            raise TypeError("default_date is neither a date nor null")
        return customer, None if when is None else seconds_of(when)
    except DAMAGED as exc:
        raise DamagedLine(path, number, problem_of(exc)) from None


def require_outcomes(customers: Collection[str], outcomes: Mapping[str, Any],
                     source: str) -> None:
    """Refuse outcomes (from ``source``) without a line for every customer of a run: an
    outcomes file of another book, or of part of this one, would give figures as confident
    as wrong ones (no defaulter, every warning false). Lines of others are ignored."""
    missing = sorted(set(customers) - outcomes.keys())
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise ConfigError(f"{len(missing)} of the run's {len(set(customers))} customers have "
                          f"no line in {source} ({shown}): are they this book's?")


def default_days(outcomes: Path) -> dict[str, date | None]:
    """customer id -> the day in UTC it defaulted on (None: did not default), read by
    `load_defaults`: a default is counted on its day in UTC, as warnings are."""
    return {customer: None if at is None else datetime.fromtimestamp(at, UTC).date()
            for customer, at in load_defaults(outcomes).items()}
