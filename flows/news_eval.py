"""How well news is matched and read, against a labelled evaluation set.

The set (``data/news-eval/``, see its README) is a folder of ``customers.jsonl`` (master
data in the feed contract) and one JSON Lines file per language of labelled items: the
company as the item names it, identifiers, the headline, the true customer (or null: a
company that is not a customer) and the true categories. Matching is scored on the
resolver's confident matches: precision is the share of matches that name the right
customer; recall the share of items about a customer that were matched to it (an item held
for review counts as not matched). Reading is scored per category on every headline, read
as an untagged item: precision, recall and F1, and the macro F1 of the adverse categories.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.settings import Settings
from connectors.channels.escape import for_terminal
from connectors.contracts import parse_record
from detectors import events as ev
from detectors.directory import DirectorySettings
from detectors.news.classify import HeadlineReader
from detectors.news.identifiers import identifiers
from detectors.news.lexicon import ADVERSE, CATEGORIES
from detectors.news.resolution import MATCH, REVIEW, EntityResolver
from flows.jsonl import numbered_rows
from flows.news import load_knowledge

SPLITS = ("dev", "test")
"""The labelled set's two parts: the headlines the rules were tuned on, and those held out."""

TARGETS = {"match_precision": 0.99, "match_recall": 0.95, "adverse_macro_f1": 0.85}
"""What each language must reach (the targets the evaluation checks with ``--check``)."""


