"""What analysts taught the news reader: corrected headlines, company names attached to
customers, and the text model trained on both and on outcomes.

It is one JSON document (written by ``creditradar learn-news``, read at the start of a run),
so a run's news decisions depend on its feeds, its settings and this file only.

>>> knowledge = NewsKnowledge()
>>> knowledge.correct("Acme to wind down Leeds unit", ("layoffs",))
>>> knowledge.attach("Acme Intl", "C000042")
>>> NewsKnowledge.from_json(knowledge.to_json()).aliases
{'Acme Intl': 'C000042'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.names import fold
from detectors.news.lexicon import CATEGORIES
from detectors.news.model import HeadlineModel

FORMAT = "creditradar-news-knowledge/1"


@dataclass
class NewsKnowledge:
    """Corrections (folded headline -> categories), aliases (company name -> customer id)
    and the text model."""

    corrections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    model: HeadlineModel = field(default_factory=HeadlineModel)

    def correct(self, headline: str, categories: tuple[str, ...]) -> None:
        """An analyst's categories for a headline: remembered, and learned by the model."""
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {', '.join(unknown)}; known: "
                             f"{', '.join(CATEGORIES)}")
        ordered = tuple(c for c in CATEGORIES if c in categories)
        self.corrections[fold(headline)] = ordered
        self.model.learn(headline, ordered)

    def attach(self, company_name: str, customer_id: str) -> None:
        """An analyst's word that news naming ``company_name`` is about ``customer_id``."""
        self.aliases[company_name] = customer_id

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT,
                "corrections": {k: list(v) for k, v in sorted(self.corrections.items())},
                "aliases": dict(sorted(self.aliases.items())),
                "model": self.model.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewsKnowledge:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a news knowledge file (format {data.get('format')!r}, "
                             f"expected {FORMAT!r})")
        return cls({k: tuple(v) for k, v in data["corrections"].items()},
                   dict(data["aliases"]), HeadlineModel.from_json(data["model"]))
