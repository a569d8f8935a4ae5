"""The notifier's durable state in one SQLite file: warnings seen, history events, acks,
silences, inhibitors and the event-time watermark. The delivery queue is in ``outbox.py``,
group and digest bookkeeping in ``scheduler.py``; all share this connection and schema."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detectors.clock import parse_time
from detectors.records import Warning

DB_NAME = "alerts.sqlite3"
BUSY_SECONDS = 30.0
"""How long a connection waits for another one's lock before "database is locked"."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warnings (
  warning_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, event_time TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
  warning_id TEXT, channel TEXT, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS acks (
  warning_id TEXT PRIMARY KEY, by TEXT NOT NULL, at TEXT NOT NULL, comment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS silences (
  silence_id TEXT PRIMARY KEY, customer_id TEXT, warning_id TEXT, starts_at TEXT,
  until TEXT NOT NULL, by TEXT NOT NULL, comment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inhibitors (
  rule INTEGER NOT NULL, key TEXT NOT NULL, customer_id TEXT NOT NULL, source TEXT NOT NULL,
  since TEXT NOT NULL, until TEXT NOT NULL, PRIMARY KEY (rule, key, source));
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, channel TEXT NOT NULL,
  purpose TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, body_format TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL, last_error TEXT, sent_at REAL, UNIQUE (message_id, channel));
CREATE TABLE IF NOT EXISTS outbox_warnings (
  warning_id TEXT NOT NULL, channel TEXT NOT NULL, purpose TEXT NOT NULL,
  message_id TEXT NOT NULL, PRIMARY KEY (warning_id, channel, purpose));
CREATE TABLE IF NOT EXISTS sends (channel TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS group_items (
  group_key TEXT NOT NULL, warning_id TEXT NOT NULL, purpose TEXT NOT NULL,
  flushed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (group_key, warning_id, purpose));
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY, route TEXT NOT NULL, receiver TEXT NOT NULL,
  next_flush TEXT, last_flush TEXT);
CREATE TABLE IF NOT EXISTS repeats (
  group_key TEXT NOT NULL, customer_id TEXT NOT NULL, grade TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (group_key, customer_id, grade));
CREATE TABLE IF NOT EXISTS digest_items (
  route TEXT NOT NULL, warning_id TEXT NOT NULL, included INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (route, warning_id));
CREATE TABLE IF NOT EXISTS digests (route TEXT PRIMARY KEY, next_due TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
  idempotency_key TEXT PRIMARY KEY, kind TEXT NOT NULL, customer_id TEXT NOT NULL,
  warning_id TEXT, body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'queued',
  confirmed_by TEXT, confirmed_at TEXT, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS escalations (
  warning_id TEXT NOT NULL, route TEXT NOT NULL, due TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (warning_id, route));
"""


def _write_ahead(db: sqlite3.Connection) -> None:
    """Switch ``db`` to write-ahead logging. While another connection switches the same new
    file (the workers of a run open it at once), SQLite answers "database is locked" at once,
    without the connection's busy wait: try again, for as long as that wait would last."""
    give_up = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= give_up:
                raise
            time.sleep(0.01)


def ts(moment: datetime) -> str:
    """Fixed-width UTC text, so SQL string comparison is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """Opens (creating if needed) ``state_dir/alerts.sqlite3``; one per process and thread.

    The file holds warnings and delivery errors: only its owner may read it (mode 0600; its
    journal files inherit the mode)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = state_dir / DB_NAME
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        # the timeout lets bytewax workers and the CLI share the file without "database is locked"
        self.db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_SECONDS)
        self.db.row_factory = sqlite3.Row
        _write_ahead(self.db)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def put_warning(self, warning: Warning) -> bool:
        """Remember a warning; False when this id was seen before (a replayed input)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO warnings VALUES (?, ?, ?, ?)",
            (warning.warning_id, warning.customer_id, ts(parse_time(warning.event_time)),
             warning.model_dump_json()),
        )
        return cursor.rowcount == 1

    def warning(self, warning_id: str) -> Warning:
        row = self.db.execute(
            "SELECT body FROM warnings WHERE warning_id = ?", (warning_id,)
        ).fetchone()
        return Warning.model_validate_json(row["body"])

    def event(self, at: str, kind: str, warning_id: str | None = None,
              channel: str | None = None, detail: str = "") -> None:
        """Append one line to the history (notifications, failures, acks, escalations...)."""
        self.db.execute(
            "INSERT INTO events (at, kind, warning_id, channel, detail) VALUES (?, ?, ?, ?, ?)",
            (at, kind, warning_id, channel, detail),
        )

    def history(self, warning_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Most recent history events first, optionally for one warning."""
        sql, args = "SELECT * FROM events", ()
        if warning_id is not None:
            sql, args = sql + " WHERE warning_id = ?", (warning_id,)
        rows = self.db.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(row) for row in rows]

    def ack(self, warning_id: str, by: str, at: str, comment: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO acks VALUES (?, ?, ?, ?)", (warning_id, by, at, comment)
        )

    def is_acked(self, warning_id: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM acks WHERE warning_id = ?", (warning_id,)
        ).fetchone() is not None

    def add_silence(self, row: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO silences VALUES (:silence_id, :customer_id, :warning_id, "
            ":starts_at, :until, :by, :comment)", row,
        )

    def silences(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM silences ORDER BY silence_id")]

    def add_inhibitor(self, rule: int, key: str, customer_id: str, source: str,
                      since: str, until: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO inhibitors VALUES (?, ?, ?, ?, ?, ?)",
            (rule, key, customer_id, source, since, until),
        )

    def inhibited_by(self, rule: int, key: str, at: str, target: str) -> str | None:
        """The source warning that inhibits ``target`` under ``rule`` at ``at``, if any."""
        row = self.db.execute(
            "SELECT source FROM inhibitors WHERE rule = ? AND key = ? AND since <= ? "
            "AND until > ? AND source != ? ORDER BY since LIMIT 1",
            (rule, key, at, at, target),
        ).fetchone()
        return None if row is None else row["source"]

    def resolve_customer(self, customer_id: str) -> None:
        """A resolved customer inhibits nothing more and escalates nothing more."""
        self.db.execute("DELETE FROM inhibitors WHERE customer_id = ?", (customer_id,))
        self.db.execute(
            "UPDATE escalations SET done = 1 WHERE warning_id IN "
            "(SELECT warning_id FROM warnings WHERE customer_id = ?)", (customer_id,),
        )
