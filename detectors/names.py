"""Company names reduced for matching news to customers.

`parse_name` folds a name (Unicode compatibility forms, case, German umlauts written out,
other Latin letters transliterated to ASCII, punctuation dropped, dotted abbreviations
joined) and takes its legal form off the end, mapped to one canonical code
(`detectors.news.legalforms`). What is left is the name's *core*. Chinese names keep their
characters and are also taken apart into region, trade name and industry words
(`detectors.news.chinese`), with the pinyin of the core for matching Latin spellings.

>>> parse_name("Hollis Metalworks Gesellschaft mit beschränkter Haftung")
Name(core='hollis metalworks', form='gmbh', region=None, chinese=None)
>>> parse_name("  HOLLIS   metalworks, g.m.b.h").core, parse_name("Müller & Söhne AG").core
('hollis metalworks', 'mueller soehne')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode

from detectors.news.chinese import ChineseName, has_cjk, split_chinese
from detectors.news.legalforms import LATIN_FORMS, LONGEST_LATIN, WEAK_DESIGNATORS

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_DOTTED = re.compile(r"(?<![^\W\d_])([^\W\d_])\.(?=[^\W\d_]\b)")
"""A single letter and a dot before another single letter: g.m.b.h, s.p.a, b.v."""
_WORDS = re.compile(r"[0-9a-z]+|&")
_FILLER = frozenset({"&", "and", "und", "the", "et"})


@dataclass(frozen=True, slots=True)
class Name:
    """A name as the resolver compares it: its core, canonical legal form and region."""

    core: str
    form: str | None
    region: str | None
    chinese: ChineseName | None


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
"""A terminal control sequence (CSI), as hostile text carries them."""


def fold(text: str) -> str:
    """Text as names and headlines are compared: without what no reader sees (terminal
    colour codes, control characters as spaces, zero-width and other invisible format
    characters), compatibility forms and case folded, runs of white space made one space;
    scripts kept.

    >>> fold("\\x1b[1mP\\u200brosecutors\\x1b[0m examine  ACCOUNTING\\u200d")
    'prosecutors examine accounting'
    """
    kept = []
    for ch in unicodedata.normalize("NFKC", _ANSI.sub("", text)).casefold():
        kind = unicodedata.category(ch)
        if kind == "Cc":
            kept.append(" ")
        elif kind[0] != "C":
            kept.append(ch)
    return " ".join("".join(kept).split())


@lru_cache(maxsize=2048)
def parse_name(name: str) -> Name:
    """A company name as its core, legal form and (for Chinese names) region."""
    folded = fold(name)
    if has_cjk(folded):
        chinese = split_chinese(folded.replace(" ", ""))
        return Name(chinese.core, chinese.form, chinese.region, chinese)
    text = unidecode(folded.translate(_GERMAN)).lower()
    text = _DOTTED.sub(r"\1", text).replace(".", " ")
    words = _WORDS.findall(text)
    form = None
    for size in range(min(LONGEST_LATIN, len(words) - 1), 0, -1):
        tail = " ".join(words[-size:])
        if tail in LATIN_FORMS:
            form = LATIN_FORMS[tail]
            del words[-size:]
            break
    while len(words) > 1 and words[-1] in WEAK_DESIGNATORS | _FILLER:
        words.pop()
    core = " ".join(w for w in words if w not in _FILLER) or " ".join(words)
    return Name(core, form, None, None)


def normalize_name(name: str) -> str:
    """A company name's core: case, accents, punctuation and legal form dropped.

    >>> normalize_name("Hollis Metalworks GmbH"), normalize_name("华美精密机械股份有限公司")
    ('hollis metalworks', '华美精密机械')
    """
    return parse_name(name).core
