"""What the news step writes: a reading of every item, and the items held for review.

Both are JSON Lines outputs of a run (``news_readings.jsonl``, ``news_review.jsonl``), in
the format docs/news.md describes; feed text in them (names, headlines) is data, to be
escaped wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.clock import to_rfc3339
from detectors.events import NewsItem, Origin
from detectors.news.classify import Reading
from detectors.news.resolution import Resolution
from detectors.news.stories import Story


def _identifiers(item: NewsItem) -> dict[str, str]:
    return {k: v for k, v in (("lei", item.lei), ("registry_id", item.registry_id),
                              ("vat_id", item.vat_id)) if v}


@dataclass(frozen=True, slots=True)
class NewsReading:
    """One news item: who it was matched to and how, what the feed said, what the reader
    read, what the monitor used, and the story it belongs to."""

    item: NewsItem
    customer_id: str | None
    resolution: Resolution
    reading: Reading
    used: tuple[tuple[str, ...], float | None, str]
    """Categories, sentiment, and where they came from (feed, reader or both)."""
    story: Story | None
    counted: bool

    def to_json(self) -> dict[str, Any]:
        item, best = self.item, self.resolution.best
        categories, sentiment, source = self.used
        story = self.story
        return {
            "event_time": to_rfc3339(item.at), "customer_id": self.customer_id,
            "event_id": item.event_id, "company_name": item.company_name,
            "identifiers": _identifiers(item), "headline": item.headline,
            "source": item.source, "language": item.language,
            "match": {"outcome": self.resolution.outcome,
                      "method": best.method if best else None,
                      "confidence": round(best.confidence, 4) if best else None,
                      "detail": self.resolution.detail},
            "feed": {"categories": list(item.categories), "sentiment": item.sentiment},
            "read": self.reading.to_json(),
            "used": {"categories": list(categories), "sentiment": sentiment, "from": source},
            "story": None if story is None else {
                "story_id": story.story_id, "sources": list(story.sources),
                "copies": story.copies, "believed": round(story.believed, 4),
                "counted": self.counted},
        }


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A news item the resolver would not decide alone: its candidates, for an analyst."""

    item: NewsItem
    reason: str
    resolution: Resolution
    reading: Reading
    origin: Origin

    def to_json(self) -> dict[str, Any]:
        item = self.item
        return {
            "event_time": to_rfc3339(item.at), "customer_id": None,
            "review_id": f"news:{item.event_id}", "kind": "company_match",
            "reason": self.reason, "event_id": item.event_id,
            "company_name": item.company_name, "identifiers": _identifiers(item),
            "headline": item.headline, "source": item.source, "language": item.language,
            "candidates": [c.to_json() for c in self.resolution.candidates],
            "detail": self.resolution.detail,
            "reading": {"categories": list(self.reading.categories),
                        "sentiment": self.reading.sentiment},
            "origin": self.origin.to_json(),
        }
