"""The durable delivery queue: one row per (message, channel), claimed per
(warning, channel, purpose) so a warning reaches a channel once for each purpose
(notify, escalate, resolved, digest) however often it is submitted or replayed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from config.errors import ConfigError
from connectors.channels.store import Store

SQLITE_MAX_INTEGER = 2**63 - 1
"""The largest integer SQLite stores (or takes as a LIMIT); a larger one cannot be bound."""


def message_id(*parts: str) -> str:
    """A stable id from the message's inputs, so a replay enqueues the same id again."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending send of one message to one channel."""

    seq: int
    message_id: str
    channel: str
    purpose: str
    title: str
    body: str
    body_format: str
    attempts: int


class Outbox:
    """Queue operations on the shared store; callers commit via ``store.db``."""

    def __init__(self, store: Store) -> None:
        self._db = store.db

    def unclaimed(self, warning_ids: list[str], channel: str, purpose: str) -> list[str]:
        """The ids not yet enqueued on ``channel`` for ``purpose``, in the given order."""
        taken = {
            row["warning_id"]
            for row in self._db.execute(
                f"SELECT warning_id FROM outbox_warnings WHERE channel = ? AND purpose = ? "
                f"AND warning_id IN ({','.join('?' * len(warning_ids))})",
                (channel, purpose, *warning_ids),
            )
        }
        return [w for w in warning_ids if w not in taken]

    def enqueue(self, msg_id: str, channel: str, purpose: str, warning_ids: list[str],
                title: str, body: str, body_format: str, now: float) -> bool:
        """Queue a message and claim its warnings; False if this message was queued before."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (message_id, channel, purpose, title, body, "
            "body_format, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (msg_id, channel, purpose, title, body, body_format, now),
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO outbox_warnings VALUES (?, ?, ?, ?)",
            [(w, channel, purpose, msg_id) for w in warning_ids],
        )
        return cursor.rowcount == 1

    def due(self, now: float, channels: set[str] | None = None) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first (on ``channels`` only,
        when given)."""
        sql = ("SELECT seq, message_id, channel, purpose, title, body, body_format, attempts "
               "FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?")
        args: tuple[Any, ...] = (now,)
        if channels is not None:
            sql += f" AND channel IN ({','.join('?' * len(channels))})"
            args += tuple(sorted(channels))
        rows = self._db.execute(sql + " ORDER BY next_attempt_at, seq", args).fetchall()
        return [Delivery(**dict(r)) for r in rows]

    def claim(self, seq: int, now: float, lease_seconds: float) -> float | None:
        """Take a due delivery for one attempt: its next attempt moves ``lease_seconds`` ahead,
        so no other worker sends it meanwhile (and a worker that dies mid-send leaves it to be
        retried once the lease ends). Returns the lease's end, the claim's token for the
        attempt's outcome; None when another worker took it first."""
        lease = now + lease_seconds
        with self._db:
            cursor = self._db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE seq = ? AND status = 'pending' "
                "AND next_attempt_at <= ?", (lease, seq, now))
        return lease if cursor.rowcount == 1 else None

    def next_attempt_at(self, skip_channels: set[str],
                        channels: set[str] | None = None) -> float | None:
        """The earliest pending attempt on a channel not in ``skip_channels`` (and among
        ``channels``, when given)."""
        sql = ("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE status = 'pending' "
               f"AND channel NOT IN ({','.join('?' * len(skip_channels))})")
        args: tuple[Any, ...] = tuple(skip_channels)
        if channels is not None:
            sql += f" AND channel IN ({','.join('?' * len(channels))})"
            args += tuple(sorted(channels))
        return self._db.execute(sql, args).fetchone()["t"]

    def pending(self, channel: str) -> int:
        """Deliveries still to be sent on ``channel`` (due or waiting for a retry)."""
        return self._db.execute("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' "
                                "AND channel = ?", (channel,)).fetchone()["n"]

    def sent_since(self, channel: str, since: float) -> list[float]:
        """Send times on ``channel`` at or after ``since`` (for the per-minute rate limit)."""
        return [
            r["at"] for r in self._db.execute(
                "SELECT at FROM sends WHERE channel = ? AND at >= ? ORDER BY at", (channel, since)
            )
        ]

    # The outcomes of an attempt apply only while its claim holds (``lease``, from `claim`):
    # a claim that lapsed during a slow send was taken by another worker, whose outcome is
    # the delivery's. Each returns whether it applied.

    def mark_sent(self, seq: int, lease: float, channel: str, now: float) -> bool:
        cursor = self._db.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
            "last_error = NULL WHERE seq = ? AND status = 'pending' AND next_attempt_at = ?",
            (now, seq, lease),
        )
        self._db.execute("INSERT INTO sends VALUES (?, ?)", (channel, now))
        self._db.execute("DELETE FROM sends WHERE at < ?", (now - 120.0,))
        return cursor.rowcount == 1

    def mark_attempt_failed(self, seq: int, lease: float, error: str,
                            retry_at: float | None) -> bool:
        """Count a failed attempt; ``retry_at`` None means the last attempt: status failed."""
        cursor = self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
            "status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, "
            "next_attempt_at = COALESCE(?, next_attempt_at) "
            "WHERE seq = ? AND status = 'pending' AND next_attempt_at = ?",
            (error, retry_at, retry_at, seq, lease),
        )
        return cursor.rowcount == 1

    def defer(self, seq: int, lease: float, note: str, retry_at: float) -> bool:
        """The receiver asked for a later attempt: wait until ``retry_at``; not a failure."""
        cursor = self._db.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ? "
            "WHERE seq = ? AND status = 'pending' AND next_attempt_at = ?",
            (retry_at, note, seq, lease))
        return cursor.rowcount == 1

    def pending_channels(self) -> set[str]:
        """The channels with deliveries still to be sent."""
        return {r["channel"] for r in self._db.execute(
            "SELECT DISTINCT channel FROM outbox WHERE status = 'pending'")}

    def retry_failed(self, now: float, channel: str | None = None) -> int:
        """Put failed deliveries back in the queue with a fresh attempt count; returns how
        many (``creditradar alerts deliver --retry-failed``)."""
        sql = ("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
               "WHERE status = 'failed'")
        args: tuple[Any, ...] = (now,)
        if channel is not None:
            sql, args = sql + " AND channel = ?", (now, channel)
        return self._db.execute(sql, args).rowcount

    def warnings_of(self, msg_id: str, channel: str) -> list[str]:
        return [
            r["warning_id"] for r in self._db.execute(
                "SELECT warning_id FROM outbox_warnings WHERE message_id = ? AND channel = ? "
                "ORDER BY warning_id", (msg_id, channel),
            )
        ]

    def rows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Deliveries, newest first, without bodies (for ``alerts history``): at most
        ``limit``, which must not be negative (SQLite would read that as no limit); one beyond
        what SQLite can hold means all of them."""
        if limit < 0:
            raise ConfigError(f"the number of deliveries to show cannot be negative ({limit})")
        sql = ("SELECT seq, message_id, channel, purpose, title, status, attempts, last_error, "
               "sent_at FROM outbox")
        args: tuple[Any, ...] = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        return [dict(r) for r in self._db.execute(sql + " ORDER BY seq DESC LIMIT ?",
                                                  (*args, min(limit, SQLITE_MAX_INTEGER)))]

    def counts(self) -> dict[str, int]:
        """Deliveries by status (pending, sent, failed)."""
        return {
            r["status"]: r["n"]
            for r in self._db.execute("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        }

    def counts_by_channel(self) -> dict[tuple[str, str], int]:
        """Deliveries by (channel, status)."""
        return {
            (r["channel"], r["status"]): r["n"]
            for r in self._db.execute(
                "SELECT channel, status, COUNT(*) AS n FROM outbox GROUP BY channel, status")
        }
