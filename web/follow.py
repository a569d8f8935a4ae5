"""Follow a run's output folder into the workspace's database, as the run writes it.

The monitor appends ``warnings.jsonl`` as event-time days close, ``scores.jsonl`` with
``--scores``, ``watchlist.jsonl`` at the end, and the audit log under ``audit/`` (whose input
records carry the customers' profiles). `Follower.poll` reads the complete lines added to each
file since its last call (at most `CHUNK_BYTES` of each) and upserts what they say; a file
that was replaced (a new run) is read again from its start. Scores wait until the log's
profiles are read to their end (a score's exposure needs the limit) and the watchlist until
the scores are, so that a big run read in many polls, even by a workspace started again
part-way, comes out as read in one go. Nothing here writes to the run's folder.

A line that cannot be read (not JSON, not an object, a field missing or of the wrong kind,
longer than `CHUNK_BYTES`: a file damaged by hand or by a disk) is skipped, logged and
counted (`Follower.skipped`), so that one bad line neither stops the workspace from
following the rest of the run nor puts text where the database keeps numbers. In the log,
only the profiles and exchange rates are read, so only they are checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Connection

from detectors.clock import DAY, seconds_of, to_rfc3339
from detectors.fx import Rates
from detectors.records import Warning
from flows.jsonl import DAMAGED, finite_number, probability
from web.db import Store
from web.tables import customers, scores, tags_text, warnings

WARNINGS, SCORES, WATCHLIST, AUDIT = "warnings.jsonl", "scores.jsonl", "watchlist.jsonl", "audit"
CHUNK_BYTES = 16 * 1024 * 1024
"""At most this much of one file per poll, so that the first rows of a big run show (and a
poll ends) before the whole file is read."""
_PROFILE, _RATE = b'"feed":"customers"', b'"feed":"fx"'
IN_LIST = 5000
"""Ids per ``IN (...)`` list (SQLite limits the parameters of one statement)."""
SKIPPED = "skipped:"
"""Prefix of the meta keys that count each file's skipped lines."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading of one file stopped: its inode (a replaced file starts again) and byte."""

    inode: int
    offset: int


def normal_time(text: str) -> str:
    """An event time in the one fixed form the database compares as text."""
    return to_rfc3339(seconds_of(text))


