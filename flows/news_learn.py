"""Teaching the news reader: analysts' corrections and outcomes into the knowledge file.

A corrections file is JSON Lines, one correction per line (docs/news.md):

- ``{"headline": "...", "categories": ["layoffs"]}``: what a headline is about (an empty
  list: about nothing a credit desk files);
- ``{"company_name": "...", "customer_id": "C000042"}``: news naming this company is about
  this customer (for instance an item from the review queue, resolved).

Outcomes teach the text model's distress head: every reading of a finished run
(``news_readings.jsonl``) about a customer is an example, positive when the customer
defaulted (``outcomes.jsonl``) within `DISTRESS_DAYS` after the item.

Learning is online: the knowledge file is read, each example is learned once, in file
order, and the file is written back, so the same inputs give the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config.errors import ConfigError
from detectors.news.knowledge import NewsKnowledge
from flows.news import load_knowledge, save_knowledge

DISTRESS_DAYS = 365


@dataclass
class Learned:
    """What one ``learn-news`` call took in."""

    headlines: int = 0
    aliases: int = 0
    outcomes: int = 0
    distressed: int = 0

    def to_json(self) -> dict[str, int]:
        return {"corrected_headlines": self.headlines, "attached_names": self.aliases,
                "outcome_examples": self.outcomes, "of_which_distressed": self.distressed}


def learn(knowledge_path: Path, corrections: Path | None = None,
          readings: Path | None = None, outcomes: Path | None = None) -> Learned:
    """Update the knowledge file at ``knowledge_path`` (made if missing) with corrections
    and, given a run's ``news_readings.jsonl`` and its ``outcomes.jsonl``, outcomes."""
    if (readings is None) != (outcomes is None):
        raise ConfigError("learning from outcomes needs both a run's news_readings.jsonl "
                          "and outcomes.jsonl")
    knowledge = (load_knowledge(knowledge_path) if Path(knowledge_path).exists()
                 else NewsKnowledge())
    assert knowledge is not None
    learned = Learned()
    if corrections is not None:
        for number, row in _rows(corrections):
            _correct(knowledge, row, f"{corrections}:{number}", learned)
    if readings is not None and outcomes is not None:
        _outcomes(knowledge, readings, outcomes, learned)
    save_knowledge(knowledge, knowledge_path)
    return learned


def _correct(knowledge: NewsKnowledge, row: dict, where: str, learned: Learned) -> None:
    if isinstance(row.get("headline"), str) and isinstance(row.get("categories"), list):
        try:
            knowledge.correct(row["headline"], tuple(row["categories"]))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        learned.headlines += 1
    elif isinstance(row.get("company_name"), str) and isinstance(row.get("customer_id"), str):
        knowledge.attach(row["company_name"], row["customer_id"])
        learned.aliases += 1
    else:
        raise ConfigError(f"{where}: a correction has headline and categories, or "
                          "company_name and customer_id")


def _outcomes(knowledge: NewsKnowledge, readings: Path, outcomes: Path,
              learned: Learned) -> None:
    defaulted: dict[str, date] = {}
    for _, row in _rows(outcomes):
        if row.get("default_date"):
            defaulted[row["customer_id"]] = date.fromisoformat(row["default_date"][:10])
    for _, row in _rows(readings):
        customer = row.get("customer_id")
        if customer is None or not row.get("headline"):
            continue
        when = date.fromisoformat(row["event_time"][:10])
        default = defaulted.get(customer)
        distressed = default is not None and 0 <= (default - when).days <= DISTRESS_DAYS
        if default is not None and default < when:
            continue  # news after the default teaches nothing about warning of it
        knowledge.model.learn_outcome(row["headline"], distressed)
        learned.outcomes += 1
        learned.distressed += distressed


def _rows(path: Path) -> list[tuple[int, dict]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number}: not a JSON object")
        rows.append((number, row))
    return rows
