"""Where an explanation's lines lie: an index of a run's audit log and its scores.jsonl.

An explanation (`flows.explain`) keeps few of the log's lines: up to its moment, the inputs
of its customer and of the feeds read for every customer, and the customer's warnings; and
one latest score. Reading both files whole to find them cost nearly all of an explanation,
in proportion to the book (minutes for a book of 46,000 customers over five years). The
index records, for each line, where it lies and what selects it (kind, event time, feed,
customer, event id), in a SQLite file beside the log (``.audit-explain.sqlite`` for a log
``audit``), so that an explanation parses only the lines it keeps.

The index is derived and disposable. The first explanation builds it; later ones index only
what was appended since (a live run's log and scores grow), and a file changed otherwise (a
new run into the same folder) is indexed again. It vouches only for complete lines it could
read as the full reading does: where a file holds any other line (damaged, or still being
written), or the index cannot be written beside the log (a read-only copy), `LogIndex`
answers None and the explanation reads the files whole, to the same result.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.errors import ConnectorError
from connectors.audit import AuditRecord
from connectors.audit._segments import list_partitions, list_segments
from connectors.audit.record import END, INPUT, STOP, WARNING
from connectors.audit.verify import check_log_directory
from detectors.clock import parse_time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION = 1
"""The layout of the tables below (SQLite's ``user_version``): an index of another layout is
dropped and built again."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime INTEGER, indexed INTEGER,
  tail BLOB, usable INTEGER, part TEXT, segment INTEGER);
CREATE TABLE IF NOT EXISTS lines (
  path TEXT, start INTEGER, length INTEGER, digest INTEGER, kind TEXT, micros INTEGER,
  feed TEXT, customer TEXT, id INTEGER);
CREATE INDEX IF NOT EXISTS lines_customer ON lines (customer);
CREATE INDEX IF NOT EXISTS lines_feed ON lines (feed);
CREATE INDEX IF NOT EXISTS lines_id ON lines (id);
CREATE INDEX IF NOT EXISTS lines_path ON lines (path);
"""
"""A row per input, warning and score row of a customer not in default; ``digest`` is a hash
of the line's bytes (a line read back through the index must be the one indexed), ``id`` a
hash of an input's record id (a collision only brings a line more to `flows.explain`'s own
filter). A file's ``tail`` is its last bytes indexed, which must be unchanged for what was
appended after them to be indexed alone."""
_TAIL_BYTES = 64
_SCORES = "scores"
"""The ``part`` of the scores file's row in ``files`` (audit segments have their partition)."""
_LOCK = threading.Lock()
"""One thread updates an index at a time (the workspace explains two customers at once);
SQLite's own lock keeps processes apart."""


@dataclass(frozen=True, slots=True)
class Found:
    """What an explanation reads of the log and the scores, in their files' order: inputs
    that include all of those concerning its customer (`flows.explain` keeps only these),
    the customer's warnings and its latest score."""

    inputs: list[AuditRecord]
    warnings: list[AuditRecord]
    score: dict[str, Any] | None


class _Unusable(Exception):
    """A line the index cannot vouch for: the explanation reads the files whole."""


