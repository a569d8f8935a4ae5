"""The workspace's steps in a hash-chained audit log: cases, proposals, decisions, actions
sent, inbox changes, sign-ins and refusals.

Records go to partition ``workspace`` of the log under the workspace's data folder; each step
is appended and sealed with a final anchor at once, so the log verifies as whole between
steps (`creditradar audit verify --log DATA/audit`). A file lock keeps the appends of several
server processes in one chain. Every record carries two times: ``event_time`` is the data's
(the warning's event time, where the step concerns one) and ``body.at`` the wall-clock time
of the human step.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.audit import AuditSettings
from connectors.audit import AuditRecord, AuditWriter, VerifyReport, read_log, verify_log

PARTITION = "workspace"


def wall_time() -> str:
    """Now, in UTC, to the microsecond (the time of a human step)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Trail:
    """Appends workspace steps to ``directory`` (an audit log of its own)."""

    def __init__(self, directory: Path, settings: AuditSettings,
                 partition: str = PARTITION) -> None:
        self.directory = Path(directory)
        self.settings = settings
        self.partition = partition
        self._lock = threading.Lock()

    def record(self, kind: str, id: str, body: dict[str, Any], *, by: str | None,
               event_time: str | None = None) -> AuditRecord:
        """Append one step: ``kind`` (``case_opened``, ``refused``...), the id of the thing
        it concerns, its details, who did it and the data's event time (the wall time when
        the step concerns no data)."""
        at = wall_time()
        full = {**body, "by": by, "at": at}
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, self._locked():
            writer = AuditWriter(self.directory, self.partition, self.settings)
            try:
                return writer.append(kind, id, event_time or at, full)
            finally:
                writer.close()

    def records(self, limit: int = 200) -> list[AuditRecord]:
        """The latest steps (anchors left out), newest first."""
        if not (self.directory / self.partition).is_dir():
            return []
        found = [r for r in read_log(self.directory) if r.kind != "anchor"]
        return found[::-1][:limit]

    def verify(self) -> VerifyReport | None:
        """The verdict on the log, or None before the first step."""
        if not (self.directory / self.partition).is_dir():
            return None
        return verify_log(self.directory, self.settings.key_bytes())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
