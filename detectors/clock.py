"""Event time as integer seconds since the epoch (UTC), and the calendar steps we need.

Integers keep per-customer state small and make every comparison exact; nothing here reads
the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache

DAY = 86_400
DAYS_PER_MONTH = 365.25 / 12
"""An average calendar month, for spans counted in months rather than month steps."""


def to_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime."""
    return int(moment.timestamp())


EARLIEST = to_seconds(datetime(1900, 1, 1, tzinfo=UTC))
LATEST = to_seconds(datetime(9999, 1, 1, tzinfo=UTC))


def within_years(seconds: int) -> bool:
    """Whether a time lies in the years the clock steps through: from 1900 (no feed's event
    time is older) to before 9999 (stepping months and horizons past it would overflow)."""
    return EARLIEST <= seconds < LATEST


def parse_time(text: str) -> datetime:
    """An ISO 8601 time or date as an aware datetime; without an offset it is UTC (event times
    are UTC by contract). Raises ValueError if ``text`` is neither.

    >>> parse_time("2024-03-31")
    datetime.datetime(2024, 3, 31, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_time("2024-03-31T12:00:00Z") == parse_time("2024-03-31T14:00+02:00")
    True

    A leap second (``23:59:60Z``, RFC 3339's last second of a UTC day) is read as the
    second before it, on its own day.

    >>> parse_time("2016-12-31T23:59:60Z") == parse_time("2017-01-01T00:59:59+01:00")
    True
    """
    leap = text[16:19] == ":60"
    moment = datetime.fromisoformat(f"{text[:17]}59{text[19:]}" if leap else text)
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if leap:
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:  # before year 1 or after 9999 in UTC
            raise ValueError(f"{text!r} is outside the years UTC can hold") from None
        if utc.time().replace(microsecond=0) != time(23, 59, 59):
            raise ValueError("second 60 is a leap second, the last second of a UTC day")
    return moment


@lru_cache(maxsize=4096)  # event times repeat (dates, month ends)
def seconds_of(text: str) -> int:
    """An ISO 8601 time or date (`parse_time`) as event-time seconds."""
    return to_seconds(parse_time(text))


def utc_day(text: str) -> date:
    """The day in UTC of an ISO 8601 time or date (`parse_time`): the day a warning, a
    reading or a default counts on.

    >>> utc_day("2024-03-31T23:30:00-02:00")
    datetime.date(2024, 4, 1)
    """
    return parse_time(text).astimezone(UTC).date()


def to_rfc3339(seconds: int) -> str:
    """``2024-03-31T00:00:00Z`` for a time in seconds."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(seconds: int) -> int:
    """The event-time day number (days since the epoch)."""
    return seconds // DAY


def next_month_start(seconds: int) -> int:
    """The first instant of the month after the one ``seconds`` falls in.

    >>> to_rfc3339(next_month_start(to_seconds(datetime(2024, 12, 15, tzinfo=UTC))))
    '2025-01-01T00:00:00Z'
    """
    moment = datetime.fromtimestamp(seconds, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return to_seconds(datetime(year, month, 1, tzinfo=UTC))


@lru_cache(maxsize=8192)  # asked of month-end times, over and over, on every event
def add_months(seconds: int, months: int) -> int:
    """Same day-of-month ``months`` later (clamped to the month's last day).

    >>> to_rfc3339(add_months(to_seconds(datetime(2024, 1, 31, tzinfo=UTC)), 1))
    '2024-02-29T00:00:00Z'
    """
    moment = datetime.fromtimestamp(seconds, UTC)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return to_seconds(moment.replace(year=year, month=month, day=day))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def month_start(month: int) -> int:
    """The first instant of running month ``month`` (`months_since_epoch`'s numbering).

    >>> to_rfc3339(month_start(months_since_epoch(to_seconds(datetime(2024, 3, 9, tzinfo=UTC)))))
    '2024-03-01T00:00:00Z'
    """
    return to_seconds(datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC))


def months_since_epoch(seconds: int) -> int:
    """The calendar month of a time as a running number (1970-01 is 0)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return (moment.year - 1970) * 12 + moment.month - 1