class Follower:
    """Copies new lines of a run's outputs under ``out`` into ``store``."""

    def __init__(self, out: Path, store: Store, fx_rates: Mapping[str, float] | None = None,
                 reporting_currency: str = "EUR", fx_max_age_days: int = 7) -> None:
        """``fx_rates``, ``reporting_currency`` and ``fx_max_age_days``: the run's settings,
        so that limits are shown in the currency of the exposure the run wrote, at the rate
        of their day (`detectors.fx`; the watchlist, when written, has the run's figures)."""
        self.out = Path(out)
        self.store = store
        self.reporting_currency = reporting_currency
        self._fx_rates, self._fx_max_age_days = dict(fx_rates or {}), fx_max_age_days
        self.rates = self._no_rates()
        self._rates_reread = False
        self._first_segment: int | None = None

    def poll(self) -> int:
        """Read what was appended since the last poll; returns how many lines were taken."""
        segments = self._audit_segments()
        if not self._rates_reread:
            self._reread_rates(segments)
            self._rates_reread = True
        self._forget_rates_of_an_earlier_run(segments)
        taken, caught_up = 0, True
        for path in segments:
            lines, caught_up = self._follow(path, self._profiles)
            taken += lines
            if not caught_up:
                break
        taken += self._follow(self.out / WARNINGS, self._warnings)[0]  # needs nothing before
        for path, take in ((self.out / SCORES, self._scores),
                           (self.out / WATCHLIST, self._watchlist)):
            if not caught_up:  # a score's exposure needs the profiles; the watchlist, the scores
                break
            lines, caught_up = self._follow(path, take)
            taken += lines
        return taken

    def _no_rates(self) -> Rates:
        """The rates known before any line is read: the settings' static ones."""
        return Rates(self.reporting_currency, self._fx_rates, self._fx_max_age_days)

    def _forget_rates_of_an_earlier_run(self, segments: list[Path]) -> None:
        """A new run (its log's first segment is a new file) starts with no rates read."""
        first = segments[0] if segments else None
        try:
            inode = first.stat().st_ino if first is not None else None
        except FileNotFoundError:  # removed since it was listed: a new run is starting
            inode = None
        if self._first_segment is not None and inode != self._first_segment:
            self.rates = self._no_rates()
        self._first_segment = inode

    def _audit_segments(self) -> list[Path]:
        """The audit log's segment files, partition by partition in segment order (their
        names are fixed-width, so name order is that order)."""
        return sorted((self.out / AUDIT).glob("*/segment-*.jsonl"))

    def _reread_rates(self, segments: list[Path]) -> None:
        """The exchange rates of the log's lines read before this follower began (a
        workspace started again), so that the profiles it reads next are converted at their
        day's rate as they would have been in one go."""
        for path in segments:
            stored = self.store.get_meta("follow:" + os.path.relpath(path, self.out))
            if not stored:
                continue
            position = Position(**json.loads(stored))
            if position.inode != path.stat().st_ino:
                continue  # a new run's file: read from its start anyway
            with path.open("rb") as handle:
                read = 0
                while read < position.offset:
                    data = handle.read(min(CHUNK_BYTES, position.offset - read))
                    if not data:
                        break
                    whole = data[:data.rfind(b"\n") + 1] or data
                    handle.seek(read + len(whole))
                    read += len(whole)
                    rates = [line for line in whole.split(b"\n") if _RATE in line]
                    _read_each(rates, lambda line: self._profile(json.loads(line), {}))

    def skipped(self) -> dict[str, dict[str, Any]]:
        """Each file of the run with lines that could not be read: how many, and where and
        why the latest one was skipped (``offset`` in bytes, ``reason``)."""
        found = {}
        for path in (*self._audit_segments(), *(self.out / name for name in
                                                 (WARNINGS, SCORES, WATCHLIST))):
            name = os.path.relpath(path, self.out)
            stored = self.store.get_meta(SKIPPED + name)
            if stored:
                found[name] = json.loads(stored)
        return found

    def _follow(self, path: Path, take: Callable[[Connection, list[bytes]],
                                                 list[tuple[int, str]]]) -> tuple[int, bool]:
        """Read ``path``'s complete new lines (at most `CHUNK_BYTES`) into the store with
        ``take``, which returns the index and the reason of each line it could not read:
        how many lines were read, and whether all the file held has been."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return 0, True
        name = os.path.relpath(path, self.out)
        stored = self.store.get_meta("follow:" + name)
        position = Position(**json.loads(stored)) if stored else Position(stat.st_ino, 0)
        if position.inode != stat.st_ino or stat.st_size < position.offset:
            position = Position(stat.st_ino, 0)
        if stat.st_size == position.offset:
            return 0, True
        with path.open("rb") as handle:
            handle.seek(position.offset)
            data = handle.read(CHUNK_BYTES)
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) == CHUNK_BYTES:  # no run writes such a line: damage
            past = _past_long_line(path, position.offset + CHUNK_BYTES)
            if past is None:
                return 0, True  # its end is still being written
            reason = f"a line longer than {CHUNK_BYTES} bytes"
            self._record(name, position, past, lambda _: [(position.offset, reason)])
            return 1, False
        if end == 0:
            return 0, True  # a line still being written
        lines, offsets, at = [], [], position.offset
        for line in data[:end].split(b"\n")[:-1]:
            if line.strip():
                lines.append(line)
                offsets.append(at)
            at += len(line) + 1
        self._record(name, position, position.offset + end, lambda connection: [
            (offsets[i], reason) for i, reason in take(connection, lines)])
        return len(lines), len(data) < CHUNK_BYTES

    def _record(self, name: str, position: Position, end: int,
                read: Callable[[Connection], list[tuple[int, str]]]) -> None:
        """In one transaction: ``read`` the lines from ``position`` (it returns the offset
        and reason of each line it left out), count those, and note that ``name`` is read
        up to ``end``."""
        counted = None if position.offset == 0 else self.store.get_meta(SKIPPED + name)
        with self.store.begin() as connection:
            bad = read(connection)
            if bad or position.offset == 0:  # a file read from its start: a new count
                self._count_skipped(connection, name, counted, bad)
            self.store.set_meta(connection, "follow:" + name, json.dumps(
                {"inode": position.inode, "offset": end}))

    def _count_skipped(self, connection: Connection, name: str, counted: str | None,
                       bad: list[tuple[int, str]]) -> None:
        """Add ``bad`` (offset, reason) to ``counted``, the count of ``name``'s skipped lines
        so far (None or empty: none), and log each."""
        if not bad:
            self.store.set_meta(connection, SKIPPED + name, "")
            return
        count = (json.loads(counted)["lines"] if counted else 0) + len(bad)
        offset, reason = bad[-1]
        for where, why in bad:
            log.warning("workspace.line_skipped", file=name, offset=where, reason=why)
        self.store.set_meta(connection, SKIPPED + name, json.dumps(
            {"lines": count, "offset": offset, "reason": reason}))

    # -- each file -------------------------------------------------------------------------

    def _profiles(self, connection: Connection, lines: list[bytes]) -> list[tuple[int, str]]:
        latest: dict[str, dict[str, Any]] = {}

        def take(line: bytes) -> None:
            if _PROFILE in line or _RATE in line:  # cheap: most records are other feeds'
                self._profile(json.loads(line), latest)

        bad = _read_each(lines, take)
        if latest:
            _newer(self.store, connection, list(latest.values()), "profile_at")
        return bad

    def _profile(self, record: dict[str, Any], latest: dict[str, dict[str, Any]]) -> None:
        """A logged input of the customers or fx feed into ``latest`` (by customer) or the
        rates; any other record is passed over. Limits are kept in the reporting currency,
        beside the exposure, and the credit limit also in the customer's own currency (one
        without a currency is in the reporting currency, as the monitor reads it), in which
        the ERP keeps it and a desk proposes a new one."""
        body = record["body"]
        if record.get("kind") != "input" or body.get("feed") not in ("customers", "fx"):
            return
        raw = json.loads(body["raw"])
        at = normal_time(str(raw.get("event_time") or record["event_time"]))
        day = seconds_of(at) // DAY
        if body["feed"] == "fx":
            self.rates.put(str(raw["base"]), str(raw["currency"]), float(raw["rate"]), day)
            return
        own = raw.get("currency")
        own = own if isinstance(own, str) else self.reporting_currency
        rate = self.rates.rate(own, day)
        limit = _float(raw.get("credit_limit"))
        row = {"customer_id": str(raw["customer_id"]), "name": raw.get("name"),
               "country": raw.get("country"), "industry": raw.get("industry"),
               "currency": self.reporting_currency, "customer_currency": own,
               "credit_limit": _times(limit, rate), "customer_credit_limit": limit,
               "insured_limit": _times(_float(raw.get("insured_limit")), rate),
               "tags": tags_text(raw.get("tags") or []),
               "profile_at": at}
        before = latest.get(row["customer_id"])
        if before is None or before["profile_at"] <= at:
            latest[row["customer_id"]] = row

    def _warnings(self, connection: Connection, lines: list[bytes]) -> list[tuple[int, str]]:
        rows, latest = [], {}

        def take(line: bytes) -> None:
            w = json.loads(line)
            at = normal_time(_text(w, "event_time"))
            row = {"warning_id": _text(w, "warning_id"), "customer_id": _text(w, "customer_id"),
                   "event_time": at, "kind": _text(w, "kind"),
                   "severity": _text(w, "severity", optional=True),
                   "grade": _text(w, "grade", optional=True),
                   "pd": _probability(w, optional=True), "rank": _whole(w, "rank"),
                   "category": _text(w, "category", optional=True),
                   "body": json.dumps(w, ensure_ascii=False)}
            _warning_record(w)  # the pages show its fields: a damaged one gave a 500
            customer = {"customer_id": row["customer_id"], "warning_id": row["warning_id"],
                        "warning_kind": row["kind"], "warning_at": at, "acknowledged": False,
                        "exposure": _amount(w, "exposure"),
                        "insured_share": _amount(w, "insured_share"),
                        "defaulted": row["kind"] == "default"}
            rows.append(row)
            before = latest.get(row["customer_id"])
            if before is None or (before["warning_at"], before["warning_id"]) <= (
                    at, row["warning_id"]):
                latest[row["customer_id"]] = customer

        bad = _read_each(lines, take)
        self.store.upsert(connection, warnings, rows,
                          update=("event_time", "kind", "severity", "grade", "pd", "rank",
                                  "category", "body"))
        _newer(self.store, connection, list(latest.values()), "warning_at")
        return bad

    def _scores(self, connection: Connection, lines: list[bytes]) -> list[tuple[int, str]]:
        history, latest = [], {}

        def take(line: bytes) -> None:
            s = json.loads(line)
            if s.get("defaulted"):  # PD 1 from the default on: the watchlist row says so
                return
            at = normal_time(_text(s, "event_time"))
            customer_id, pd, grade = _text(s, "customer_id"), _probability(s), _text(s, "grade")
            reasons = s.get("reasons") or []
            features = s.get("features") or {}
            row = {"customer_id": customer_id, "pd": pd, "pd_term": _term_json(s),
                   "grade": grade, "rank": _whole(s, "rank"), "scored_at": at,
                   "top_reason": _text(reasons[0], "code") if reasons else None,
                   "utilisation": _amount(features, "utilisation")}
            if s.get("month_end"):
                history.append({"customer_id": customer_id, "at": at, "pd": pd,
                                "grade": grade})
            before = latest.get(customer_id)
            if before is None or before["scored_at"] <= at:
                latest[customer_id] = row

        bad = _read_each(lines, take)
        self.store.upsert(connection, scores, history)
        _newer(self.store, connection, list(latest.values()), "scored_at")
        c = customers.c
        ids = list(latest)
        for start in range(0, len(ids), IN_LIST):  # exposure as of the latest score
            connection.execute(customers.update().where(
                c.customer_id.in_(ids[start:start + IN_LIST]), c.utilisation.is_not(None),
                c.credit_limit.is_not(None)).values(exposure=c.utilisation * c.credit_limit))
        return bad

    def _watchlist(self, connection: Connection, lines: list[bytes]) -> list[tuple[int, str]]:
        rows = []

        def take(line: bytes) -> None:
            w = json.loads(line)
            if not isinstance(w["defaulted"], bool):
                raise TypeError("defaulted is not true or false")
            rows.append({"customer_id": _text(w, "customer_id"), "pd": _probability(w),
                         "pd_term": _term_json(w), "grade": _text(w, "grade"),
                         "scored_at": normal_time(_text(w, "event_time")),
                         "top_reason": _text(w, "top_reason", optional=True),
                         "defaulted": w["defaulted"],
                         **{k: _amount(w, k) for k in ("exposure", "credit_limit",
                                                       "insured_limit", "customer_credit_limit")
                            if k in w},
                         **({"customer_currency": _text(w, "customer_currency")}
                            if w.get("customer_currency") is not None else {})})

        bad = _read_each(lines, take)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:  # one statement per set of columns: a row without a limit keeps it
            by_columns.setdefault(tuple(row), []).append(row)
        for same in by_columns.values():
            _newer(self.store, connection, same, "scored_at")
        return bad


def _past_long_line(path: Path, start: int) -> int | None:
    """The offset just past the end of the line that runs on at ``start`` of ``path`` (None
    while its end is not written)."""
    with path.open("rb") as handle:
        handle.seek(start)
        at = start
        while chunk := handle.read(CHUNK_BYTES):
            newline = chunk.find(b"\n")
            if newline >= 0:
                return at + newline + 1
            at += len(chunk)
    return None


def _warning_record(line: dict[str, Any]) -> None:
    """Refuse a line that is no warning record (`detectors.records.Warning`), with a
    ValueError naming its first wrong field."""
    try:
        Warning.model_validate(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the line"
        raise ValueError(f"not a warning record: {where}: {first['msg']}") from None


def _read_each(lines: list[bytes], take: Callable[[bytes], Any]) -> list[tuple[int, str]]:
    """``take`` each line; the index and the reason of each line it could not read."""
    bad = []
    for i, line in enumerate(lines):
        try:
            take(line)
        except DAMAGED as exc:
            bad.append((i, f"{type(exc).__name__}: {exc}"[:200]))
    return bad


def _text(record: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    """``record[key]`` as text (None where ``optional`` and absent or null)."""
    value = record.get(key) if optional else record[key]
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _probability(record: dict[str, Any], *, optional: bool = False) -> float | None:
    """``record["pd"]``, a number from 0 to 1 (None where ``optional`` and absent)."""
    if optional and record.get("pd") is None:
        return None
    pd = probability(record["pd"])
    if pd is None:
        raise ValueError("pd is not a probability")
    return pd


def _whole(record: dict[str, Any], key: str) -> int | None:
    """``record[key]`` as a whole number, None where absent or null."""
    value = record.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{key} is not a whole number")
    return value


def _amount(record: dict[str, Any], key: str) -> float | None:
    """``record[key]`` as a finite number, None where absent or null."""
    value = record.get(key)
    if value is None:
        return None
    number = finite_number(value)
    if number is None:
        raise TypeError(f"{key} is not a number")
    return number


def _term_json(record: dict[str, Any]) -> str | None:
    """A score's or watchlist row's published term structure as the customers table keeps
    it (None when it has none)."""
    term = record.get("pd_term")
    if not term:
        return None
    if not isinstance(term, list) or not all(
            isinstance(point, dict) and _whole(point, "months") is not None
            and _probability(point) is not None for point in term):
        raise TypeError("pd_term is not a list of months and PDs")
    return json.dumps(term)


def _times(amount: float | None, rate: float | None) -> float | None:
    return None if amount is None or rate is None else amount * rate


def _newer(store: Store, connection: Connection, rows: list[dict[str, Any]],
           stamp: str) -> None:
    """Upsert customer columns from ``rows`` where the row's ``stamp`` time is not older than
    the stored one (files arrive out of event-time order while a run is going)."""
    if not rows:
        return
    statement = store._insert(customers)
    names = [name for name in rows[0] if name != "customer_id"]
    column = customers.c[stamp]
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={name: statement.excluded[name] for name in names},
        where=(column.is_(None)) | (column <= statement.excluded[stamp]))
    connection.execute(statement, rows)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
