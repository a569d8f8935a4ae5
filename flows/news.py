"""The news step of a run, built from the settings: thresholds, source weights and what
analysts taught (the knowledge file of ``creditradar learn-news``), read once per run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from config.errors import ConfigError
from config.settings import Settings
from detectors.directory import DirectorySettings, NameDirectory
from detectors.news.knowledge import NewsKnowledge
from flows.jsonl import all_finite

NEWS_READINGS = "news_readings.jsonl"
NEWS_REVIEW = "news_review.jsonl"


def load_knowledge(path: Path | None) -> NewsKnowledge | None:
    """The knowledge file at ``path`` (None without one); a clear error if it is unusable."""
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        knowledge = NewsKnowledge.from_json(data)
        if not all_finite(knowledge.to_json()):  # ("1e999" or "NaN" read as a float)
            raise ValueError("a number of its model is not finite")
        return knowledge
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError,
            RecursionError) as exc:
        raise ConfigError(f"news.knowledge {path} cannot be used: "
                          f"{type(exc).__name__}: {exc}"[:300]) from exc


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is no JSON number")


def save_knowledge(knowledge: NewsKnowledge, path: Path) -> None:
    """Write the knowledge file (whole, then renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(knowledge.to_json(), ensure_ascii=False) + "\n",
                       encoding="utf-8")
    partial.replace(path)


def directory_builder(settings: Settings, bucket_of: Callable[[str], str],
                      only: str | None = None) -> Callable[[], NameDirectory]:
    """Builds the news step of a run (the knowledge file is read here, once); ``only``: of
    an explanation of one customer (`NameDirectory.only`)."""
    knowledge = load_knowledge(settings.news.knowledge)
    config = DirectorySettings.from_settings(settings)

    def build() -> NameDirectory:
        return NameDirectory(bucket_of, config, knowledge, only)

    return build