@dataclass
class LanguageScore:
    """The figures of one language."""

    language: str
    items: int = 0
    matched: int = 0
    right: int = 0
    wrong: int = 0
    about_customers: int = 0
    held_for_review: int = 0
    counts: dict[str, list[int]] = field(default_factory=lambda: {
        c: [0, 0, 0] for c in CATEGORIES})
    """Per category: true positives, false positives, false negatives."""
    misses: Counter[str] = field(default_factory=Counter)
    """Items about a customer not matched to it, by case."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """Wrong matches, for a person to read."""

    def per_category(self) -> dict[str, dict[str, float]]:
        out = {}
        for category, (tp, fp, fn) in self.counts.items():
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[category] = {"precision": precision, "recall": recall, "f1": f1,
                             "support": tp + fn}
        return out

    def to_json(self) -> dict[str, Any]:
        categories = self.per_category()
        adverse = [categories[c]["f1"] for c in ADVERSE if categories[c]["support"]]
        return {
            "language": self.language, "items": self.items,
            "match_precision": self.right / self.matched if self.matched else None,
            "match_recall": self.right / self.about_customers if self.about_customers else None,
            "matched": self.matched, "wrong_matches": self.wrong,
            "held_for_review": self.held_for_review,
            "misses_by_case": dict(sorted(self.misses.items())),
            "adverse_macro_f1": sum(adverse) / len(adverse) if adverse else None,
            "categories": categories,
            "wrong_match_examples": self.errors[:10],
        }


def evaluate(settings: Settings, data: Path, split: str = "all") -> dict[str, Any]:
    """Score matching and reading on the evaluation set in folder ``data``."""
    data = Path(data)
    config = DirectorySettings.from_settings(settings)
    knowledge = load_knowledge(settings.news.knowledge)
    resolver = EntityResolver(config.thresholds)
    customers: set[str] = set()
    for line in _lines(data / "customers.jsonl"):
        record = parse_record("customers", line)
        assert isinstance(record, ev.CustomerRecord)
        customers.add(record.customer_id)
        resolver.register(record.customer_id, record.name, record.aliases,  # type: ignore[arg-type]
                          identifiers(record.lei, record.registry_id, record.vat_id))
    if knowledge is not None:
        for company_name, customer_id in sorted(knowledge.aliases.items()):
            resolver.teach(company_name, customer_id)
    reader = HeadlineReader(knowledge.model if knowledge else None,
                            knowledge.corrections if knowledge else None, config.reader)
    languages = {}
    for path in sorted(data.glob("*.jsonl")):
        if path.name == "customers.jsonl":
            continue
        score = LanguageScore(path.stem)
        for number, row in numbered_rows(path):
            _check_item(path, number, row, customers)
            if split == "all" or row["split"] == split:
                _score(score, row, resolver, reader)
        languages[score.language] = score.to_json()
    if not languages:
        raise ConfigError(f"no labelled items (*.jsonl besides customers.jsonl) in {data}")
    return {"data": str(data), "split": split, "targets": TARGETS, "languages": languages,
            "meets_targets": all(_meets(v) for v in languages.values())}


def _check_item(path: Path, number: int, row: dict[str, Any], customers: set[str]) -> None:
    """Refuse a labelled item without its text fields, with fields of another kind, with
    categories that are no list of the reader's (a string would be read as a set of
    letters, an unknown category lowers no figure it should), with a true customer the set's
    customers.jsonl lacks (every match to it would count as wrong), or outside the dev and
    test splits (counted only under ``all``), naming the file and line."""
    problems = [f"{key} is not text" for key in ("id", "headline")
                if not isinstance(row.get(key), str)]
    problems += [f"{key} is neither text nor null" for key in (
        "company_name", "case", "true_customer_id") if not isinstance(row.get(key), str | None)]
    ids = row.get("identifiers", {})
    if not isinstance(ids, dict) or not all(isinstance(v, str | None) for v in ids.values()):
        problems.append("identifiers is not an object of texts")
    categories = row.get("true_categories", [])
    if not isinstance(categories, list) or not all(c in CATEGORIES for c in categories):
        problems.append(f"true_categories is not a list of {', '.join(CATEGORIES)}")
    if isinstance(row.get("true_customer_id"), str) and row["true_customer_id"] not in customers:
        problems.append(f"true_customer_id {row['true_customer_id']!r} is not in "
                        "customers.jsonl")
    if row.get("split") not in SPLITS:
        problems.append(f"split is neither {' nor '.join(SPLITS)}")
    if problems:
        raise ConfigError(f"{path}, line {number}: not a labelled item ({'; '.join(problems)})")


def _score(score: LanguageScore, row: dict[str, Any], resolver: EntityResolver,
           reader: HeadlineReader) -> None:
    score.items += 1
    ids = row.get("identifiers", {})
    resolution = resolver.resolve(row.get("company_name"), identifiers(
        ids.get("lei"), ids.get("registry_id"), ids.get("vat_id")))
    truth = row.get("true_customer_id")
    matched = resolution.best.customer_id if resolution.outcome == MATCH else None  # type: ignore[union-attr]
    if truth is not None:
        score.about_customers += 1
        if matched != truth:
            score.misses[row.get("case", "?")] += 1
    if resolution.outcome != MATCH:
        score.held_for_review += resolution.outcome == REVIEW
    else:
        score.matched += 1
        if matched == truth:
            score.right += 1
        else:
            score.wrong += 1
            score.errors.append({"id": row["id"], "company_name": row.get("company_name"),
                                 "matched": matched, "truth": truth,
                                 "detail": resolution.detail})
    read = set(reader.read(row["headline"], row.get("language"),
                           row.get("company_name")).categories)
    true = set(row.get("true_categories", ()))
    for category in CATEGORIES:
        counts = score.counts[category]
        counts[0] += category in read and category in true
        counts[1] += category in read and category not in true
        counts[2] += category in true and category not in read


def _meets(figures: dict[str, Any]) -> bool:
    """Whether a language's figures reach every target; a figure with nothing to measure
    (null: no match made, no item about a customer, no adverse category labelled) reaches
    none, nor does a language without items."""
    return figures["items"] > 0 and all(figures[key] is not None and figures[key] >= target
                                        for key, target in TARGETS.items())


def empty_languages(result: dict[str, Any]) -> list[str]:
    """The languages of an evaluation without a labelled item in its split."""
    return [language for language, f in result["languages"].items() if not f["items"]]


def _lines(path: Path) -> list[bytes]:
    try:
        return [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _figure(value: float | None) -> str:
    """A figure to three places, or why there is none."""
    return "n/a (nothing to measure)" if value is None else f"{value:.3f}"


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as a few plain tables."""
    lines = [f"news evaluation: {result['data']} (split: {result['split']})"]
    for language, f in result["languages"].items():
        if not f["items"]:
            lines += ["", f"[{language}] 0 items: nothing to measure"]
            continue
        lines += [
            "",
            f"[{language}] {f['items']} items",
            f"  matching   precision {_figure(f['match_precision'])}  recall "
            f"{_figure(f['match_recall'])}  (matched {f['matched']}, wrong "
            f"{f['wrong_matches']}, held for review {f['held_for_review']})",
            f"  reading    adverse macro F1 {_figure(f['adverse_macro_f1'])}",
            f"  {'category':<16} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
        ]
        for category, c in f["categories"].items():
            lines.append(f"  {category:<16} {c['precision']:>9.3f} {c['recall']:>7.3f} "
                         f"{c['f1']:>6.3f} {c['support']:>8}")
        if f["misses_by_case"]:
            misses = for_terminal(", ".join(f"{k} {v}" for k, v in f["misses_by_case"].items()))
            lines.append(f"  not matched, by case: {misses}")
    verdict = "meets" if result["meets_targets"] else "DOES NOT MEET"
    targets = ", ".join(f"{k} >= {v}" for k, v in result["targets"].items())
    lines += ["", f"{verdict} the targets ({targets}) in every language"]
    if empty := empty_languages(result):
        lines.append(f"no items (split: {result['split']}) in: {', '.join(empty)}")
    return "\n".join(lines)


__all__ = ["empty_languages", "evaluate", "format_report"]
