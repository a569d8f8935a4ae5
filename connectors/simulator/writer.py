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
