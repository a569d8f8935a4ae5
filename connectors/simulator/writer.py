"""Writing the feed files: every file sorted by (event_time, event_id), one object per line."""

from __future__ import annotations

from pathlib import Path


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
    (an empty file for a feed the book does not have); return the records written per file."""
    out.mkdir(parents=True, exist_ok=True)
    records = {name: write_jsonl(out / f"{name}.jsonl", lines) for name, lines in feeds.items()}
    records["outcomes"] = write_jsonl(out / "outcomes.jsonl", outcomes)
    return records
