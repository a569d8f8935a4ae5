"""Reading a run's JSON Lines outputs back (scores, warnings, choices of model, stats).

A module of its own so that readers such as the workspace need not import the dataflow.
What a run wrote may have been damaged since: `finite_number` reads a number safely.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DAMAGED", "finite_number", "iter_jsonl", "lines", "probability", "read_jsonl"]


DAMAGED = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
           RecursionError)
"""What reading a damaged row raises: a file gone, text that is not JSON (a ValueError) or
nests too deeply, a row that is not an object or lacks a field or has one of another kind."""


def lines(path: Path, *, growing: bool = False) -> Iterator[str]:
    """The non-blank lines of a UTF-8 file, split on LF only (a line separator inside a
    JSON string, U+2028..., is part of its line). ``growing``: a live run may be appending
    to the file, so a last line without its LF is still being written and is left out."""
    with path.open(encoding="utf-8", newline="\n") as handle:
        for line in handle:
            if growing and not line.endswith("\n"):
                return
            if line.strip():
                yield line


def read_jsonl(path: Path, *, growing: bool = False) -> list[dict[str, Any]]:
    """Every row of a JSON Lines file; none when it does not exist (``growing``: `lines`)."""
    return list(iter_jsonl(path, growing=growing))


def iter_jsonl(path: Path, *, growing: bool = False) -> Iterator[dict[str, Any]]:
    """The rows of a JSON Lines file one at a time; none when it does not exist
    (``growing``: `lines`)."""
    if path.exists():
        yield from (json.loads(line) for line in lines(path, growing=growing))


def finite_number(value: Any) -> float | None:
    """A number read from a file as a float; None for anything else (text, booleans, NaN,
    infinities, an integer too large for a float), so that a damaged file cannot put one
    on a page or break its formatting."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def probability(value: Any) -> float | None:
    """A probability read from a file: a finite number from 0 to 1; None for anything else."""
    number = finite_number(value)
    return number if number is not None and 0 <= number <= 1 else None