def micros(moment: datetime) -> int:
    """An aware moment as whole microseconds since 1970, exactly (a datetime's precision)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


class LogIndex:
    """The index of the audit log at ``log`` and of the scores file ``scores``."""

    def __init__(self, log: Path, scores: Path) -> None:
        self.log, self.scores = Path(log).resolve(), Path(scores).resolve()
        self.path = self.log.parent / f".{self.log.name}-explain.sqlite"

    def find(self, customer_id: str, as_of: datetime, every_customer: frozenset[str]
             ) -> Found | None:
        """The inputs at or before ``as_of`` of the feeds in ``every_customer`` and of the
        customer (with any input sharing an id with one of them), the customer's warnings,
        and its latest score not in default; None where the index cannot answer (see the
        module's docstring)."""
        try:
            check_log_directory(self.log)  # (no index beside what is no log)
            with _LOCK, self._connected() as db:
                if not self._update(db):
                    return None
                until = micros(as_of)
                return Found(self._inputs(db, customer_id, until, every_customer),
                             self._records(db, "SELECT l.path, start, length, digest "
                                           "FROM lines l "
                                           "JOIN files f USING (path) WHERE kind = ? AND "
                                           "micros <= ? AND customer = ? "
                                           "ORDER BY part, segment, start",
                                           (WARNING, until, customer_id)),
                             self._score(db, customer_id, until))
        except (sqlite3.Error, OSError, _Unusable, ConnectorError, ValueError, TypeError):
            return None

    @contextmanager
    def _connected(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=60, isolation_level=None)) as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                db.executescript(f"DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS lines; "
                                 f"PRAGMA user_version = {_VERSION};")
            db.executescript(_SCHEMA)
            yield db

    def _files(self) -> list[tuple[Path, str, int]]:
        """Every file the index covers, with its part and segment number."""
        files = [(path, part.name, number) for part in list_partitions(self.log)
                 for number, path in list_segments(part)]
        return files + [(self.scores, _SCORES, 0)] if self.scores.exists() else files

    def _update(self, db: sqlite3.Connection) -> bool:
        """Index what each file gained since last time; whether every file is usable."""
        db.execute("BEGIN IMMEDIATE")
        try:
            present = self._files()
            names = {str(path) for path, _, _ in present}
            for (gone,) in db.execute("SELECT path FROM files").fetchall():
                if gone not in names:
                    self._forget(db, gone)
            usable = all([self._follow(db, path, part, segment)
                          for path, part, segment in present])
            db.execute("COMMIT")
            return usable
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _follow(self, db: sqlite3.Connection, path: Path, part: str, segment: int) -> bool:
        """Index the lines of ``path`` appended since it was last indexed (all of them if it
        changed otherwise); whether it holds only lines the index vouches for."""
        stat = path.stat()
        name = str(path)
        known = db.execute("SELECT inode, size, mtime, indexed, tail, usable FROM files "
                           "WHERE path = ?", (name,)).fetchone()
        if known is not None and known[:3] == (stat.st_ino, stat.st_size, stat.st_mtime_ns):
            return bool(known[5])
        start = 0
        if known is not None and known[0] == stat.st_ino and stat.st_size > known[1] \
                and known[5] and _bytes(path, known[3] - len(known[4]), known[3]) == known[4]:
            start = known[3]  # appended to: from its first line not yet complete
        else:
            self._forget(db, name)
        indexed = [start]
        try:
            db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           _rows(path, part, indexed))
            usable = True
        except _Unusable:
            indexed, usable = [start], False
            self._forget(db, name)
        tail = _bytes(path, max(0, indexed[0] - _TAIL_BYTES), indexed[0])
        db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (name, stat.st_ino, stat.st_size, stat.st_mtime_ns, indexed[0], tail,
                    usable, part, segment))
        return usable

    @staticmethod
    def _forget(db: sqlite3.Connection, name: str) -> None:
        db.execute("DELETE FROM lines WHERE path = ?", (name,))
        db.execute("DELETE FROM files WHERE path = ?", (name,))

    def _inputs(self, db: sqlite3.Connection, customer_id: str, until: int,
                every_customer: frozenset[str]) -> list[AuditRecord]:
        every = sorted(every_customer)
        marks = ", ".join("?" * len(every))
        return self._records(
            db,
            "SELECT l.path, start, length, digest FROM lines l JOIN files f USING (path) "
            f"WHERE kind = ? AND micros <= ? AND (feed IN ({marks}) OR id IN ("
            "  SELECT id FROM lines WHERE kind = ? AND micros <= ? AND customer = ? "
            f"  AND COALESCE(feed, '') NOT IN ({marks}))) "
            "ORDER BY part, segment, start",
            (INPUT, until, *every, INPUT, until, customer_id, *every))

    def _records(self, db: sqlite3.Connection, query: str, args: Iterable[Any]
                 ) -> list[AuditRecord]:
        return [AuditRecord.from_line(line, canonical_only=False)
                for line in _lines(db.execute(query, tuple(args)).fetchall())]

    def _score(self, db: sqlite3.Connection, customer_id: str, until: int
               ) -> dict[str, Any] | None:
        found = db.execute("SELECT path, start, length, digest FROM lines WHERE kind = ? AND "
                           "path = ? AND customer = ? AND micros <= ? "
                           "ORDER BY start DESC LIMIT 1",
                           (_SCORES, str(self.scores), customer_id, until)).fetchall()
        return next((json.loads(line.decode("utf-8")) for line in _lines(found)), None)


