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
import math
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.audit import AuditSettings
from connectors.audit import AuditRecord, AuditWriter, VerifyReport, read_log, verify_log

PARTITION = "workspace"
WINDOW_KEYS = 10_000
"""The most keys `OncePerWindow` lets through in one window (what bounds its memory, and the
trail's growth from requests anyone can send, whatever addresses they come from)."""


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


class OncePerWindow:
    """Lets the first of each key through in each window of ``seconds``, and no other: what
    bounds the steps that requests anyone can send write to the trail (`web.app.App.refusal`).
    A window starts with the first key after the last one ended; at most `WINDOW_KEYS` keys
    pass in one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._started = -math.inf
        self._seen: set[Hashable] = set()

    def first(self, key: Hashable) -> bool:
        """Whether ``key`` is the first of its kind in the current window (and there is room
        for it)."""
        now = time.monotonic()
        with self._lock:
            if now - self._started >= self.seconds:
                self._started, self._seen = now, set()
            if key in self._seen or len(self._seen) >= WINDOW_KEYS:
                return False
            self._seen.add(key)
            return True
