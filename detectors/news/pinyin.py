"""Latin spellings of Chinese names, from pypinyin's table of single characters.

The press spells 重庆长青化工 "Chongqing Changqing Chemical": which reading of 重 and 长 is
meant depends on the words around them, which pypinyin knows from a phrase dictionary of
hundreds of megabytes in memory and seconds to load. Names are short, so `spellings` instead
gives every toneless reading of each character (a bounded number of combinations), and a
Latin name matches when it is any of them. Only pypinyin's table of single characters is
read (a few megabytes), and only when a Chinese name is first spelled: a run that never
meets one never loads it.

>>> spellings("重庆长青")[0], len(spellings("重庆长青"))
('zhongqingzhangqing', 12)
>>> "chongqingchangqing" in spellings("重庆长青")
True
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from functools import cache, lru_cache
from itertools import product
from pathlib import Path

MAX_SPELLINGS = 32
"""A name with more combinations of readings than this keeps the first ones (first readings
first): enough for the two or three heteronyms a company name has."""


@cache
def _table() -> dict[str, str]:
    """pypinyin's readings of single characters by code point, as its package ships them
    (read from its data file: importing pypinyin would load the phrase dictionary too)."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or spec.origin is None:
        raise RuntimeError("pypinyin is not installed: Chinese names cannot be spelled")
    path = Path(spec.origin).parent / "pinyin_dict.json"
    table: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return table


@lru_cache(maxsize=16384)
def _readings(ch: str) -> tuple[str, ...]:
    """A character's toneless readings, most common first (ü written both v and u); a
    character without any is its own reading."""
    value = _table().get(str(ord(ch)))
    if value is None:
        return (ch,)
    out: dict[str, None] = {}
    for reading in value.split(","):
        letters: list[str] = []
        for ch in unicodedata.normalize("NFD", reading.strip()):
            if ch == "\u0308":  # the diaeresis of ü, written v
                letters[-1] = "v"
            elif not unicodedata.combining(ch):
                letters.append(ch)
        plain = "".join(letters)
        out[plain] = None
        out[plain.replace("v", "u")] = None
    return tuple(out)


@lru_cache(maxsize=8192)
def spellings(text: str) -> tuple[str, ...]:
    """The toneless pinyin spellings of ``text`` run together (characters without a
    reading kept as they are), the one of every character's first reading first."""
    options = [_readings(ch) for ch in text]
    out: list[str] = []
    for combination in product(*options):
        out.append("".join(combination))
        if len(out) == MAX_SPELLINGS:
            break
    return tuple(out)
