"""The workspace's one data-access layer: SQLite by default, PostgreSQL as the option.

Every query the workspace runs goes through `Store`, on the tables of `web.tables`, so both
databases see the same statements. The run's outputs (customers,
warnings, scores) are copied in by `web.follow`; cases, proposals, users, sessions and the
inbox state are the workspace's own.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from detectors.records import EARLY_KINDS
from web.filters import Filters
from web.tables import (
    cases,
    connect,
    customers,
    desk_condition,
    desk_members,
    login_failures,
    meta,
    notes,
    proposals,
    scores,
    sessions,
    users,
    warnings,
)

WATCHLIST_COLUMNS = ("customer_id", "name", "country", "industry", "currency", "pd", "grade",
                     "rank", "scored_at", "top_reason", "defaulted", "exposure",
                     "insured_share", "warning_id", "warning_kind", "warning_at",
                     "acknowledged", "tags", "credit_limit", "insured_limit")


class Store:
    """All reads and writes of the workspace, on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._written = 0
        self._counts: dict[Any, Any] = {}

    @classmethod
    def open(cls, url: str) -> Store:
        return cls(connect(url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction (a write: the cached counts are forgotten)."""
        with self.engine.begin() as connection:
            yield connection
        self._written += 1

    def _cached(self, key: Any, compute: Any) -> Any:
        """``compute()``, remembered until this store next writes (counts and filter choices
        over the whole book cost a scan; pages ask for the same ones again and again)."""
        if self._counts.get("written") != self._written:
            self._counts = {"written": self._written}
        if key not in self._counts:
            self._counts[key] = compute()
        return self._counts[key]

    # -- upserts ---------------------------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert(table) if self.dialect == "postgresql"
                else sqlite.insert(table))

    def upsert(self, connection: Connection, table: Table, rows: Sequence[dict[str, Any]],
               update: Iterable[str] | None = None) -> None:
        """Insert ``rows``; on a primary-key clash update the ``update`` columns (all non-key
        columns by default), or keep the stored row when ``update`` is empty."""
        if not rows:
            return
        keys = [column.name for column in table.primary_key.columns]
        statement = self._insert(table)
        columns = list(rows[0]) if update is None else list(update)
        columns = [name for name in columns if name not in keys]
        if columns:
            statement = statement.on_conflict_do_update(
                index_elements=keys, set_={name: statement.excluded[name] for name in columns})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement, list(rows))

    # -- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, connection: Connection, key: str, value: str) -> None:
        self.upsert(connection, meta, [{"key": key, "value": value}])

    def secret(self, key: str) -> str:
        """A random secret kept under ``key`` in the database, made on first use: every
        process of the workspace on this database reads the same one (the first one made
        is kept when two make it at once)."""
        found = self.get_meta(key)
        if found is None:
            with self.begin() as connection:
                self.upsert(connection, meta, [{"key": key, "value": secrets.token_hex(32)}],
                            update=())
            found = self.get_meta(key)
        assert found is not None
        return found

    # -- watchlist and customers -----------------------------------------------------------

    def _visible(self, query: Select[Any], tags: frozenset[str] | None) -> Select[Any]:
        """``query`` (of customers) narrowed to those carrying one of ``tags`` (None: all)."""
        return query if tags is None else query.where(desk_condition(tags, self.dialect))

    def watchlist(self, filters: Filters, tags: frozenset[str] | None, *, offset: int,
                  limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the ranked watchlist (riskiest first) and how many rows match."""
        c = customers.c
        where = and_(*filters.conditions())
        rows_query = self._visible(
            select(*(getattr(c, name) for name in WATCHLIST_COLUMNS)).where(where), tags)
        rows_query = rows_query.order_by(c.pd.desc(), c.customer_id).offset(offset).limit(limit)
        count_query = self._visible(select(func.count()).select_from(customers).where(where),
                                    tags)
        with self.engine.connect() as connection:
            rows = [_customer_row(r._mapping) for r in connection.execute(rows_query)]

        def count() -> int:
            with self.engine.connect() as connection:
                return int(connection.execute(count_query).scalar() or 0)

        key = ("count", tuple(sorted(filters.as_dict().items())),
               None if tags is None else tuple(sorted(tags)))
        return rows, self._cached(key, count)

    def choices(self, tags: frozenset[str] | None) -> dict[str, list[str]]:
        """The values the watchlist's filters offer (countries, industries, kinds), over the
        customers carrying one of ``tags`` (None: the whole book): a desk learns nothing of
        the other desks' customers from them."""
        key = ("choices", None if tags is None else tuple(sorted(tags)))
        return self._cached(key, lambda: self._choices(tags))

    def _choices(self, tags: frozenset[str] | None) -> dict[str, list[str]]:
        c = customers.c
        out: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for name, column in (("country", c.country), ("industry", c.industry),
                                 ("kind", c.warning_kind)):
                query = self._visible(select(column).where(column.is_not(None)), tags)
                query = query.distinct().order_by(column).limit(300)
                out[name] = [str(v) for v in connection.execute(query).scalars()]
        return out

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(customers).where(customers.c.customer_id == customer_id)).first()
        return None if row is None else _customer_row(row._mapping)

    def in_portfolio(self, customer_id: str, tags: frozenset[str] | None) -> bool:
        """Whether the customer carries one of ``tags`` (None: the whole book), by the same
        condition that lists a desk's customers, so a desk opens exactly what it lists."""
        if tags is None:
            return True
        query = select(customers.c.customer_id).where(customers.c.customer_id == customer_id,
                                                      desk_condition(tags, self.dialect))
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def score_history(self, customer_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(scores.c.at, scores.c.pd, scores.c.grade).where(
                scores.c.customer_id == customer_id).order_by(scores.c.at))
            return [dict(r._mapping) for r in rows]

    def customer_warnings(self, customer_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(warnings).where(
                warnings.c.customer_id == customer_id).order_by(warnings.c.event_time,
                                                                warnings.c.warning_id))
            return [_warning_row(r._mapping) for r in rows]

    def warning(self, warning_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(warnings).where(warnings.c.warning_id == warning_id)).first()
        return None if row is None else _warning_row(row._mapping)

    def inbox(self, tags: frozenset[str] | None, *, limit: int, offset: int = 0,
              assigned_to: str | None = None, now: str | None = None,
              snoozed: bool = False) -> list[dict[str, Any]]:
        """Warnings of a default to come (early warnings, escalations and hard events,
        `detectors.records.EARLY_KINDS`) not yet acknowledged, newest first. Given ``now``
        (a wall time), those snoozed past it are left out, or, with ``snoozed``, are the
        only ones listed."""
        w = warnings.c
        query = select(warnings).where(w.kind.in_(EARLY_KINDS),
                                       w.acked_at.is_(None))
        if now is not None:
            asleep = w.snoozed_until.is_not(None) & (w.snoozed_until > now)
            query = query.where(asleep if snoozed else ~asleep)
        if assigned_to:
            query = query.where(w.assigned_to == assigned_to)
        if tags is not None:
            query = query.where(w.customer_id.in_(desk_members(tags, self.dialect)))
        query = query.order_by(w.event_time.desc(), w.warning_id).offset(offset).limit(limit)
        with self.engine.connect() as connection:
            return [_warning_row(r._mapping) for r in connection.execute(query)]

    def notes_of(self, warning_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(notes).where(notes.c.warning_id == warning_id)
                                      .order_by(notes.c.note_id))
            return [dict(r._mapping) for r in rows]

    def update_warning(self, warning_id: str, note: dict[str, Any] | None,
                       **changes: Any) -> None:
        """Change a warning's inbox state (ack, assignee, snooze) and add a note."""
        with self.begin() as connection:
            if changes:
                connection.execute(warnings.update().where(
                    warnings.c.warning_id == warning_id).values(**changes))
            if "acked_at" in changes:
                connection.execute(customers.update().where(
                    customers.c.warning_id == warning_id).values(acknowledged=True))
            if note is not None:
                connection.execute(notes.insert().values(warning_id=warning_id, **note))

    def latest_event_time(self) -> str | None:
        """The latest event time the run's files brought (scores and warnings)."""
        with self.engine.connect() as connection:
            times = [connection.execute(select(func.max(customers.c.scored_at))).scalar(),
                     connection.execute(select(func.max(warnings.c.event_time))).scalar()]
        return max((t for t in times if t), default=None)

    # -- portfolio -------------------------------------------------------------------------

    def portfolio(self, by: str, tags: frozenset[str] | None) -> list[dict[str, Any]]:
        """Customers, exposure and expected loss by ``by``: PD times the exposure above the
        insured limit (a loss given default of 100% of the uninsured part)."""
        c = customers.c
        column = {"grade": c.grade, "country": c.country, "industry": c.industry}[by]
        uninsured = case((c.exposure > func.coalesce(c.insured_limit, 0.0),
                          c.exposure - func.coalesce(c.insured_limit, 0.0)), else_=0.0)
        query = select(column.label("key"), func.count().label("customers"),
                       func.sum(c.exposure).label("exposure"),
                       func.sum(c.pd * uninsured).label("expected_loss"),
                       func.avg(c.pd).label("mean_pd")).where(
            c.pd.is_not(None), c.defaulted.is_(False)).group_by(column).order_by(column)
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(self._visible(query, tags))]

    def migration(self, tags: frozenset[str] | None, to: str | None = None
                  ) -> dict[str, Any]:
        """Grade migration into month end ``to`` (default: the latest that has scores)
        from the month end before it, and every month end that has scores, newest first
        (``months``: each but the oldest can be asked for)."""
        s = scores.c
        with self.engine.connect() as connection:
            months = [str(v) for v in connection.execute(
                select(s.at).distinct().order_by(s.at.desc())).scalars()]
            at = months.index(to) if to in months[:-1] else 0
            if len(months) < at + 2:
                return {"from": None, "to": None, "counts": {}, "months": months}
            old, new = scores.alias("old"), scores.alias("new")
            query = select(old.c.grade.label("before"), new.c.grade.label("after"),
                           func.count().label("n")).select_from(
                old.join(new, old.c.customer_id == new.c.customer_id)).where(
                old.c.at == months[at + 1], new.c.at == months[at]).group_by(
                old.c.grade, new.c.grade)
            if tags is not None:
                query = query.where(old.c.customer_id.in_(desk_members(tags, self.dialect)))
            counts = {(r.before, r.after): int(r.n) for r in connection.execute(query)}
        return {"from": months[at + 1], "to": months[at], "counts": counts, "months": months}

    # -- cases -----------------------------------------------------------------------------

    def case_for_warning(self, warning_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(cases).where(cases.c.warning_id == warning_id)
                                     ).first()
        return None if row is None else dict(row._mapping)

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(cases).where(cases.c.case_id == case_id)).first()
        return None if row is None else dict(row._mapping)

    def cases_of(self, customer_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(cases).where(cases.c.customer_id == customer_id)
                                      .order_by(cases.c.opened_at))
            return [dict(r._mapping) for r in rows]

    def open_cases(self, tags: frozenset[str] | None, *, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        """One page of the open cases (open, or with a proposal waiting) of the customers
        carrying one of ``tags`` (None: all), newest first, and how many there are."""
        where = [cases.c.status.in_(("open", "proposed"))]
        if tags is not None:
            where.append(cases.c.customer_id.in_(desk_members(tags, self.dialect)))
        rows_query = select(cases).where(*where).order_by(
            cases.c.opened_at.desc(), cases.c.case_id).offset(offset).limit(limit)
        count_query = select(func.count()).select_from(cases).where(*where)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(rows_query)]
            return rows, int(connection.execute(count_query).scalar() or 0)

    def proposals_of(self, case_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals).where(proposals.c.case_id == case_id)
                                      .order_by(proposals.c.proposed_at,
                                                proposals.c.proposal_id))
            return [dict(r._mapping) for r in rows]

    def proposal(self, proposal_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(proposals).where(
                proposals.c.proposal_id == proposal_id)).first()
        return None if row is None else dict(row._mapping)

    def add_case(self, row: dict[str, Any]) -> bool:
        """Open a case; False when the warning already has one."""
        with self.begin() as connection:
            before = connection.execute(select(cases.c.case_id).where(
                cases.c.warning_id == row["warning_id"])).first()
            if before is not None:
                return False
            connection.execute(cases.insert().values(**row))
        return True

    def add_proposal(self, row: dict[str, Any]) -> None:
        with self.begin() as connection:
            connection.execute(proposals.insert().values(**row))
            connection.execute(cases.update().where(cases.c.case_id == row["case_id"])
                               .values(status="proposed"))

    def decide(self, proposal_id: str, case_id: str, changes: dict[str, Any],
               case_status: str) -> bool:
        """Record a decision on a pending proposal; False when it was already decided."""
        with self.begin() as connection:
            done = connection.execute(proposals.update().where(
                proposals.c.proposal_id == proposal_id, proposals.c.decision.is_(None))
                .values(**changes))
            if done.rowcount != 1:
                return False
            connection.execute(cases.update().where(cases.c.case_id == case_id)
                               .values(status=case_status))
        return True

    def set_delivery(self, proposal_id: str, delivery: str, detail: str) -> None:
        with self.begin() as connection:
            connection.execute(proposals.update().where(
                proposals.c.proposal_id == proposal_id).values(delivery=delivery,
                                                               delivery_detail=detail))

    # -- users, sessions, sign-in failures -------------------------------------------------

    def user(self, username: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else dict(row._mapping)

    def all_users(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(users.c.username, users.c.role, users.c.desk,
                                             users.c.created_at, users.c.disabled)
                                      .order_by(users.c.username))
            return [dict(r._mapping) for r in rows]

    def put_user(self, row: dict[str, Any]) -> None:
        with self.begin() as connection:
            self.upsert(connection, users, [row])

    def add_session(self, row: dict[str, Any]) -> None:
        with self.begin() as connection:
            connection.execute(sessions.insert().values(**row))

    def session(self, token_hash: str, now: float) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(sessions).where(
                sessions.c.token_hash == token_hash, sessions.c.expires_at > now)).first()
        return None if row is None else dict(row._mapping)

    def drop_session(self, token_hash: str) -> None:
        with self.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.token_hash == token_hash))

    def drop_sessions_of(self, username: str) -> None:
        with self.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.username == username))

    def failures(self, key: str, since: float) -> int:
        """Failed sign-ins under ``key`` since ``since``."""
        with self.engine.connect() as connection:
            return int(connection.execute(
                select(func.count()).select_from(login_failures).where(
                    login_failures.c.key == key, login_failures.c.at > since)).scalar() or 0)

    def add_failure(self, keys: Sequence[str], at: float, forget_before: float) -> None:
        with self.begin() as connection:
            connection.execute(login_failures.insert(), [{"key": k, "at": at} for k in keys])
            connection.execute(login_failures.delete().where(login_failures.c.at < forget_before))

    def clear_failures(self, key: str) -> None:
        with self.begin() as connection:
            connection.execute(login_failures.delete().where(login_failures.c.key == key))

    def forget_failure(self, key: str, at: float) -> None:
        """Forget the attempt under ``key`` counted at ``at`` (`web.auth.Sessions.attempt`)."""
        with self.begin() as connection:
            connection.execute(login_failures.delete().where(
                login_failures.c.key == key, login_failures.c.at == at))


def _customer_row(mapping: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(mapping)
    row["tags"] = json.loads(row.get("tags") or "[]")
    row["pd_term"] = json.loads(row.get("pd_term") or "[]")
    row["defaulted"] = bool(row.get("defaulted"))
    row["acknowledged"] = bool(row.get("acknowledged"))
    return row


def _warning_row(mapping: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(mapping)
    row["body"] = json.loads(row["body"])
    return row
