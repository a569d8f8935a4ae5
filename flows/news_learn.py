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

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config.errors import ConfigError
from connectors.channels.escape import for_terminal
from detectors.clock import utc_day
from detectors.news.knowledge import NewsKnowledge
from flows.jsonl import numbered_rows
from flows.news import load_knowledge, save_knowledge
from flows.outcomes import default_days

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
        for number, row in numbered_rows(corrections):
            _correct(knowledge, row, f"{corrections}:{number}", learned)
    if readings is not None and outcomes is not None:
        _outcomes(knowledge, readings, outcomes, learned)
    save_knowledge(knowledge, knowledge_path)
    return learned


def _correct(knowledge: NewsKnowledge, row: dict, where: str, learned: Learned) -> None:
    categories = row.get("categories")
    if isinstance(row.get("headline"), str) and isinstance(categories, list) and all(
            isinstance(category, str) for category in categories):
        try:
            knowledge.correct(row["headline"], tuple(categories))
        except ValueError as exc:  # (it names the categories, text of the file)
            raise ConfigError(f"{where}: {for_terminal(str(exc))}") from exc
        learned.headlines += 1
    elif isinstance(row.get("company_name"), str) and isinstance(row.get("customer_id"), str):
        knowledge.attach(row["company_name"], row["customer_id"])
        learned.aliases += 1
    else:
        raise ConfigError(f"{where}: a correction has headline and categories (a list of "
                          "names), or company_name and customer_id")


def _outcomes(knowledge: NewsKnowledge, readings: Path, outcomes: Path,
              learned: Learned) -> None:
    defaulted = default_days(outcomes)
    for number, row in numbered_rows(readings):
        customer = row.get("customer_id")
        if customer is None or not row.get("headline"):
            continue
        if not isinstance(customer, str) or not isinstance(row["headline"], str):
            raise ConfigError(f"{readings}:{number}: a reading's customer_id and headline "
                              "are texts")
        when = _day(row.get("event_time"), f"{readings}:{number}")
        default = defaulted.get(customer)
        distressed = default is not None and 0 <= (default - when).days <= DISTRESS_DAYS
        if default is not None and default < when:
            continue  # news after the default teaches nothing about warning of it
        knowledge.model.learn_outcome(row["headline"], distressed)
        learned.outcomes += 1
        learned.distressed += distressed


def _day(event_time: object, where: str) -> date:
    """The day of a reading's event time, in UTC (as `default_days` counts defaults)."""
    try:
        return utc_day(event_time)  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"{where}: a reading without a valid event_time") from None
