"""Company names reduced for matching news to customers."""

from __future__ import annotations

import re
import unicodedata

LEGAL_SUFFIXES = frozenset(
    """
    ab ag as bv co corp gmbh inc kg kgaa limited llc llp ltd nv oy plc sa sarl sas se
    spa sp srl
    """.split()
)


def normalize_name(name: str) -> str:
    """A company name reduced for matching: case, accents, punctuation, legal form dropped.

    >>> normalize_name("Hollis Metalworks GmbH"), normalize_name("  HOLLIS   metalworks, g.m.b.h")
    ('hollis metalworks', 'hollis metalworks')
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"(?<=\b\w)\.(?=\w\b)", "", text)  # g.m.b.h -> gmbh
    words = re.sub(r"[^a-z0-9]+", " ", text.replace(".", "")).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)
