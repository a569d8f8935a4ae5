"""The workspace's tables, declared once with SQLAlchemy Core for SQLite and PostgreSQL
alike, and `connect`, which creates them (and adds the columns a later version defines)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
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
    cast,
    create_engine,
    event,
    exists,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ColumnElement, Select

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

NUL_IN_TAGS = "\\u0000"
"""A NUL as `json.dumps` escapes it in the ``tags`` column (see `desk_condition`)."""
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
    Column("currency", Str(8)),  # the reporting currency, of the limits and the exposure
    Column("credit_limit", Float),
    Column("insured_limit", Float),
    Column("customer_currency", Str(8)),  # the customer's own, of the ERP's limit
    Column("customer_credit_limit", Float),
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
    Column("currency", Str(8)),  # of the amount: the customer's own when it was proposed
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


def desk_condition(tags: frozenset[str], dialect: str) -> ColumnElement[bool]:
    """Customers carrying any of ``tags``: one element of the JSON list in the ``tags``
    column is one of them, whole and exactly (the one rule of a desk's portfolio, used for
    every list and for opening a customer alike). No desk tags: no customer. A substring
    of the stored text is never enough: the tag ``x", "corporate`` is not ``corporate``.

    ``dialect`` names the database, each splitting the list with its own JSON functions.
    SQLite's ``json_each`` gives each tag as text, but cuts it at a NUL: the follower keeps
    NUL as U+FFFD (`NUL_IN_TAGS`), and a list still holding an escaped NUL (written by an
    earlier version) is no desk's. PostgreSQL's ``json_array_elements`` gives each tag as
    its JSON text, compared with the desk's tags spelled as `json.dumps` spells them, as the
    follower writes the column (decoding would fail on a NUL, which its text cannot hold).
    """
    if not tags:
        return customers.c.customer_id.is_(None)
    wanted = sorted(tags)
    if dialect == "sqlite":
        each = func.json_each(customers.c.tags).table_valued("value")
        return (func.instr(customers.c.tags, NUL_IN_TAGS) == 0) & exists(
            select(literal(1)).select_from(each).where(each.c.value.in_(wanted)))
    if dialect == "postgresql":
        each = func.json_array_elements(cast(customers.c.tags, JSON)).table_valued("value")
        spelled = [json.dumps(tag) for tag in wanted]
        return exists(select(literal(1)).select_from(each).where(
            cast(each.c.value, Text).in_(spelled)))
    raise ValueError(f"the workspace does not support the {dialect} database")


def tags_text(tags: Iterable[object]) -> str:
    """A customer's tags as the ``tags`` column keeps them: a sorted JSON list, ASCII only
    (`json.dumps`'s one spelling, which `desk_condition` relies on), NUL as U+FFFD like all
    the text the workspace keeps (`Str`)."""
    return json.dumps(sorted(str(tag).replace("\x00", "\ufffd") for tag in tags))


def desk_members(tags: frozenset[str], dialect: str) -> Select[Any]:
    """The ids of the customers carrying any of ``tags`` (`desk_condition`)."""
    return select(customers.c.customer_id).where(desk_condition(tags, dialect))


def connect(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), with the
    schema created. SQLite runs in WAL mode so the follower and the pages do not block, and
    its file is checked first (``PRAGMA quick_check``: it reads every page, about a second
    for 1 GB here)."""
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
    if engine.dialect.name == "sqlite":  # damage found now, not by the first page that reads
        with engine.connect() as connection:  # it, and before the schema is written to it
            found = connection.exec_driver_sql("PRAGMA quick_check").scalar()
        if found != "ok":
            raise sqlite3.DatabaseError(f"database disk image is damaged: {found}"[:200])
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