def _rows(path: Path, part: str, indexed: list[int]) -> Iterator[tuple[Any, ...]]:
    """The rows of the complete lines of ``path`` from byte ``indexed[0]``, read a line at a
    time (a scores file may be gigabytes), moving ``indexed[0]`` past each. A scores file's
    last line without its LF is being written (it is left for later, as its reader does);
    the log's lines are all complete."""
    row_of = _score_row if part == _SCORES else _log_row
    with path.open("rb") as handle:
        handle.seek(indexed[0])
        for line in handle:
            if not line.endswith(b"\n"):
                if part == _SCORES:
                    return
                raise _Unusable(f"{path} ends in a line cut short")
            data = line[:-1]
            row = row_of(data)
            if row is not None:
                yield (str(path), indexed[0], len(data), _digest(data), *row)
            indexed[0] += len(line)


def _lines(places: list[tuple[str, int, int, int]]) -> Iterator[bytes]:
    """The bytes of each line at (path, start, length, digest), one file opened at a time;
    a line that is not the one indexed (the file was rewritten in place) is `_Unusable`."""
    opened: tuple[str, Any] | None = None
    try:
        for path, start, length, digest in places:
            if opened is None or opened[0] != path:
                if opened is not None:
                    opened[1].close()
                opened = (path, open(path, "rb"))  # noqa: SIM115 (closed here)
            opened[1].seek(start)
            line = opened[1].read(length)
            if _digest(line) != digest:
                raise _Unusable(f"{path} changed since it was indexed")
            yield line
    finally:
        if opened is not None:
            opened[1].close()


def _bytes(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def _digest(data: bytes) -> int:
    """Eight bytes of a hash of ``data`` as a signed integer (what SQLite stores)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def _log_row(line: bytes) -> tuple[Any, ...] | None:
    """(kind, micros, feed, customer, id) of an input or a warning of the log, as
    `flows.explain` selects it: an input's feed, the ``customer_id`` of its raw record and
    its id; a warning's customer. Other records (anchors, stops) are never selected, but
    must be read as the full reading does."""
    try:
        record = AuditRecord.from_line(line, canonical_only=False)
    except ConnectorError as exc:
        raise _Unusable(str(exc)) from None
    if record.kind not in (INPUT, WARNING, STOP, END):
        return None
    at = micros(_time(record.event_time))
    body = record.body
    if record.kind == WARNING:
        return (WARNING, at, None, _text(body.get("customer_id")), None)
    if record.kind != INPUT:
        return None
    feed = body.get("feed")
    if feed is not None and not isinstance(feed, str):
        raise _Unusable("an input's feed is no text")
    return (INPUT, at, feed, raw_customer(body), id_hash(record.id))


def id_hash(record_id: str) -> int:
    """A record id as a 64-bit integer, for the index of ids (a collision is harmless)."""
    return _digest(record_id.encode("utf-8", "surrogatepass"))


def _score_row(line: bytes) -> tuple[Any, ...] | None:
    """(kind, micros, feed, customer, id) of one line of scores.jsonl: a row of a customer
    in default is never its latest score (`flows.explain`), so it is not selectable."""
    if not line.strip():
        return None
    try:
        row = json.loads(line.decode("utf-8"))  # (strictly, as the full reading does)
    except (ValueError, RecursionError):
        raise _Unusable("a line of the scores is no JSON") from None
    if not isinstance(row, dict):
        raise _Unusable("a line of the scores is no object")
    customer = row.get("customer_id")
    if not isinstance(customer, str) or row.get("defaulted"):
        return None
    return (_SCORES, micros(_time(row.get("event_time"))), None, customer, None)


def _time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise _Unusable("an event time is no text")
    try:
        return parse_time(text)
    except ValueError:
        raise _Unusable(f"event time {text[:40]!r} is no time") from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def raw_customer(body: dict[str, Any]) -> str | None:
    """The ``customer_id`` of a logged input's raw record, if it is text (a logged input
    passed the contract, whose ids are strict strings, so it is the one the monitor
    parsed)."""
    try:
        raw = json.loads(str(body["raw"]))
    except (KeyError, ValueError, RecursionError):
        return None
    return _text(raw.get("customer_id")) if isinstance(raw, dict) else None

