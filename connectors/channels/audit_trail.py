"""Copies the notifier's history into the tamper-evident audit log.

Every notification decision the notifier records (routed, queued, sent, failed, muted,
silenced, acknowledged, escalated...) is appended, in history order, to the partition
``notifications`` of ``STATE_DIR/audit``: a hash-chained log that ``creditradar audit verify``
checks like any other. The monitor's delivery passes and the ``alerts`` commands both
record through a `HistoryTrail`; a file lock keeps their appends in one chain.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.audit import AuditSettings
from connectors.audit import AuditWriter
from connectors.channels.store import Store

PARTITION = "notifications"
AUDIT_DIR = "audit"
_MIRRORED = "audit_mirrored_seq"


class HistoryTrail:
    """Keeps one audit writer open between calls, so appending stays cheap as the log grows;
    reopens it (reading the tail again) only when another process wrote in between."""

    def __init__(self, state_dir: Path, settings: AuditSettings) -> None:
        self._directory = state_dir / AUDIT_DIR
        self._settings = settings
        self._writer: AuditWriter | None = None

    def record(self, store: Store) -> int:
        """Append the history events not yet in the audit log; return how many.

        A crash between the append and the bookkeeping repeats those events once, under the
        same ids (``n-<seq>``), on the next call: a reader sees the repeat, nothing is lost.
        """
        self._directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            done = int(store.meta(_MIRRORED) or 0)
            rows = store.db.execute(
                "SELECT * FROM events WHERE seq > ? ORDER BY seq", (done,)
            ).fetchall()
            if not rows:
                return 0
            writer = self._current()
            for row in rows:
                writer.append("notification", f"n-{row['seq']}", row["at"],
                              {k: row[k] for k in ("kind", "warning_id", "channel", "detail")})
            writer.flush()
            with store.db:
                store.set_meta(_MIRRORED, str(rows[-1]["seq"]))
            return len(rows)

    def close(self) -> None:
        """Seal the log with a final anchor (unless another process wrote after us)."""
        if self._writer is None:
            return
        with self._locked():
            if self._writer.at_tail():
                self._writer.close()
            else:
                self._writer.release()
        self._writer = None

    def _current(self) -> AuditWriter:
        if self._writer is not None and not self._writer.at_tail():
            self._writer.release()
            self._writer = None
        if self._writer is None:
            self._writer = AuditWriter(self._directory, PARTITION, self._settings)
        return self._writer

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self._directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
