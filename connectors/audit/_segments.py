"""Where a partition's records live on disk: numbered segment files of complete lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from config.errors import ConnectorError
from connectors.audit.record import AuditRecord

_SEGMENT = re.compile(r"segment-(\d{6})\.jsonl")


def segment_path(partition_dir: Path, index: int) -> Path:
    """The file of segment ``index`` in a partition directory."""
    return partition_dir / f"segment-{index:06d}.jsonl"


def list_segments(partition_dir: Path) -> list[tuple[int, Path]]:
    """The partition's segment files as (index, path), in index order."""
    found = []
    for path in partition_dir.iterdir():
        match = _SEGMENT.fullmatch(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def list_partitions(log_dir: Path) -> list[Path]:
    """The partition directories of a log, in name order."""
    return sorted(path for path in log_dir.iterdir() if path.is_dir())


@dataclass(frozen=True, slots=True)
class Line:
    """A stored line: file, number, bytes without the newline, and whether it had one."""

    path: Path
    number: int
    data: bytes
    complete: bool


def read_lines(path: Path, end: int | None = None) -> Iterator[Line]:
    """The lines of one segment file (up to byte ``end``), numbered from 1."""
    with path.open("rb") as handle:
        content = handle.read() if end is None else handle.read(end)
    offset = 0
    number = 0
    while offset < len(content):
        number += 1
        cut = content.find(b"\n", offset)
        complete = cut >= 0
        stop = cut if complete else len(content)
        yield Line(path, number, content[offset:stop], complete)
        offset = stop + 1


def stored_record(line: Line) -> AuditRecord:
    """The record a stored line holds; the ConnectorError of a line that holds none names
    its file and line, so that a reader of a damaged log says where (verification reports
    its problems with `read_lines` and `AuditRecord.from_line` itself)."""
    try:
        return AuditRecord.from_line(line.data)
    except ConnectorError as exc:
        raise ConnectorError(f"{line.path}, line {line.number}: {exc}") from None
