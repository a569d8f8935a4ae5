"""Company identifiers, written one way: LEI, national registry number, VAT id.

An identifier settles who a news item is about before any name is compared: the same value
on an item and a customer is the same company, a different value of the same kind is a
different company. Values are compared in one spelling (upper case, letters and digits
only), and an LEI must pass its ISO 17442 check digits (a mistyped LEI is ignored rather
than trusted).

>>> lei("529900T8BM49AURSDO55"), lei("529900T8BM49AURSDO56")
('529900T8BM49AURSDO55', None)
>>> plain("HRB 12345"), plain("de 123.456.789")
('HRB12345', 'DE123456789')
"""

from __future__ import annotations

import re

KINDS = ("lei", "registry_id", "vat_id")
"""Identifier kinds, strongest first."""
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_LEI = re.compile(r"^[0-9A-Z]{18}[0-9]{2}$")


def plain(value: str) -> str:
    """An identifier in one spelling: upper case, letters and digits only."""
    return _NOT_ALNUM.sub("", value.upper())


def lei(value: str) -> str | None:
    """A Legal Entity Identifier in plain spelling, or None if its check digits fail."""
    text = plain(value)
    if not _LEI.match(text):
        return None
    digits = "".join(str(int(ch, 36)) for ch in text)
    return text if int(digits) % 97 == 1 else None


def identifiers(lei_value: str | None, registry_id: str | None,
                vat_id: str | None) -> tuple[tuple[str, str], ...]:
    """The usable identifiers given, as (kind, plain value) pairs, strongest first."""
    found = []
    if lei_value and (value := lei(lei_value)):
        found.append(("lei", value))
    for kind, given in (("registry_id", registry_id), ("vat_id", vat_id)):
        if given and (value := plain(given)):
            found.append((kind, value))
    return tuple(found)
