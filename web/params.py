"""Numbers typed into a query or a form, read as a person writes them.

Python's own readers accept more than a person means: ``int("1_000")`` is 1000,
``float("nan")``, ``float("inf")`` and ``float("1e3")`` are numbers, and surrounding
whitespace or a trailing NUL pass unnoticed. A workspace reads digits, an optional sign
and an optional decimal point, and nothing else.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})")


def whole_number(text: str | None) -> int | None:
    """``text`` as a whole number of at most 18 digits, or None.

    >>> whole_number("42"), whole_number("1_000"), whole_number("4\\x00"), whole_number("")
    (42, None, None, None)
    """
    return int(text) if text is not None and _WHOLE.fullmatch(text) else None


def decimal(text: str | None) -> float | None:
    """``text`` as a decimal number (sign, digits, point), or None.

    >>> decimal("-12.50"), decimal(".5"), decimal("1e3"), decimal("nan"), decimal("1_000")
    (-12.5, 0.5, None, None, None)
    """
    return float(text) if text is not None and _DECIMAL.fullmatch(text) else None
