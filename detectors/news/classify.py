"""Reading a headline: its categories and sentiment, from rules and a learning model.

The baseline is the lexicon (`detectors.news.lexicon`): every rule that fires is kept with
the reading, so an analyst sees why. The text model (`detectors.news.model`), once trained
on analysts' corrections, adds a category it is sure of (probability at least ``add_at``)
and removes a rule's category it is sure is wrong (at most ``veto_at``); its distress head,
trained on outcomes, gives an untagged headline that no rule explains a negative tone when
it is sure. A headline an analyst corrected is read as corrected.

The reading never overrides the feed: `Reader.effective` takes the feed's categories and
sentiment when it gives them, and the reading only for what is missing.

>>> reader = HeadlineReader()
>>> reading = reader.read("Hollis Metalworks files for insolvency amid fraud probe", "en")
>>> reading.categories, reading.sentiment, reading.by
(('insolvency', 'fraud'), -0.9, 'rules')
>>> reader.read("华美精密否认破产传闻", None).categories
()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from detectors.names import fold
from detectors.news import lexicon as lx
from detectors.news.chinese import has_cjk
from detectors.news.model import DISTRESS, HeadlineModel


def _expand(pattern: str) -> str:
    return pattern.replace("<w>", lx.WORD)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_expand(p)})" for p in patterns))


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    pattern: re.Pattern[str] | None
    phrase: str


_ENGLISH = tuple(_Rule(c, re.compile(rf"\b(?:{_expand(p)})"), p)
                 for c, ps in lx.ENGLISH.items() for p in ps)
_CHINESE = tuple(_Rule(c, None, p) for c, ps in lx.CHINESE.items() for p in ps)
_DENY_EN = _compile(lx.DENIALS_ENGLISH)
_DOWN_EN, _UP_EN = _compile(lx.RATING_DOWN_ENGLISH), _compile(lx.RATING_UP_ENGLISH)
_ANY_EN = {c: _compile(tuple(rf"\b(?:{p})" for p in ps)) for c, ps in lx.ENGLISH.items()}
"""One pattern per category, to find the categories before asking which rule fired."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a headline says: categories, sentiment, and why (``rules``: category and
    phrase; ``model``: each ready head's probability; ``by``: rules, model, both,
    correction or nothing)."""

    categories: tuple[str, ...]
    sentiment: float
    rules: tuple[tuple[str, str], ...] = ()
    model: tuple[tuple[str, float], ...] = ()
    by: str = "rules"
    denied: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "sentiment": self.sentiment,
                "by": self.by, "rules": [list(r) for r in self.rules],
                "model": {k: round(v, 4) for k, v in self.model}, "denied": self.denied}


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    """When the model's word counts: to add a category, to veto a rule's, to call an
    unexplained headline distressed."""

    add_at: float = 0.8
    veto_at: float = 0.05
    distress_at: float = 0.8


class HeadlineReader:
    """Rules, the text model and analysts' corrections, read together."""

    def __init__(self, model: HeadlineModel | None = None,
                 corrections: dict[str, tuple[str, ...]] | None = None,
                 settings: ReaderSettings = ReaderSettings()) -> None:
        self.model = model
        self.corrections = dict(corrections or {})
        """Folded headline -> the categories an analyst gave it."""
        self.settings = settings

    def read(self, headline: str, language: str | None, company: str | None = None
             ) -> Reading:
        """The reading of ``headline`` (the company's own name, if given, is left out so
        that "Fraud Detection Systems Ltd" reads as nothing)."""
        folded = fold(headline)
        corrected = self.corrections.get(folded)
        if corrected is not None:
            return Reading(corrected, _tone(corrected, ""), by="correction")
        lowered = _without(folded, company)
        chinese = language == "zh" or (language is None and has_cjk(lowered))
        rules, denied = _rules(lowered, chinese)
        found = dict.fromkeys(c for c, _ in rules)
        probabilities = (self.model.probabilities(headline)
                         if self.model is not None and self.model.active else {})
        s = self.settings
        by = "rules" if found else "nothing"
        for category, p in probabilities.items():
            if category == DISTRESS:
                continue
            if p >= s.add_at and category not in found:
                found[category] = None
                by = "model" if by == "nothing" else "rules+model"
            elif p <= s.veto_at and category in found:
                del found[category]
                by = "rules+model"
        if denied:
            found = {c: None for c in found if c == "positive"}
        if any(c != "positive" for c in found):
            found.pop("positive", None)
        categories = tuple(c for c in lx.CATEGORIES if c in found)
        tone = _tone(categories, lowered, chinese)
        if (not categories and not denied
                and probabilities.get(DISTRESS, 0.0) >= s.distress_at):
            tone, by = -0.5, "model"
        return Reading(categories, tone, tuple(rules),
                       tuple(sorted(probabilities.items())), by, denied)


def _without(lowered: str, company: str | None) -> str:
    """The folded headline without the company's name, spaces evened out."""
    if company and len(company) >= 2:
        lowered = lowered.replace(fold(company), " ")
    return " ".join(lowered.split())


@lru_cache(maxsize=4096)
def _rules(text: str, chinese: bool) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The rules that fire on a lower-cased headline, and whether it denies them (kept
    per text: the copies of a syndicated story are read once)."""
    if chinese:
        return (tuple(_chinese_rules(text)),
                any(d in text for d in lx.DENIALS_CHINESE))
    return tuple(_english_rules(text)), _DENY_EN.search(text) is not None


def _english_rules(text: str) -> list[tuple[str, str]]:
    fired = []
    for category, pattern in _ANY_EN.items():
        if pattern.search(text):
            for rule in _ENGLISH:
                if rule.category == category and (m := rule.pattern.search(text)):  # type: ignore[union-attr]
                    fired.append((category, m.group(0)))
                    break
    return fired


def _chinese_rules(text: str) -> list[tuple[str, str]]:
    fired: dict[str, str] = {}
    for rule in _CHINESE:
        if rule.category not in fired and rule.phrase in text:
            fired[rule.category] = rule.phrase
    return list(fired.items())


def _tone(categories: tuple[str, ...], text: str, chinese: bool = False) -> float:
    """The sentiment of a reading: the most negative of its categories' tones; a rating
    action is positive when its direction words say up and none say down."""
    tones = []
    for category in categories:
        tone = lx.TONE[category]
        if category == "rating_action" and _rated_up(text, chinese):
            tone = -tone
        tones.append(tone)
    return min(tones) if tones else 0.0


def _rated_up(text: str, chinese: bool) -> bool:
    if chinese:
        return (any(w in text for w in lx.RATING_UP_CHINESE)
                and not any(w in text for w in lx.RATING_DOWN_CHINESE))
    return _UP_EN.search(text) is not None and _DOWN_EN.search(text) is None
