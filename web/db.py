"""The workspace's one data-access layer: SQLite by default, PostgreSQL as the option.

Every table is declared here with SQLAlchemy Core and every query the workspace runs goes
through `Store`, so both databases see the same statements. The run's outputs (customers,
warnings, scores) are copied in by `web.follow`; cases, proposals, users, sessions and the
inbox state are the workspace's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    case,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ColumnElement, Select

from detectors.records import EARLY_KINDS

metadata = MetaData()


class Str(TypeDecorator[str]):
    """Text as both databases can hold it: PostgreSQL refuses the NUL character, so it is
    stored as U+FFFD on every backend alike (the audit log keeps the original bytes)."""

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        self.length = length

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(String(self.length) if self.length else Text())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value

GRADES = ("A", "B", "C", "D", "E")
"""Grades from best to worst."""

meta = Table("meta", metadata, Column("key", Str(200), primary_key=True),
             Column("value", Str(), nullable=False))

customers = Table(
    "customers", metadata,
    Column("customer_id", Str(200), primary_key=True),
    Column("name", Str()),
    Column("country", Str(80)),
    Column("industry", Str(120)),
    Column("currency", Str(8)),
    Column("credit_limit", Float),
    Column("insured_limit", Float),
    Column("tags", Str(), nullable=False, default="[]"),
    Column("profile_at", Str(40)),
    Column("pd", Float),
    Column("pd_term", Str()),
    Column("grade", Str(4)),
    Column("rank", Integer),
    Column("scored_at", Str(40)),
    Column("top_reason", Str(80)),
    Column("defaulted", Boolean, nullable=False, default=False),
    Column("exposure", Float),
    Column("utilisation", Float),
    Column("insured_share", Float),
    Column("warning_id", Str(80)),
    Column("warning_kind", Str(40)),
    Column("warning_at", Str(40)),
    Column("acknowledged", Boolean, nullable=False, default=False),
)
# The watchlist's orderings, each with the columns its filters test and the tags (a desk's
# portfolio) so that counting and paging read the index alone.
Index("ix_customers_pd", customers.c.defaulted, customers.c.pd.desc(), customers.c.customer_id,
      customers.c.tags)
Index("ix_customers_grade", customers.c.grade, customers.c.defaulted,
      customers.c.pd.desc(), customers.c.customer_id, customers.c.tags)
Index("ix_customers_country", customers.c.country, customers.c.defaulted,
      customers.c.pd.desc(), customers.c.customer_id, customers.c.tags)
Index("ix_customers_industry", customers.c.industry, customers.c.defaulted,
      customers.c.pd.desc(), customers.c.customer_id, customers.c.tags)
Index("ix_customers_kind", customers.c.warning_kind, customers.c.acknowledged,
      customers.c.defaulted, customers.c.pd.desc(), customers.c.customer_id, customers.c.tags)

warnings = Table(
    "warnings", metadata,
    Column("warning_id", Str(80), primary_key=True),
    Column("customer_id", Str(200), nullable=False),
    Column("event_time", Str(40), nullable=False),
    Column("kind", Str(40), nullable=False),
    Column("severity", Str(20)),
    Column("grade", Str(4)),
    Column("pd", Float),
    Column("rank", Integer),
    Column("category", Str(40)),
    Column("body", Str(), nullable=False),
    Column("acked_by", Str(120)),
    Column("acked_at", Str(40)),
    Column("assigned_to", Str(120)),
    Column("snoozed_until", Str(40)),
)
Index("ix_warnings_customer", warnings.c.customer_id, warnings.c.event_time)
Index("ix_warnings_time", warnings.c.event_time)

scores = Table(
    "scores", metadata,
    Column("customer_id", Str(200), primary_key=True),
    Column("at", Str(40), primary_key=True),
    Column("pd", Float, nullable=False),
    Column("grade", Str(4), nullable=False),
)

notes = Table(
    "notes", metadata,
    Column("note_id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Str(80), nullable=False),
    Column("kind", Str(40), nullable=False),
    Column("by", Str(120), nullable=False),
    Column("at", Str(40), nullable=False),
    Column("text", Str(), nullable=False, default=""),
)
Index("ix_notes_warning", notes.c.warning_id)

cases = Table(
    "cases", metadata,
    Column("case_id", Str(40), primary_key=True),
    Column("warning_id", Str(80), nullable=False, unique=True),
    Column("customer_id", Str(200), nullable=False),
    Column("status", Str(20), nullable=False),
    Column("opened_by", Str(120), nullable=False),
    Column("opened_at", Str(40), nullable=False),
)
Index("ix_cases_customer", cases.c.customer_id)

proposals = Table(
    "proposals", metadata,
    Column("proposal_id", Str(40), primary_key=True),
    Column("case_id", Str(40), ForeignKey("cases.case_id"), nullable=False),
    Column("action", Str(40), nullable=False),
    Column("amount", Float),
    Column("comment", Str(), nullable=False, default=""),
    Column("proposed_by", Str(120), nullable=False),
    Column("proposed_at", Str(40), nullable=False),
    Column("decision", Str(20)),
    Column("decided_by", Str(120)),
    Column("decided_at", Str(40)),
    Column("decision_comment", Str()),
    Column("delivery", Str(20)),
    Column("delivery_detail", Str()),
    Column("idempotency_key", Str(120)),
)
Index("ix_proposals_case", proposals.c.case_id)

users = Table(
    "users", metadata,
    Column("username", Str(120), primary_key=True),
    Column("password_hash", Str(), nullable=False),
    Column("role", Str(20), nullable=False),
    Column("desk", Str(120)),
    Column("created_at", Str(40), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", Str(64), primary_key=True),
    Column("username", Str(120), nullable=False),
    Column("csrf", Str(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

login_failures = Table(
    "login_failures", metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column("key", Str(200), nullable=False),
    Column("at", Float, nullable=False),
)
Index("ix_login_failures", login_failures.c.key, login_failures.c.at)

WATCHLIST_COLUMNS = ("customer_id", "name", "country", "industry", "currency", "pd", "grade",
                     "rank", "scored_at", "top_reason", "defaulted", "exposure",
                     "insured_share", "warning_id", "warning_kind", "warning_at",
                     "acknowledged", "tags", "credit_limit", "insured_limit")


def desk_condition(tags: frozenset[str]) -> ColumnElement[bool]:
    """Customers carrying any of ``tags``: a match in the JSON list of the ``tags`` column
    (each tag is stored as `json.dumps` writes it, quotes included, so a tag never matches
    part of another). No desk tags: no customer."""
    if not tags:
        return customers.c.customer_id.is_(None)
    return or_(*(customers.c.tags.contains(json.dumps(tag), autoescape=True)
                 for tag in sorted(tags)))


def desk_members(tags: frozenset[str]) -> Select[Any]:
    """The ids of the customers carrying any of ``tags``."""
    return select(customers.c.customer_id).where(desk_condition(tags))


def connect(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), with the
    schema created. SQLite runs in WAL mode so the follower and the pages do not block."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
    metadata.create_all(engine)
    _add_new_columns(engine)
    return engine


def _add_new_columns(engine: Engine) -> None:
    """Add to an existing database the columns a later version defines, so a workspace
    keeps its accounts, cases and audit trail across an upgrade. Only nullable columns can
    be added to rows that exist; another process adding the same column at the same time
    is no error."""
    quote = engine.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspect(engine).get_columns(table.name)}
        for column in (c for c in table.columns if c.name not in present):
            if not column.nullable:
                raise RuntimeError(f"cannot add the non-nullable column {table.name}."
                                   f"{column.name} to an existing workspace database")
            statement = (f"ALTER TABLE {quote.format_table(table)} ADD COLUMN "
                         f"{quote.format_column(column)} "
                         f"{column.type.compile(engine.dialect)}")
            try:
                with engine.begin() as connection:
                    connection.execute(text(statement))
            except DBAPIError:
                added = {c["name"] for c in inspect(engine).get_columns(table.name)}
                if column.name not in added:
                    raise


class Filters:
    """What the watchlist is narrowed to; every field is optional."""

    FIELDS = ("desk", "grade", "country", "industry", "kind", "acknowledged", "min_exposure",
              "max_exposure", "q", "include_defaulted")

    def __init__(self, values: Mapping[str, str]) -> None:
        self.desk = _word(values.get("desk"))
        """A desk of the routing: narrows the portfolio (`Workspace.view_tags`), not a
        condition on the customers table."""
        self.grade = _word(values.get("grade"))
        self.country = _word(values.get("country"))
        self.industry = _word(values.get("industry"))
        self.kind = _word(values.get("kind"))
        acknowledged = values.get("acknowledged") or ""
        self.acknowledged = {"yes": True, "no": False}.get(acknowledged)
        self.min_exposure = _number(values.get("min_exposure"))
        self.max_exposure = _number(values.get("max_exposure"))
        self.q = (values.get("q") or "").strip()[:100] or None
        self.include_defaulted = values.get("include_defaulted") == "yes"

    def as_dict(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out: dict[str, str] = {}
        for name in ("desk", "grade", "country", "industry", "kind", "q"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.acknowledged is not None:
            out["acknowledged"] = "yes" if self.acknowledged else "no"
        for name in ("min_exposure", "max_exposure"):
            value = getattr(self, name)
            if value is not None:
                out[name] = f"{value:g}"
        if self.include_defaulted:
            out["include_defaulted"] = "yes"
        return out

    def conditions(self) -> list[ColumnElement[bool]]:
        c = customers.c
        found: list[ColumnElement[bool]] = [c.pd.is_not(None)]
        if not self.include_defaulted:
            found.append(c.defaulted.is_(False))
        for column, value in ((c.grade, self.grade), (c.country, self.country),
                              (c.industry, self.industry), (c.warning_kind, self.kind)):
            if value:
                found.append(column == value)
        if self.acknowledged is not None:
            found.append(c.acknowledged.is_(self.acknowledged))
            found.append(c.warning_id.is_not(None))
        if self.min_exposure is not None:
            found.append(c.exposure >= self.min_exposure)
        if self.max_exposure is not None:
            found.append(c.exposure <= self.max_exposure)
        if self.q:
            pattern = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
            found.append(or_(c.customer_id.like(pattern, escape="\\"),
                             c.name.like(pattern, escape="\\")))
        return found


def _word(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:120] or None


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and number == number and abs(number) < 1e18 else None


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

    # -- watchlist and customers -----------------------------------------------------------

    def _visible(self, query: Select[Any], tags: frozenset[str] | None) -> Select[Any]:
        """``query`` (of customers) narrowed to those carrying one of ``tags`` (None: all)."""
        return query if tags is None else query.where(desk_condition(tags))

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

    def choices(self) -> dict[str, list[str]]:
        """The values the watchlist's filters offer (countries, industries, kinds)."""
        return self._cached("choices", self._choices)

    def _choices(self) -> dict[str, list[str]]:
        c = customers.c
        out: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for name, column in (("country", c.country), ("industry", c.industry),
                                 ("kind", c.warning_kind)):
                query = select(column).where(column.is_not(None)).distinct().order_by(column)
                out[name] = [str(v) for v in connection.execute(query.limit(300)).scalars()]
        return out

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(customers).where(customers.c.customer_id == customer_id)).first()
        return None if row is None else _customer_row(row._mapping)

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
            query = query.where(w.customer_id.in_(desk_members(tags)))
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
                query = query.where(old.c.customer_id.in_(desk_members(tags)))
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

    def open_cases(self, tags: frozenset[str] | None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(cases).where(cases.c.status.in_(("open", "proposed"))).order_by(
            cases.c.opened_at.desc()).limit(limit)
        if tags is not None:
            query = query.where(cases.c.customer_id.in_(desk_members(tags)))
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(query)]

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
