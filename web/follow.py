"""Follow a run's output folder into the workspace's database, as the run writes it.

The monitor appends ``warnings.jsonl`` as event-time days close, ``scores.jsonl`` with
``--scores``, ``watchlist.jsonl`` at the end, and the audit log under ``audit/`` (whose input
records carry the customers' profiles). `Follower.poll` reads the complete lines added to each
file since its last call and upserts what they say; a file that was replaced (a new run) is
read again from its start. Nothing here writes to the run's folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from detectors.clock import DAY, parse_time, to_rfc3339, to_seconds
from detectors.fx import Rates
from web.db import Store, customers, scores, warnings

WARNINGS, SCORES, WATCHLIST, AUDIT = "warnings.jsonl", "scores.jsonl", "watchlist.jsonl", "audit"
CHUNK_BYTES = 16 * 1024 * 1024
"""At most this much of one file per poll, so the first rows show before a big file is read."""
_PROFILE, _RATE = b'"feed":"customers"', b'"feed":"fx"'
IN_LIST = 5000
"""Ids per ``IN (...)`` list (SQLite limits the parameters of one statement)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading of one file stopped: its inode (a replaced file starts again) and byte."""

    inode: int
    offset: int


def normal_time(text: str) -> str:
    """An event time in the one fixed form the database compares as text."""
    return to_rfc3339(to_seconds(parse_time(text)))


class Follower:
    """Copies new lines of a run's outputs under ``out`` into ``store``."""

    def __init__(self, out: Path, store: Store, fx_rates: Mapping[str, float] | None = None,
                 reporting_currency: str = "EUR", fx_max_age_days: int = 7) -> None:
        """``fx_rates``, ``reporting_currency`` and ``fx_max_age_days``: the run's settings,
        so that limits are shown in the currency of the exposure the run wrote, at the rate
        of their day (`detectors.fx`; the watchlist, when written, has the run's figures)."""
        self.out = Path(out)
        self.store = store
        self.rates = Rates(reporting_currency, dict(fx_rates or {}), fx_max_age_days)
        self.reporting_currency = reporting_currency

    def poll(self) -> int:
        """Read what was appended since the last poll; returns how many lines were taken."""
        taken = 0
        for path in self._audit_segments():
            taken += self._follow(path, self._profiles)
        taken += self._follow(self.out / WARNINGS, self._warnings)
        taken += self._follow(self.out / SCORES, self._scores)
        taken += self._follow(self.out / WATCHLIST, self._watchlist)
        return taken

    def _audit_segments(self) -> Iterator[Path]:
        """The audit log's segment files, partition by partition in segment order (their
        names are fixed-width, so name order is that order)."""
        yield from sorted((self.out / AUDIT).glob("*/segment-*.jsonl"))

    def _follow(self, path: Path, take: Any) -> int:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return 0
        key = "follow:" + os.path.relpath(path, self.out)
        stored = self.store.get_meta(key)
        position = Position(**json.loads(stored)) if stored else Position(stat.st_ino, 0)
        if position.inode != stat.st_ino or stat.st_size < position.offset:
            position = Position(stat.st_ino, 0)
        if stat.st_size == position.offset:
            return 0
        with path.open("rb") as handle:
            handle.seek(position.offset)
            data = handle.read(CHUNK_BYTES)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return 0  # a line still being written
        lines = [line for line in data[:end].split(b"\n") if line.strip()]
        with self.store.begin() as connection:
            take(connection, lines)
            self.store.set_meta(connection, key, json.dumps(
                {"inode": stat.st_ino, "offset": position.offset + end}))
        return len(lines)

    # -- each file -------------------------------------------------------------------------

    def _profiles(self, connection: Connection, lines: list[bytes]) -> None:
        latest: dict[str, dict[str, Any]] = {}
        for line in lines:
            if _PROFILE not in line and _RATE not in line:
                continue
            record = json.loads(line)
            body = record["body"]
            if record.get("kind") != "input" or body.get("feed") not in ("customers", "fx"):
                continue
            raw = json.loads(body["raw"])
            at = normal_time(str(raw.get("event_time") or record["event_time"]))
            day = to_seconds(parse_time(at)) // DAY
            if body["feed"] == "fx":
                self.rates.put(str(raw["base"]), str(raw["currency"]), float(raw["rate"]), day)
                continue
            own = raw.get("currency")
            rate = self.rates.rate(own if isinstance(own, str) else self.reporting_currency,
                                   day)
            row = {"customer_id": str(raw["customer_id"]), "name": raw.get("name"),
                   "country": raw.get("country"), "industry": raw.get("industry"),
                   "currency": self.reporting_currency,
                   "credit_limit": _times(_float(raw.get("credit_limit")), rate),
                   "insured_limit": _times(_float(raw.get("insured_limit")), rate),
                   "tags": json.dumps(sorted(str(t) for t in raw.get("tags") or [])),  # ASCII
                   "profile_at": at}
            before = latest.get(row["customer_id"])
            if before is None or before["profile_at"] <= at:
                latest[row["customer_id"]] = row
        if latest:
            _newer(self.store, connection, list(latest.values()), "profile_at")

    def _warnings(self, connection: Connection, lines: list[bytes]) -> None:
        rows, latest = [], {}
        for line in lines:
            w = json.loads(line)
            at = normal_time(w["event_time"])
            rows.append({"warning_id": w["warning_id"], "customer_id": w["customer_id"],
                         "event_time": at, "kind": w["kind"], "severity": w.get("severity"),
                         "grade": w.get("grade"), "pd": w.get("pd"), "rank": w.get("rank"),
                         "category": w.get("category"),
                         "body": json.dumps(w, ensure_ascii=False)})
            customer = {"customer_id": w["customer_id"], "warning_id": w["warning_id"],
                        "warning_kind": w["kind"], "warning_at": at, "acknowledged": False,
                        "exposure": w.get("exposure"), "insured_share": w.get("insured_share"),
                        "defaulted": w["kind"] == "default"}
            before = latest.get(w["customer_id"])
            if before is None or (before["warning_at"], before["warning_id"]) <= (
                    at, w["warning_id"]):
                latest[w["customer_id"]] = customer
        self.store.upsert(connection, warnings, rows,
                          update=("event_time", "kind", "severity", "grade", "pd", "rank",
                                  "category", "body"))
        _newer(self.store, connection, list(latest.values()), "warning_at")

    def _scores(self, connection: Connection, lines: list[bytes]) -> None:
        history, latest = [], {}
        for line in lines:
            s = json.loads(line)
            if s.get("defaulted"):  # PD 1 from the default on: the watchlist row says so
                continue
            at = normal_time(s["event_time"])
            if s.get("month_end"):
                history.append({"customer_id": s["customer_id"], "at": at, "pd": s["pd"],
                                "grade": s["grade"]})
            reasons = s.get("reasons") or []
            row = {"customer_id": s["customer_id"], "pd": s["pd"],
                   "pd_term": _term_json(s),
                   "grade": s["grade"], "rank": s.get("rank"),
                   "scored_at": at, "top_reason": reasons[0]["code"] if reasons else None,
                   "utilisation": (s.get("features") or {}).get("utilisation")}
            before = latest.get(s["customer_id"])
            if before is None or before["scored_at"] <= at:
                latest[s["customer_id"]] = row
        self.store.upsert(connection, scores, history)
        _newer(self.store, connection, list(latest.values()), "scored_at")
        c = customers.c
        ids = list(latest)
        for start in range(0, len(ids), IN_LIST):  # exposure as of the latest score
            connection.execute(customers.update().where(
                c.customer_id.in_(ids[start:start + IN_LIST]), c.utilisation.is_not(None),
                c.credit_limit.is_not(None)).values(exposure=c.utilisation * c.credit_limit))

    def _watchlist(self, connection: Connection, lines: list[bytes]) -> None:
        rows = []
        for line in lines:
            w = json.loads(line)
            rows.append({"customer_id": w["customer_id"], "pd": w["pd"],
                         "pd_term": _term_json(w),
                         "grade": w["grade"], "scored_at": normal_time(w["event_time"]),
                         "top_reason": w.get("top_reason"), "defaulted": bool(w["defaulted"]),
                         **{k: w[k] for k in ("exposure", "credit_limit", "insured_limit")
                            if k in w}})
        _newer(self.store, connection, rows, "scored_at")


def _term_json(record: dict[str, Any]) -> str | None:
    """A score's or watchlist row's published term structure as the customers table keeps
    it (None when it has none)."""
    return json.dumps(record["pd_term"]) if record.get("pd_term") else None


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
