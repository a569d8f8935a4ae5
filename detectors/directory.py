"""Which customer a news item is about, and what it says: resolved in event time, before
order matters.

`NameDirectory` is one step for the whole book, and every news item passes through it. It
keeps every customer's current names and identifiers (`detectors.news.resolution`) and,
within each complete day, takes master data and news in the monitor's total order: a
customer registered at a time is known to news of that time. For each item it

- resolves the customer (the feed's ``customer_id`` when given; else identifiers, then
  names), with the method and confidence of the match;
- reads the headline (`detectors.news.classify`); the feed's categories and sentiment, when
  given, are what the monitor uses, the reading fills in what is missing;
- places it in a story (`detectors.news.stories`): only the copy that makes a story
  believed carries its categories and sentiment on to the customer's book; the other
  copies reach the book too (they are accepted records) but move nothing.

An item the resolver will not decide alone goes to the review queue (`ReviewItem`) and
the dead letters (``needs_review``, ``ambiguous_company``); one naming no customer is a dead
letter (``unknown_company``). Every item also gets a `NewsReading`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from detectors import events as ev
from detectors.events import Envelope
from detectors.news.classify import HeadlineReader, ReaderSettings, Reading
from detectors.news.identifiers import identifiers
from detectors.news.knowledge import NewsKnowledge
from detectors.news.records import NewsReading, ReviewItem
from detectors.news.resolution import (
    AMBIGUOUS,
    MATCH,
    REVIEW,
    Candidate,
    EntityResolver,
    Resolution,
    Thresholds,
)
from detectors.news.stories import SourceWeights, StoryDesk
from detectors.records import DeadLetter
from detectors.stage import Send


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """What the news step needs to know: taken from `config.settings.Settings` by
    `from_settings` (its ``news`` section, docs/news.md)."""

    thresholds: Thresholds = Thresholds()
    reader: ReaderSettings = ReaderSettings()
    source_weights: tuple[tuple[str, float], ...] = ()
    default_source_weight: float = 1.0
    believe_from: float = 0.5
    story_window_days: int = 3
    story_similarity: float = 80.0

    @classmethod
    def from_settings(cls, settings: Any) -> DirectorySettings:
        n = settings.news
        return cls(Thresholds(n.match_at, n.review_at, n.margin),
                   ReaderSettings(n.model_add_at, n.model_veto_at, n.distress_at),
                   tuple(sorted(n.source_weights.items())), n.default_source_weight,
                   n.believe_from, n.story_window_days, n.story_similarity)


class NameDirectory:
    """Customers' names, and every news item to the book of the customer it is about.

    >>> from detectors.events import Origin
    >>> directory = NameDirectory(lambda customer: "bucket-0")
    >>> def env(event):
    ...     return Envelope(event, b"", Origin("file", "f", 0), 0)
    >>> customer = ev.CustomerRecord("c1", 10, "C1", "Hollis Metalworks GmbH")
    >>> news = ev.NewsItem("n1", 10, None, "HOLIS METALWORKS", "Hollis files for insolvency",
    ...                    "Wire")
    >>> sent = [o for o in directory.day(0, [env(news), env(customer)]) if isinstance(o, Send)]
    >>> item = sent[0].item.event
    >>> item.customer_id, item.categories, item.match_method
    ('C1', ('insolvency',), 'fuzzy')
    >>> out = directory.day(0, [env(ev.NewsItem("n2", 11, None, "Nobody AG", "x", "y"))])
    >>> [o.reason for o in out if isinstance(o, DeadLetter)]
    ['unknown_company']
    """

    def __init__(self, bucket_of: Callable[[str], str],
                 settings: DirectorySettings = DirectorySettings(),
                 knowledge: NewsKnowledge | None = None, only: str | None = None) -> None:
        self.bucket_of = bucket_of
        self.only = only
        """The one customer whose news this directory reads (an explanation's,
        `flows.explain`), or None: every customer's. Reading is stateless and stories are per
        customer, so the other customers' news changes nothing for it, and is only
        resolved."""
        self.settings = settings
        self.resolver = EntityResolver(settings.thresholds)
        self.names: dict[str, tuple[str, ...]] = {}
        """Each customer's name and aliases, left out when headlines are compared."""
        self.reader = HeadlineReader(knowledge.model if knowledge else None,
                                     knowledge.corrections if knowledge else None,
                                     settings.reader)
        self.stories = StoryDesk(
            SourceWeights(dict(settings.source_weights), settings.default_source_weight),
            settings.believe_from, settings.story_window_days, settings.story_similarity)
        for company_name, customer_id in sorted((knowledge.aliases if knowledge else {})
                                                .items()):
            self.resolver.teach(company_name, customer_id)

    def day(self, day: int, items: list[Envelope]) -> list[Any]:
        out: list[Any] = []
        for envelope in sorted(items, key=Envelope.order):
            event = envelope.event
            if isinstance(event, ev.CustomerRecord):
                self.resolver.register(
                    event.customer_id, event.name, event.aliases,  # type: ignore[arg-type]
                    identifiers(event.lei, event.registry_id, event.vat_id))
                self.names[event.customer_id] = (event.name, *event.aliases)  # type: ignore[index]
            elif isinstance(event, ev.NewsItem):
                out.extend(self._news(day, envelope, event))
        return out

    def advance(self, through: int) -> list[Any]:
        self.stories.expire(through)
        return []

    def finish(self) -> list[Any]:
        return []

    def _news(self, day: int, envelope: Envelope, item: ev.NewsItem) -> list[Any]:
        if item.customer_id is not None:
            resolution = Resolution(MATCH, (Candidate(item.customer_id, item.customer_id,
                                                      "customer_id", 1.0),), "the feed's id")
        else:
            resolution = self.resolver.resolve(
                item.company_name, identifiers(item.lei, item.registry_id, item.vat_id))
        if self.only is not None and (resolution.best is None or resolution.outcome != MATCH
                                      or resolution.best.customer_id != self.only):
            return []
        reading = self.reader.read(item.headline, item.language, item.company_name)
        used = _used(item, reading)
        if resolution.outcome != MATCH:
            reading_out = NewsReading(item, None, resolution, reading, used, None, False)
            return [reading_out, *self._unresolved(envelope, item, resolution, reading)]
        best = resolution.best
        assert best is not None
        customer_id = best.customer_id
        names = (*self.names.get(customer_id, ()), *filter(None, [item.company_name]))
        placed = self.stories.place(customer_id, day, item.event_id, item.headline,
                                    item.source, used[0], names)
        categories, sentiment = (used[0], used[1]) if placed.counted else ((), None)
        forwarded = dataclasses.replace(
            item, customer_id=customer_id, categories=categories, sentiment=sentiment,
            match_method=best.method, match_confidence=round(best.confidence, 4))
        return [NewsReading(item, customer_id, resolution, reading, used, placed.story,
                            placed.counted),
                Send(self.bucket_of(customer_id), day,
                     dataclasses.replace(envelope, event=forwarded))]

    def _unresolved(self, envelope: Envelope, item: ev.NewsItem, resolution: Resolution,
                    reading: Reading) -> list[Any]:
        if resolution.outcome in (REVIEW, AMBIGUOUS):
            reason = "ambiguous_company" if resolution.outcome == AMBIGUOUS else "needs_review"
            detail = f"{resolution.detail}; held for review (news_review.jsonl)"
            review = ReviewItem(item, reason, resolution, reading, envelope.origin)
            return [review, DeadLetter(item.FEED, reason, detail, envelope.raw,
                                       envelope.origin, item.event_id, None)]
        return [DeadLetter(item.FEED, "unknown_company", resolution.detail, envelope.raw,
                           envelope.origin, item.event_id, None)]


def _used(item: ev.NewsItem, reading: Reading) -> tuple[tuple[str, ...], float | None, str]:
    """The categories and sentiment the monitor uses: the feed's when it gave them, the
    reading's for what it did not give."""
    tagged, toned = bool(item.categories), item.sentiment is not None
    categories = item.categories if tagged else reading.categories
    sentiment = item.sentiment if toned else reading.sentiment
    source = "feed" if tagged and toned else "reader" if not (tagged or toned) else "feed+reader"
    return categories, sentiment, source
