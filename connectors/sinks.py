"""File sinks of the embedded default: JSON Lines, written exactly once.

A sink partition's snapshot is its byte offset. When bytewax resumes a run it replays the
epoch after the last snapshot; the partition first truncates its file back to the offset, so
the replayed lines replace, rather than repeat, what was written before the crash.

Outputs fail as the disk does (full, or a file-size limit): a write names its file
(`naming`), and a close never raises into bytewax (`close_or_record`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from config.errors import ConnectorError

log = structlog.get_logger(__name__)

_OUTPUT_ERRORS: list[OSError | ConnectorError] = []
"""Errors of writing or closing outputs in this process since `take_output_errors` last
took them: bytewax may report a failed write only as a panic of its cluster, and cannot
report a failed close at all."""


def refused(error: ConnectorError) -> ConnectorError:
    """``error``, kept for `take_output_errors`: an output that refused what was written to
    it (a broker refusing messages) raises it."""
    _OUTPUT_ERRORS.append(error)
    return error


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside names ``path`` (a buffered file's write or flush names no
    file, and "File too large" alone does not tell a user which output filled the disk),
    and is kept for `take_output_errors`."""
    try:
        yield
    except OSError as exc:
        named = exc if exc.filename is not None else OSError(
            exc.errno, exc.strerror or str(exc), str(path))
        _OUTPUT_ERRORS.append(named)
        if named is exc:
            raise
        raise named from exc


def close_or_record(close: Callable[[], None]) -> None:
    """Call an output's ``close``; an OSError is logged and kept for `take_output_errors`,
    not raised. bytewax closes every output also while it unwinds from another error (a
    write to a full disk), and an exception raised in a close then aborts the process
    without a word of the first error."""
    try:
        close()
    except OSError as exc:
        log.error("output.close_failed", error=f"{type(exc).__name__}: {exc}")
        _OUTPUT_ERRORS.append(exc)


def take_output_errors() -> list[OSError | ConnectorError]:
    """The errors kept since the last call, first first (a run calls it before it starts,
    to forget an earlier run's, and after it ends)."""
    errors = list(_OUTPUT_ERRORS)
    _OUTPUT_ERRORS.clear()
    return errors


def raise_output_errors() -> None:
    """Raise the first error of writing or closing an output since `take_output_errors`
    was called: a run whose outputs could not be written whole has failed."""
    errors = take_output_errors()
    if errors:
        raise errors[0]


def json_line(obj: Any) -> str:
    """One compact, deterministic JSON line, in the one form of every output line: Python's
    encoder without spaces or ASCII escapes. A pydantic model gives the JSON values of its
    own encoder (an infinite float as null) in that form, and any other object a NaN or
    infinite float as null too: ``NaN`` is no JSON. `flows.run.canonicalize` sorts the lines
    as written, so a line's bytes depend on its record alone.

    >>> json_line({"pd": float("nan"), "terms": [0.5, float("inf")], "name": "Ä"})
    '{"pd":null,"terms":[0.5,null],"name":"Ä"}'
    """
    if hasattr(obj, "model_dump_json"):
        obj = json.loads(obj.model_dump_json())
    elif hasattr(obj, "to_json"):
        obj = obj.to_json()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # a non-finite float somewhere: rare, so only then walked
        return json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float inside it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class _LinesPartition(StatefulSinkPartition[Any, int]):
    def __init__(self, path: Path, encode: Callable[[Any], str], resume: int | None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._file = open(path, "r+b" if path.exists() else "w+b")  # noqa: SIM115 (held open)
        self._file.truncate(resume or 0)
        self._file.seek(resume or 0)
        self._encode = encode

    def write_batch(self, items: list[Any]) -> None:
        lines = []
        for item in items:
            for record in item if isinstance(item, list) else (item,):
                lines.append(self._encode(record) + "\n")
        with naming(self._path):
            self._file.write("".join(lines).encode("utf-8"))
            self._file.flush()

    def snapshot(self) -> int:
        with naming(self._path):
            self._file.flush()
            os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        close_or_record(self._file.close)


class JsonLinesSink(FixedPartitionedSink[Any, int]):
    """Every item of a keyed stream as one line of ``path`` (one partition, one file); an
    item that is a list gives a line per element."""

    def __init__(self, path: Path, encode: Callable[[Any], str] = json_line):
        self.path = Path(path)
        self.encode = encode

    def list_parts(self) -> list[str]:
        return [self.path.name]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _LinesPartition:
        return _LinesPartition(self.path, self.encode, resume_state)
