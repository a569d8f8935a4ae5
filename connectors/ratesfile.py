"""A central bank's published reference rates, from its CSV file into fx feed records.

The layout is the European Central Bank's (``eurofxref-hist.csv``), which many central
banks share: a ``Date`` column, then one column per currency holding how much of it one unit
of the base currency buys on that day; ``N/A`` or an empty cell where there was no rate.
Rows may come newest first: the records are written in date order, as a feed must be.
Columns of currencies ISO 4217 no longer lists (the file keeps the euro's predecessors) are
left out and named; a cell that is no rate (not a number from 1e-9 to 1e9) is left to the
contract, which dead-letters its record with the reason. A row with more filled cells than
the header names (a comma decimal, ``1,08``, splits a cell in two), a date given twice and
a currency column given twice are refused, naming the line: each would write a rate nobody
gave.

>>> text = "Date,USD,JPY,CYP,\\n2024-03-04,1.0845,N/A,N/A,\\n2024-03-01,1.0830,162.5,N/A,\\n"
>>> records, skipped = read_rates(text, "EUR")
>>> [(r["event_time"], r["currency"], r["rate"]) for r in records]  # doctest: +NORMALIZE_WHITESPACE
[('2024-03-01', 'USD', '1.0830'), ('2024-03-01', 'JPY', '162.5'),
 ('2024-03-04', 'USD', '1.0845')]
>>> skipped
['CYP']
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from config.codes import CURRENCIES
from config.errors import ConfigError

MISSING = frozenset({"", "N/A", "NA", "-"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def read_rates(text: str, base: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The fx feed records of a reference-rate CSV whose rates are quoted against ``base``,
    and the columns left out; a malformed file is a `ConfigError` naming the line."""
    if base not in CURRENCIES:
        raise ConfigError(f"{base!r} is not an ISO 4217 currency code")
    rows = _rows(text)
    header = next(rows, (1, []))[1]
    if not header or header[0].strip().lower() != "date":
        raise ConfigError("the first column of a reference-rate file must be 'Date'")
    currencies = [name.strip() for name in header[1:]]
    twice = sorted({name for name in currencies if name and currencies.count(name) > 1})
    if twice:
        raise ConfigError(f"line 1: the columns {', '.join(twice)} are given twice")
    skipped = [name for name in currencies if name and name not in CURRENCIES]
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if not row or not row[0].strip():
            continue
        day = _day(row[0].strip(), line)
        if day in seen:
            raise ConfigError(f"line {line}: {day} again (first at line {seen[day]})")
        seen[day] = line
        if any(cell.strip() for cell in row[len(header):]):  # (an empty last cell is none)
            raise ConfigError(f"line {line}: {len(row)} cells where the header names "
                              f"{len(header)} columns (a decimal comma? write 1.08, not 1,08)")
        for currency, cell in zip(currencies, row[1:], strict=False):
            value = cell.strip()
            if not currency or value in MISSING or currency == base or currency in skipped:
                continue
            records.append({"event_id": f"fx-{day}-{base}-{currency}", "event_time": day,
                            "base": base, "currency": currency, "rate": value})
    records.sort(key=lambda r: r["event_time"])  # stable: a day keeps the file's columns
    return records, skipped


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The file's rows with their line numbers; a row the CSV reader refuses (a field
    larger than its limit, a NUL) is a `ConfigError` naming the line."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ConfigError(f"line {reader.line_num}: not a CSV row ({exc})") from None
        yield reader.line_num, row


def _day(text: str, line: int) -> str:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"line {line}: {text[:20]!r} is not a date (YYYY-MM-DD)") from None
