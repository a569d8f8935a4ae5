"""Copies the notifier's history into the tamper-evident audit log.

Every notification decision the notifier records (routed, queued, sent, failed, muted,
silenced, acknowledged, escalated...) is appended, in history order, to the partition
``notifications`` of ``STATE_DIR/audit``: a hash-chained log that ``creditradar audit verify``
checks like any other. The monitor's delivery passes and the ``alerts`` commands both call
`record_history`; a file lock keeps their appends in one chain.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from config.audit import AuditSettings
from connectors.audit import AuditWriter
from connectors.channels.store import Store

PARTITION = "notifications"
AUDIT_DIR = "audit"
_MIRRORED = "audit_mirrored_seq"


def record_history(store: Store, state_dir: Path, settings: AuditSettings) -> int:
    """Append the history events not yet in the audit log; return how many were appended.

    A crash between the append and the bookkeeping repeats those events once, under the
    same ids (``n-<seq>``), on the next call: a reader sees the repeat, nothing is lost.
    """
    directory = state_dir / AUDIT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = int(store.meta(_MIRRORED) or 0)
        rows = store.db.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq", (done,)
        ).fetchall()
        if not rows:
            return 0
        writer = AuditWriter(directory, PARTITION, settings)
        for row in rows:
            writer.append("notification", f"n-{row['seq']}", row["at"],
                          {key: row[key] for key in ("kind", "warning_id", "channel", "detail")})
        writer.close()
        with store.db:
            store.set_meta(_MIRRORED, str(rows[-1]["seq"]))
        return len(rows)
