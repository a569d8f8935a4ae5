"""Append records to one partition of the audit log, and resume exactly where a snapshot left."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from config.audit import AuditSettings
from config.errors import ConnectorError
from connectors.audit._segments import list_segments, read_lines, segment_path, stored_record
from connectors.audit.record import (
    ANCHOR,
    GENESIS,
    AuditRecord,
    anchor_body,
    canonical,
    encode,
)

_PARTITION = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AuditPosition:
    """Where the next record goes: segment, byte offset in it, its seq, and the chain head.

    ``since_anchor`` counts the records written since the last anchor, so a resumed writer
    anchors on the same cadence as one that never stopped.
    """

    segment: int
    offset: int
    seq: int
    head: str
    since_anchor: int


START = AuditPosition(0, 0, 0, GENESIS, 0)
"""Where an empty partition's first record goes."""


class AuditWriter:
    """Appends hash-chained records to ``DIR/PARTITION/segment-NNNNNN.jsonl``.

    A new writer continues after the records already stored; :meth:`resume` instead cuts the
    log back to a snapshot position first, so a repeated epoch is not recorded twice.
    """

    def __init__(self, directory: Path, partition: str, settings: AuditSettings,
                 *, position: AuditPosition | None = None, sealed: bool = False) -> None:
        if not _PARTITION.fullmatch(partition):
            raise ConnectorError(f"audit partition name {partition!r} is not a plain file name")
        self.directory = Path(directory)
        self.partition = partition
        self.settings = settings
        self.sealed = sealed
        """Whether the log is a run's, sealed by a manifest when the run ends: every anchor
        says so, signed, so that `verify_log` asks for the manifest."""
        self._dir = self.directory / partition
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        start = tail_position(self._dir) if position is None else position
        self._event_time = _check_position(self._dir, partition, start)
        _cut_after(self._dir, partition, start)
        self._segment = start.segment
        self._offset = start.offset
        self._seq = start.seq
        self._head = start.head
        self._since_anchor = start.since_anchor
        self._file = open_segment(segment_path(self._dir, self._segment))
        self._closed = False

    @classmethod
    def resume(cls, directory: Path, partition: str, settings: AuditSettings,
               position: AuditPosition, *, sealed: bool = False) -> AuditWriter:
        """Reopen at ``position``, deleting whatever was written after it."""
        return cls(directory, partition, settings, position=position, sealed=sealed)

    def append(self, kind: str, id: str, event_time: str, body: dict[str, Any]) -> AuditRecord:
        """Chain one record onto the partition, and an anchor after every ``anchor_every``."""
        seq, prev = self._seq, self._head  # before the anchor that may follow
        hashed = self.append_encoded(kind, id, event_time, canonical(body))
        return AuditRecord(seq, self.partition, kind, id, event_time, body, prev, hashed)

    def append_encoded(self, kind: str, id: str, event_time: str, body_json: bytes) -> str:
        """`append` a record whose body the caller already encoded canonically (the inputs
        of a run: no dict is kept); returns its hash."""
        if kind == ANCHOR:
            raise ConnectorError("audit anchors are written by the writer, not appended")
        hashed = self._write(kind, id, event_time, body_json)
        self._since_anchor += 1
        if self._since_anchor >= self.settings.anchor_every:
            self._anchor(final=False)
        return hashed

    @property
    def path(self) -> Path:
        """The segment file records are appended to."""
        return segment_path(self._dir, self._segment)

    def position(self) -> AuditPosition:
        """Flush, then say where the next record goes; this is the recovery snapshot."""
        self.flush()
        return AuditPosition(self._segment, self._offset, self._seq, self._head,
                             self._since_anchor)

    def flush(self) -> None:
        """Make everything appended so far durable on disk."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def release(self) -> None:
        """Close the file without an anchor: another writer continues this partition."""
        if not self._closed:
            self._file.close()
            self._closed = True

    def at_tail(self) -> bool:
        """Whether nothing was written to the partition since this writer last wrote."""
        self._file.flush()
        segments = list_segments(self._dir)
        return bool(segments) and segments[-1][0] == self._segment and (
            segments[-1][1].stat().st_size == self._offset)

    def close(self) -> None:
        """Write the final anchor, which marks the log as complete up to here, and close."""
        if self._closed:
            return
        try:
            self._anchor(final=True)
            self.flush()
        finally:  # whatever failed, the file is not written to again
            self._file.close()
            self._closed = True

    def _anchor(self, final: bool) -> None:
        body = anchor_body(self.partition, self._seq, self._head, final,
                           self.settings.key_bytes(), self.sealed)
        # The anchor takes the event time of the record it follows: no wall clock, so a
        # replay writes the same bytes.
        self._write(ANCHOR, f"anchor-{self._seq}", self._event_time, canonical(body))
        self._since_anchor = 0

    def _write(self, kind: str, id: str, event_time: str, body_json: bytes) -> str:
        if self._closed:
            raise ConnectorError(f"audit writer for partition {self.partition!r} is closed")
        hashed, line = encode(self._seq, self.partition, kind, id, event_time, body_json,
                              self._head)
        if self._offset > 0 and self._offset + len(line) > self.settings.segment_max_bytes:
            self._rotate()
        self._file.write(line)
        self._offset += len(line)
        self._seq += 1
        self._head = hashed
        self._event_time = event_time
        return hashed

    def _rotate(self) -> None:
        self.flush()
        self._file.close()
        self._segment += 1
        self._offset = 0
        self._file = open_segment(segment_path(self._dir, self._segment))


def open_segment(path: Path) -> BinaryIO:
    """A segment file opened for appending; a new one is readable by its owner only."""
    return open(path, "ab", opener=lambda name, flags: os.open(name, flags, 0o600))  # noqa: SIM115


def _last_record(partition_dir: Path, segment: int, offset: int) -> AuditRecord | None:
    """The record stored just before (segment, offset), or None at the very start."""
    if offset == 0:
        if segment == 0:
            return None
        segment -= 1
        path = segment_path(partition_dir, segment)
        end = path.stat().st_size if path.exists() else 0
    else:
        path = segment_path(partition_dir, segment)
        end = offset
    lines = list(read_lines(path, end)) if path.exists() else []
    if not lines:
        return _last_record(partition_dir, segment, 0)
    last = lines[-1]
    if not last.complete:
        raise ConnectorError(f"audit log {path} ends in a torn line {last.number}; run "
                             "`creditradar audit verify` and resume from a snapshot")
    return stored_record(last)


def tail_position(partition_dir: Path) -> AuditPosition:
    """The position after the last stored record of a partition."""
    segments = list_segments(partition_dir)
    if not segments:
        return START
    index, path = segments[-1]
    offset = path.stat().st_size
    last = _last_record(partition_dir, index, offset)
    if last is None:
        return AuditPosition(index, offset, 0, GENESIS, 0)
    return AuditPosition(index, offset, last.seq + 1, last.hash, _since_anchor(partition_dir))


def _since_anchor(partition_dir: Path) -> int:
    """Records after the last anchor, counted back through the segments."""
    count = 0
    for _, path in reversed(list_segments(partition_dir)):
        for line in reversed(list(read_lines(path))):
            if stored_record(line).kind == ANCHOR:
                return count
            count += 1
    return count


def _check_position(partition_dir: Path, partition: str, position: AuditPosition) -> str:
    """Refuse a position that does not match the stored chain; return the last event time."""
    path = segment_path(partition_dir, position.segment)
    size = path.stat().st_size if path.exists() else 0
    if size < position.offset:
        raise ConnectorError(f"audit log {path} is shorter ({size} bytes) than the snapshot "
                             f"position ({position.offset}); records were lost")
    last = _last_record(partition_dir, position.segment, position.offset)
    found = (GENESIS, 0, "") if last is None else (last.hash, last.seq + 1, last.event_time)
    if found[:2] != (position.head, position.seq):
        raise ConnectorError(f"audit partition {partition!r} does not match the snapshot "
                             f"position (seq {position.seq}): the log was changed or replaced")
    return found[2]


def _cut_after(partition_dir: Path, partition: str, position: AuditPosition) -> None:
    """Delete every byte stored after ``position`` (a repeated epoch, or a torn write)."""
    dropped_segments = 0
    for index, path in list_segments(partition_dir):
        if index > position.segment:
            path.unlink()
            dropped_segments += 1
    path = segment_path(partition_dir, position.segment)
    dropped_bytes = path.stat().st_size - position.offset if path.exists() else 0
    if dropped_bytes:
        os.truncate(path, position.offset)
    if dropped_bytes or dropped_segments:
        log.info("audit.resume_cut", partition=partition, segment=position.segment,
                 offset=position.offset, dropped_bytes=dropped_bytes,
                 dropped_segments=dropped_segments)
