"""Reading a run's JSON Lines outputs back (scores, warnings, choices of model, stats).

A module of its own so that readers such as the workspace need not import the dataflow.
What a run wrote may have been damaged since: a line that is not a JSON object is a
`DamagedLine` naming the file and line, and `finite_number` reads a number safely.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from config.errors import ConfigError
from connectors.channels.escape import for_json

__all__ = ["BACKTEST", "COLLECTIONS", "DAMAGED", "DERIVED", "LIMITS", "DamagedLine", "Rows",
           "all_finite", "finite_number", "iter_jsonl", "json_document", "lines", "number",
           "numbered_lines", "numbered_rows", "optional_number", "probability", "problem_of",
           "read_jsonl", "require_outputs"]


LIMITS = "limits.jsonl"
COLLECTIONS = "collections.jsonl"
BACKTEST = "backtest.json"
DERIVED = (LIMITS, COLLECTIONS, BACKTEST)
"""What the desk's commands (limits, collections, backtest) derive from a run's outputs,
beside them: a new run into the same folder removes them with its own outputs."""

DAMAGED = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
           RecursionError, OverflowError)
"""What reading a damaged row raises: a file gone, text that is not JSON (a ValueError) or
nests too deeply, a row that is not an object or lacks a field or has one of another kind, a
number too large for a float."""


class DamagedLine(ConfigError, ValueError):
    """A line of a JSON Lines file that is not UTF-8, not JSON or not a JSON object: one line
    naming the file and line. Also a ValueError, so that readers which tolerate damage (one
    of `DAMAGED`) still do."""

    def __init__(self, path: Path, number: int, problem: str) -> None:
        super().__init__(f"{path}, line {number}: {problem}"[:500])
        self.number = number
        self.problem = problem


def require_outputs(out: Path, *names: str) -> None:
    """Refuse a folder without the named outputs of a run (a typo, a run not yet finished)
    before a command reads it: an empty reading would pass for a run with nothing in it."""
    for name in names:
        if not (out / name).exists():
            raise ConfigError(f"no {name} under {out}: is it a finished run's output?")


def numbered_lines(path: Path, *, growing: bool = False) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 file with their numbers (from 1), split on LF only (a
    line separator inside a JSON string, U+2028..., is part of its line). ``growing``: a
    live run may be appending to the file, so a last line without its LF is still being
    written and is left out. A line that is not UTF-8 is a `DamagedLine`."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if growing and not raw.endswith(b"\n"):
                return
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DamagedLine(path, number, f"not UTF-8 ({problem_of(exc)})") from None
            if line.strip():
                yield number, line


def lines(path: Path, *, growing: bool = False) -> Iterator[str]:
    """The non-blank lines of a UTF-8 file (see `numbered_lines`)."""
    return (line for _, line in numbered_lines(path, growing=growing))


def numbered_rows(path: Path, *, growing: bool = False,
                  unique_keys: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a JSON Lines file with their line numbers; a line that is not a JSON
    object is a `DamagedLine` (``growing``: `numbered_lines`). ``unique_keys``: an object
    that gives a key twice is one too (Python's reader keeps the last; slower, for the files
    people write by hand)."""
    decode = _UNIQUE_KEYS.decode if unique_keys else json.loads
    for number, line in numbered_lines(path, growing=growing):
        try:
            row = decode(line)
        except (ValueError, RecursionError) as exc:
            raise DamagedLine(path, number, f"not JSON ({problem_of(exc)})") from None
        if not isinstance(row, dict):
            raise DamagedLine(path, number, "not a JSON object")
        yield number, row


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} given twice")
        found[key] = value
    return found


_UNIQUE_KEYS = json.JSONDecoder(object_pairs_hook=_unique)
"""A JSON reader that refuses a key given twice, made once (``json.loads`` with options
makes one a line)."""


class Rows:
    """The rows of a run's output file for a command that reads their fields: a row that
    lacks one or holds one of another kind, met while the command works inside ``with``,
    is a `DamagedLine` naming the file and the row's line rather than a traceback::

        with Rows(out / WATCHLIST) as rows:
            for row in rows:
                grade = row["grade"]
    """

    SHAPE = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)
    """What using a row of another shape raises (a field missing, text for a number)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.number = 0
        """The line of the row being worked on (0 before the first)."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for number, row in numbered_rows(self.path):
            self.number = number
            yield row

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(exc, self.SHAPE) and not isinstance(exc, DamagedLine):
            raise DamagedLine(self.path, self.number,
                              f"a field missing or of another kind ({problem_of(exc)})") from None


def number(value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    """A field of a row that must hold a finite number from ``low`` to ``high``, as a float;
    anything else raises (inside `Rows`, a `DamagedLine` naming the row's line), so that a
    damaged file gives no ranking, limit or answer computed from it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is no number")
    result = float(value)  # (an integer too large for a float raises OverflowError)
    if not (math.isfinite(result) and low <= result <= high):
        raise ValueError(f"{value!r} is no finite number from {low:g} to {high:g}")
    return result


def optional_number(value: Any, low: float = -math.inf, high: float = math.inf) -> float | None:
    """A field of a row that holds a number from ``low`` to ``high`` or null, as a float or
    None; anything else raises (see `number`)."""
    return None if value is None else number(value, low, high)


def problem_of(exc: BaseException) -> str:
    """An exception as ``Type: message``, for the one line of a `DamagedLine`."""
    return f"{type(exc).__name__}: {exc}"


def read_jsonl(path: Path, *, growing: bool = False) -> list[dict[str, Any]]:
    """Every row of a JSON Lines file; none when it does not exist (see `iter_jsonl`)."""
    return list(iter_jsonl(path, growing=growing))


def iter_jsonl(path: Path, *, growing: bool = False) -> Iterator[dict[str, Any]]:
    """The rows of a JSON Lines file one at a time; none when it does not exist (a damaged
    line: `numbered_rows`; ``growing``: `numbered_lines`)."""
    if path.exists():
        yield from (row for _, row in numbered_rows(path, growing=growing))


def finite_number(value: Any) -> float | None:
    """A number read from a file as a float; None for anything else (text, booleans, NaN,
    infinities, an integer too large for a float), so that a damaged file cannot put one
    on a page or break its formatting."""
    return _number_or_none(value)


def all_finite(value: Any) -> bool:
    """Whether every number in ``value`` (nested lists and objects) is finite: a file read
    back may hold NaN or an infinity, which JSON cannot carry."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(all_finite(item) for item in value)
    return True


def json_document(document: Any) -> str:
    """``document`` as indented JSON for a command's output, feed text that could drive a
    terminal written as JSON escapes (`for_json`); a number that is not finite (from a
    damaged file) is refused with one line rather than printed as invalid JSON."""
    try:
        return for_json(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False))
    except ValueError:
        raise ConfigError("the document holds a number that is not finite (NaN or an "
                          "infinity), which JSON cannot carry: a file it was read from is "
                          "damaged") from None


def probability(value: Any) -> float | None:
    """A probability read from a file: a finite number from 0 to 1; None for anything else."""
    return _number_or_none(value, 0, 1)


def _number_or_none(value: Any, low: float = -math.inf, high: float = math.inf) -> float | None:
    """`number`, with None for what it refuses."""
    try:
        return number(value, low, high)
    except (TypeError, ValueError, OverflowError):
        return None
