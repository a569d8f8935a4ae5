"""Writing the feed files: every file sorted by (event_time, event_id), one object per line."""

from __future__ import annotations

from pathlib import Path

from config.errors import ConfigError
from connectors.files import feed_files


def write_jsonl(path: Path, lines: list[str]) -> int:
    """Sort ``lines`` and write them to ``path``; return how many were written.

    Every line starts with its event_time then its event_id (outcomes: customer_id), and one
    file uses one time format, so plain string order is (event_time, event_id) order: a
    closing quote sorts before any character an id or timestamp contains.
    """
    lines.sort()
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines))
        if lines:
            handle.write("\n")
    return len(lines)


def write_feeds(out: Path, feeds: dict[str, list[str]], outcomes: list[str]) -> dict[str, int]:
    """Write each feed's lines to ``out/<feed>.jsonl`` and the outcomes to outcomes.jsonl
    (an empty file for a feed the book does not have); return the records written per file.
    A folder holding feed files this book does not write (an earlier book of another profile,
    parts of a split file) is refused: a run would read them as part of the book."""
    if out.is_dir():
        other = sorted(path.name for _, path in feed_files(out)
                       if path.name not in {f"{name}.jsonl" for name in feeds})
        if other:
            raise ConfigError(f"{out} holds feed files this book does not write "
                              f"({', '.join(other[:5])}{', ...' if len(other) > 5 else ''}): "
                              "a run would read them as part of it; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    records = {name: write_jsonl(out / f"{name}.jsonl", lines) for name, lines in feeds.items()}
    records["outcomes"] = write_jsonl(out / "outcomes.jsonl", outcomes)
    return records
