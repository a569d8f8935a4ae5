"""The bytewax sink that writes the audit log, exactly once across recovery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zlib import adler32

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from config.audit import AuditSettings
from connectors.audit.record import canonical
from connectors.audit.writer import START, AuditPosition, AuditWriter
from connectors.sinks import close_or_record, naming


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a flow hands the audit sink: the record's kind, stable id, event time and body."""

    kind: str
    id: str
    event_time: str
    body: dict[str, Any] | bytes = field(default_factory=dict)
    """The body, or its canonical bytes when the flow built them directly (`input_body`)."""


Observer = Callable[[list[AuditEntry | list[AuditEntry]]], None]
"""Called with every batch the sink writes (operations metrics count them)."""


class _AuditPartition(StatefulSinkPartition[AuditEntry, AuditPosition]):
    def __init__(self, writer: AuditWriter, observe: Observer | None) -> None:
        self._writer = writer
        self._observe = observe

    def write_batch(self, values: list[AuditEntry | list[AuditEntry]]) -> None:
        if self._observe is not None:
            self._observe(values)
        with naming(self._writer.path):
            for value in values:
                for entry in value if isinstance(value, list) else (value,):
                    body = entry.body
                    body_json = body if isinstance(body, bytes) else canonical(body)
                    self._writer.append_encoded(entry.kind, entry.id, entry.event_time,
                                                body_json)

    def snapshot(self) -> AuditPosition:
        with naming(self._writer.path):
            return self._writer.position()

    def close(self) -> None:
        close_or_record(self._writer.close)


class AuditSink(FixedPartitionedSink[AuditEntry, AuditPosition]):
    """Writes ``(key, AuditEntry)`` items (or ``(key, [AuditEntry, ...])``) to the audit log
    under ``directory``.

    A key that names one of the ``partitions`` goes to that partition; any other key is
    spread by a stable hash. Each partition's recovery snapshot is its writer's position,
    so a resumed run first cuts the epoch it is about to repeat (a partition without one
    starts afresh). ``sealed``: the log is a
    run's, whose end writes its manifest (`AuditWriter.sealed`).
    """

    def __init__(self, directory: Path, settings: AuditSettings,
                 partitions: Sequence[str] = ("0",), observe: Observer | None = None, *,
                 sealed: bool = False) -> None:
        self.directory = Path(directory)
        self.settings = settings
        self.partitions = list(partitions)
        self.observe = observe
        self.sealed = sealed

    def list_parts(self) -> list[str]:
        return self.partitions

    def part_fn(self, item_key: str) -> int:
        # bytewax indexes this into the partition names in sorted order
        ordered = sorted(self.partitions)
        if item_key in ordered:
            return ordered.index(item_key)
        return adler32(item_key.encode("utf-8"))

    def build_part(self, step_id: str, for_part: str,
                   resume_state: AuditPosition | None) -> _AuditPartition:
        """The partition's writer at its snapshot's position; without one, at the start, as
        the other sinks do: a run moves an earlier run's log aside, so records there were
        written by this run before its first snapshot, and a resumed run writes them again
        (appended, they were in the log twice)."""
        writer = AuditWriter.resume(self.directory, for_part, self.settings,
                                    resume_state or START, sealed=self.sealed)
        return _AuditPartition(writer, self.observe)
