"""Feed-controlled text made safe to show: no control, format or line-separator characters
(bidi overrides, zero-width marks, terminal escapes, U+2028), and no unbounded length.

HTML escaping itself is Jinja2's autoescape; this removes what escaping leaves dangerous or
misleading (a right-to-left override that reverses a name, an escape sequence that would
recolour a terminal a page was copied into).
"""

from __future__ import annotations

import unicodedata
from typing import Any

REPLACEMENT = "\ufffd"
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def plain(value: Any, limit: int = 200) -> str:
    """``value`` as text with hidden characters shown as U+FFFD and at most ``limit``
    characters (an ellipsis marks a cut).

    >>> plain("Acme\\u202eGmbH\\u001b[31m")
    'Acme\ufffdGmbH\ufffd[31m'
    >>> plain("x" * 10, limit=4)
    'xxxx…'
    """
    if value is None:
        return ""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isascii() and text.isprintable():
        return text
    return "".join(REPLACEMENT if unicodedata.category(ch) in _HIDDEN else ch for ch in text)
