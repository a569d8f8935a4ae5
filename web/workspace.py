"""Everything one workspace server holds: settings, the run's folder, storage, trail, sessions,
cases, the follower of the run's files, and the cached explanations."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from config.errors import ConfigError, CreditRadarError
from config.settings import Settings
from flows.choices import MODEL_CHOICES, UNREADABLE, behind, load_choices, timeline
from web.auth import LOGIN_KEY, Sessions, User
from web.cases import Cases, Refused
from web.db import Store
from web.desks import desk_tags
from web.erp import ErpActions
from web.follow import Follower
from web.trail import Trail

DATA = "workspace"
DB_FILE = "workspace.sqlite3"
TRAIL = "audit"
EXPLAIN_CACHE = 64
EXPLAINING_AT_ONCE = 2
"""Explanations worked out at the same time: each replays the log (seconds of CPU on a
large book), and any user can ask for one as of any moment."""
BUSY = "busy"
"""The refusal of a request the server has no room for now (not recorded in the trail)."""
EXPLAIN_WAIT_SECONDS = 2.0
"""How long a request waits for one of them before it is answered ``busy``."""


def data_dir(settings: Settings, out: Path) -> Path:
    """The workspace's own folder: configured, else ``OUT/workspace``."""
    return settings.workspace.data_dir or Path(out) / DATA


def database_url(settings: Settings, out: Path) -> str:
    """The configured database, else an SQLite file in the data folder."""
    if settings.workspace.database is not None:
        return settings.workspace.database.get_secret_value()
    folder = data_dir(settings, out)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / DB_FILE}"


def open_trail(settings: Settings, out: Path) -> Trail:
    """The workspace's audit log (its steps, sign-ins and account changes)."""
    return Trail(data_dir(settings, out) / TRAIL, settings.audit)


def open_store(settings: Settings, out: Path) -> Store:
    """The workspace's database. An error names the SQLite file and why; a configured
    database's error never shows the URL or the driver's message (they may hold secrets)."""
    url = database_url(settings, out)
    try:
        return Store.open(url)
    except Exception as exc:  # SQLAlchemy and driver errors alike may echo the URL
        if settings.workspace.database is not None:
            raise ConfigError(f"cannot open the workspace database ({type(exc).__name__}); "
                              "check workspace.database") from None
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise ConfigError(f"cannot open the workspace database {url.removeprefix('sqlite:///')} "
                          f"({why}): restore it from a backup, or move it aside to start a "
                          "new one (its accounts and cases stay in the old)") from None


@dataclass
class Workspace:
    settings: Settings
    out: Path
    store: Store
    trail: Trail
    erp: ErpActions
    version: int = 0
    closing: bool = False
    """The server was asked to stop: open event streams end (`web.pages.Pages.events`)."""
    _explained: OrderedDict[tuple[str, str, float], dict[str, Any]] = field(
        default_factory=OrderedDict)
    explain_wait_seconds: float = EXPLAIN_WAIT_SECONDS
    _explaining: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(EXPLAINING_AT_ONCE))

    @classmethod
    def create(cls, settings: Settings, out: Path) -> Workspace:
        store = open_store(settings, out)
        return cls(settings, Path(out), store, open_trail(settings, out), ErpActions(settings))

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.store, self.settings.workspace)

    @property
    def cases(self) -> Cases:
        return Cases(self.store, self.trail, self.erp)

    @cached_property
    def login_key(self) -> bytes:
        """The key that signs the sign-in forms' tokens (`web.auth.login_token`), kept in the
        database so that every process of the workspace takes the tokens of the others."""
        return self.store.secret(LOGIN_KEY).encode("ascii")

    @cached_property
    def follower(self) -> Follower:
        """The one follower of the run's files (it keeps the exchange rates it has read)."""
        return Follower(self.out, self.store, self.settings.fx_rates,
                        self.settings.reporting_currency, self.settings.fx_max_age_days)

    @property
    def log(self) -> Path:
        """The run's audit log."""
        return self.out / "audit"

    def tags_of(self, user: User) -> frozenset[str] | None:
        """The portfolio ``user`` sees (None: the whole book)."""
        if user.role in ("admin", "auditor"):
            return None
        return desk_tags(self.settings.alerts, user.desk)

    def view_tags(self, user: User, desk: str | None) -> frozenset[str] | None:
        """The portfolio ``user`` sees narrowed to ``desk``'s (None: the whole book); a desk
        never widens what a user may see."""
        mine = self.tags_of(user)
        if desk is None:
            return mine
        if desk not in self.settings.alerts.receivers:
            raise Refused("bad_desk", f"no desk {desk[:60]!r} in the alert routing", 400)
        theirs = desk_tags(self.settings.alerts, desk)
        if theirs is None:
            return mine
        return theirs if mine is None else mine & theirs

    def may_see(self, user: User, customer_id: str) -> bool:
        """Whether the customer is in ``user``'s portfolio: asked of the database with the
        condition that lists the portfolio (`web.tables.desk_condition`), one rule for both."""
        return self.store.in_portfolio(customer_id, self.tags_of(user))

    def explain(self, customer_id: str, as_of: datetime) -> dict[str, Any]:
        """`flows.explain.explain` of the run's log (cached while the log is unchanged).
        Beyond `EXPLAINING_AT_ONCE` at a time, a request waits up to `EXPLAIN_WAIT_SECONDS`,
        then is refused as ``busy`` (503), so that requests for many moments cannot take
        every core from the other pages."""
        from flows.explain import explain

        key = (customer_id, as_of.isoformat(), self._log_stamp())
        found = self._explained.get(key)
        if found is not None:
            self._explained.move_to_end(key)
            return found
        if not self._explaining.acquire(timeout=self.explain_wait_seconds):
            raise Refused(BUSY, f"{EXPLAINING_AT_ONCE} explanations are being worked out "
                          "already: try again in a moment", 503)
        try:
            doc = explain(customer_id, as_of, self.log, self.settings)
        except CreditRadarError as exc:
            return {"customer_id": customer_id, "error": str(exc)}
        finally:
            self._explaining.release()
        self._explained[key] = doc
        while len(self._explained) > EXPLAIN_CACHE:
            self._explained.popitem(last=False)
        return doc

    def champions(self) -> list[dict[str, Any]] | None:
        """Each champion of the run in time order (`flows.choices.timeline` of its
        ``models.jsonl``; none before the first choice); None where the file cannot be
        read."""
        try:
            return timeline(load_choices(self.out / MODEL_CHOICES))
        except UNREADABLE:
            return None

    def model_choice(self, scored: dict[str, Any]) -> dict[str, Any] | None:
        """Which model made a score or warning and why it held the book then
        (`flows.choices.behind` of the run's ``models.jsonl``)."""
        return behind(self.out / MODEL_CHOICES, scored)

    def _log_stamp(self) -> float:
        stamps = [p.stat().st_mtime for p in self.log.glob("*/segment-*.jsonl")]
        for written in (self.out / "scores.jsonl", self.out / MODEL_CHOICES):
            if written.exists():
                stamps.append(written.stat().st_mtime)
        return max(stamps, default=0.0) + len(stamps)
