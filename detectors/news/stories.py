"""Stories: the same news about a customer from several outlets, counted once.

An item joins a story of the same customer told within ``window_days`` before it when its
headline is close to the story's first one (rapidfuzz's token-set ratio at least
``similarity``, Chinese compared character by character, both without the customer's names:
every headline about a customer shares them, so they say nothing of whether two tell the same
news) or carries the same categories.
Each source has a weight (`SourceWeights`, 1 unless configured); a story is *believed* once
its distinct sources together reach ``believe_from`` (``1 - prod(1 - weight)``): one wire
service at weight 1 is enough, two blogs at 0.3 are not, a third makes it. A story moves a
customer's risk once, when it is first believed; its later copies only add their source.

>>> desk = StoryDesk(SourceWeights({"Rumour Blog": 0.3}), believe_from=0.5)
>>> [desk.place("c1", 0, f"n{i}", "Acme files for insolvency", s, ("insolvency",)).counted
...  for i, s in enumerate(("Rumour Blog", "Rumour Blog", "Wire", "Gazette"))]
[False, False, True, False]
>>> desk.place("c1", 1, "n9", "Acme wins order", "Wire", ("positive",)).story.sources
('Wire',)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from detectors.names import fold
from detectors.news.chinese import has_cjk


@dataclass(frozen=True, slots=True)
class SourceWeights:
    """How much each source is believed (0 to 1); sources not listed get ``default``."""

    weights: dict[str, float] = field(default_factory=dict)
    default: float = 1.0

    def of(self, source: str) -> float:
        return self.weights.get(source, self.default)


@dataclass(slots=True)
class Story:
    """One piece of news about one customer, with every source that told it."""

    story_id: str
    customer_id: str
    day: int
    headline: str
    categories: tuple[str, ...]
    sources: tuple[str, ...] = ()
    copies: int = 0
    believed: float = 0.0
    counted: bool = False


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item went: its story as it stood once the item joined it (a copy: later
    copies change the desk's story, not this one), and whether this item is the one that
    counts."""

    story: Story
    counted: bool


class StoryDesk:
    """Recent stories per customer; items placed in the monitor's total order."""

    def __init__(self, weights: SourceWeights = SourceWeights(), believe_from: float = 0.5,
                 window_days: int = 3, similarity: float = 80.0) -> None:
        self.weights = weights
        self.believe_from = believe_from
        self.window_days = window_days
        self.similarity = similarity
        self._recent: dict[str, list[Story]] = {}

    def place(self, customer_id: str, day: int, event_id: str, headline: str, source: str,
              categories: tuple[str, ...], names: tuple[str, ...] = ()) -> Placement:
        """Put an item into its customer's story (a new one if none is close); ``names``:
        the customer's, left out of the headlines compared."""
        story = self._find(customer_id, day, headline, categories, names)
        if story is None:
            story = Story(event_id, customer_id, day, headline, categories)
            self._recent.setdefault(customer_id, []).append(story)
        story.copies += 1
        counted = False
        if source not in story.sources:
            story.sources = (*story.sources, source)
            weight = min(1.0, max(0.0, self.weights.of(source)))
            story.believed = 1.0 - (1.0 - story.believed) * (1.0 - weight)
            if not story.counted and story.believed >= self.believe_from - 1e-12:
                story.counted = counted = True
        return Placement(dataclasses.replace(story), counted)

    def _find(self, customer_id: str, day: int, headline: str, categories: tuple[str, ...],
              names: tuple[str, ...]) -> Story | None:
        folded = sorted((n for n in map(fold, names) if len(n) >= 2), key=len, reverse=True)
        news = _news_of(headline, folded)
        for story in reversed(self._recent.get(customer_id, ())):
            if day - story.day > self.window_days:
                break
            if (categories and categories == story.categories) or _close(
                    news, _news_of(story.headline, folded), self.similarity):
                return story
        return None

    def expire(self, through: int) -> None:
        """Forget stories too old for any item after day ``through`` to join."""
        oldest = through - self.window_days
        for customer_id in list(self._recent):
            kept = [s for s in self._recent[customer_id] if s.day >= oldest]
            if kept:
                self._recent[customer_id] = kept
            else:
                del self._recent[customer_id]


def _news_of(headline: str, folded_names: list[str]) -> str:
    """The folded headline without the customer's names (folded, longest first)."""
    text = fold(headline)
    for name in folded_names:
        text = text.replace(name, " ")
    return " ".join(text.split())


def _close(one: str, other: str, similarity: float) -> bool:
    if has_cjk(one) or has_cjk(other):
        one, other = " ".join(one), " ".join(other)
    return fuzz.token_set_ratio(one, other) >= similarity
