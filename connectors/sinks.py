"""File sinks of the embedded default: JSON Lines, written exactly once.

A sink partition's snapshot is its byte offset. When bytewax resumes a run it replays the
epoch after the last snapshot; the partition first truncates its file back to the offset, so
the replayed lines replace, rather than repeat, what was written before the crash.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition


def json_line(obj: Any) -> str:
    """One compact, deterministic JSON line, in the one form of every output line: Python's
    encoder without spaces or ASCII escapes. A pydantic model gives the JSON values of its
    own encoder (an infinite float as null) in that form. `flows.run.canonicalize` sorts the
    lines as written, so a line's bytes depend on its record alone."""
    if hasattr(obj, "model_dump_json"):
        obj = json.loads(obj.model_dump_json())
    elif hasattr(obj, "to_json"):
        obj = obj.to_json()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class _LinesPartition(StatefulSinkPartition[Any, int]):
    def __init__(self, path: Path, encode: Callable[[Any], str], resume: int | None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "r+b" if path.exists() else "w+b")  # noqa: SIM115 (held open)
        self._file.truncate(resume or 0)
        self._file.seek(resume or 0)
        self._encode = encode

    def write_batch(self, items: list[Any]) -> None:
        lines = []
        for item in items:
            for record in item if isinstance(item, list) else (item,):
                lines.append(self._encode(record) + "\n")
        self._file.write("".join(lines).encode("utf-8"))
        self._file.flush()

    def snapshot(self) -> int:
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


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
