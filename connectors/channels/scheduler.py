"""The event-time half of the notifier: group buffers with group_wait / group_interval /
repeat_interval, quiet hours, digests and escalation of unacknowledged warnings.

Every decision here is a function of event times (the warnings' and ``advance``'s), never of
the wall clock; the wall clock only stamps when a queued message becomes sendable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

import structlog

from config.alerts import AlertsSettings, ResolvedRoute
from connectors.channels.cloudevents import digest_event, encode, warning_event
from connectors.channels.outbox import Outbox, message_id
from connectors.channels.render import link_for, render_digest, render_group, warning_title
from connectors.channels.router import inhibited_by, silenced_by
from connectors.channels.store import Store, ts
from detectors.clock import parse_time
from detectors.records import RESOLVED, Warning

log = structlog.get_logger(__name__)


class Scheduler:
    """Turns buffered warnings into queued messages as the event-time clock advances."""

    def __init__(self, settings: AlertsSettings, store: Store, outbox: Outbox,
                 routes: dict[str, ResolvedRoute], wall: Callable[[], datetime]) -> None:
        self._settings = settings
        self._store = store
        self._outbox = outbox
        self._routes = routes
        self._wall = wall

    def add_to_group(self, route: ResolvedRoute, key: str, warning: Warning, purpose: str,
                     at: datetime) -> None:
        db = self._store.db
        db.execute("INSERT OR IGNORE INTO group_items (group_key, warning_id, purpose) "
                   "VALUES (?, ?, ?)", (key, warning.warning_id, purpose))
        row = db.execute("SELECT * FROM groups WHERE group_key = ?", (key,)).fetchone()
        if row is None:
            db.execute("INSERT INTO groups VALUES (?, ?, ?, ?, NULL)",
                       (key, route.path, route.receiver, ts(at + route.group_wait)))
        elif row["next_flush"] is None:
            after_last = parse_time(row["last_flush"]) + route.group_interval
            db.execute("UPDATE groups SET next_flush = ? WHERE group_key = ?",
                       (ts(max(at, after_last)), key))

    def add_to_digest(self, route: ResolvedRoute, warning: Warning, at: datetime) -> None:
        assert route.digest is not None  # guaranteed by AlertsSettings validation
        db = self._store.db
        db.execute("INSERT OR IGNORE INTO digest_items (route, warning_id) VALUES (?, ?)",
                   (route.path, warning.warning_id))
        db.execute("INSERT OR IGNORE INTO digests VALUES (?, ?)",
                   (route.path, ts(route.digest.next_after(at))))

    def send_now(self, receiver: str, purpose: str, warnings: list[Warning], key: str,
                 at: datetime) -> int:
        """Queue the message(s) for each channel of ``receiver``; returns how many were queued.

        A text channel gets one message for the group; a structured (webhook) channel one
        CloudEvent per warning, or one for a digest."""
        queued = 0
        for channel in self._settings.receivers.get(receiver, []):
            ids = self._outbox.unclaimed([w.warning_id for w in warnings], channel, purpose)
            if not ids:
                continue
            chosen = [w for w in warnings if w.warning_id in ids]
            for message_ids, title, body, fmt in self._messages(channel, receiver, purpose,
                                                                chosen, key):
                msg = message_id(purpose, key, channel, *message_ids)
                if self._outbox.enqueue(msg, channel, purpose, message_ids, title, body, fmt,
                                        self._wall().timestamp()):
                    queued += 1
                    for wid in message_ids:
                        self._store.event(ts(at), f"queued:{purpose}", wid, channel, msg)
                    log.info("alert.queued", channel=channel, purpose=purpose,
                             message_id=msg, warning_ids=message_ids)
        return queued

    def _messages(self, channel: str, receiver: str, purpose: str, chosen: list[Warning],
                  key: str) -> list[tuple[list[str], str, str, str]]:
        """(warning ids, title, body, body format) of each message for one channel."""
        cfg = self._settings.channels[channel]
        ids = [w.warning_id for w in chosen]
        digest = purpose.startswith("digest:")
        if cfg.structured:
            source = self._settings.source
            if digest:
                event = digest_event(message_id(purpose, key, channel, *ids), chosen,
                                     receiver, purpose[7:], source)
                title, _ = render_digest(chosen, [self._link(w) for w in chosen], "text",
                                         receiver, purpose[7:])
                return [(ids, title, encode(event), "cloudevents")]
            return [([w.warning_id], warning_title(w, purpose),
                     encode(warning_event(w, purpose, source)), "cloudevents")
                    for w in chosen]
        fmt = cfg.message_format
        links = [self._link(w) for w in chosen]
        if digest:
            title, body = render_digest(chosen, links, fmt, receiver, purpose[7:])
        else:
            title, body = render_group(chosen, links, fmt, purpose, receiver)
        return [(ids, title, body, fmt)]

    def advance(self, until: datetime) -> None:
        """Flush due groups, send due digests and escalate what is overdue, up to ``until``."""
        self._flush_groups(until)
        self._send_digests(until)
        self._escalate(until)

    def _flush_groups(self, until: datetime) -> None:
        db = self._store.db
        while True:
            row = db.execute(
                "SELECT * FROM groups WHERE next_flush IS NOT NULL AND next_flush <= ? "
                "ORDER BY next_flush, group_key LIMIT 1", (ts(until),)
            ).fetchone()
            if row is None:
                return
            due = parse_time(row["next_flush"])
            items = self._waiting(row["group_key"])
            release = self._quiet_until(self._routes.get(row["route"]),
                                        [w for w, _ in items], due)
            if release is not None:
                db.execute("UPDATE groups SET next_flush = ? WHERE group_key = ?",
                           (ts(release), row["group_key"]))
                continue
            self._close_group(row, items, due)

    def flush_waiting_groups(self, at: datetime) -> int:
        """Queue every group still waiting (for its group wait, group interval or quiet hours)
        as of event time ``at``, whatever its schedule: the input has ended, so nothing more
        can join it and no later event time will release it. Returns how many groups."""
        rows = self._store.db.execute(
            "SELECT * FROM groups WHERE next_flush IS NOT NULL ORDER BY next_flush, group_key"
        ).fetchall()
        for row in rows:
            self._close_group(row, self._waiting(row["group_key"]), at)
        return len(rows)

    def _waiting(self, key: str) -> list[tuple[Warning, str]]:
        """The warnings of group ``key`` not sent yet, with their purpose, in arrival order."""
        rows = self._store.db.execute(
            "SELECT warning_id, purpose FROM group_items WHERE group_key = ? AND flushed = 0 "
            "ORDER BY rowid", (key,))
        return [(self._store.warning(r["warning_id"]), r["purpose"]) for r in rows]

    def _close_group(self, row: sqlite3.Row, items: list[tuple[Warning, str]],
                     due: datetime) -> None:
        """Queue the waiting ``items`` of a group's ``row`` at event time ``due``; the group then
        waits for new warnings (and its group interval)."""
        db = self._store.db
        route = self._routes.get(row["route"])
        if route is not None:
            self._flush(route, row["group_key"], row["receiver"], items, due)
        db.execute("UPDATE group_items SET flushed = 1 WHERE group_key = ?", (row["group_key"],))
        db.execute("UPDATE groups SET next_flush = NULL, last_flush = ? WHERE group_key = ?",
                   (ts(due), row["group_key"]))

    @staticmethod
    def _quiet_until(route: ResolvedRoute | None, warnings: list[Warning],
                     due: datetime) -> datetime | None:
        quiet = route.quiet_hours if route is not None else None
        if quiet is None or any(w.severity in quiet.except_severity for w in warnings):
            return None
        return quiet.release_at(due)

    def _flush(self, route: ResolvedRoute, key: str, receiver: str,
               items: list[tuple[Warning, str]], due: datetime) -> None:
        db = self._store.db
        by_purpose: dict[str, list[Warning]] = {}
        for warning, purpose in items:
            muted = (silenced_by(self._settings, self._store, warning, due)
                     or inhibited_by(self._settings, self._store, warning, due))
            last = db.execute("SELECT at FROM repeats WHERE group_key = ? AND customer_id = ? "
                              "AND grade = ?", (key, warning.customer_id, warning.grade)
                              ).fetchone()
            if muted:
                self._store.event(ts(due), "muted", warning.warning_id, None, muted)
            elif (purpose == "notify" and last is not None
                  and parse_time(last["at"]) + route.repeat_interval > due):
                self._store.event(ts(due), "repeat_suppressed", warning.warning_id, None, key)
            else:
                by_purpose.setdefault(purpose, []).append(warning)
        for purpose, warnings in by_purpose.items():
            self.send_now(receiver, purpose, warnings, key, due)
            for w in warnings:
                db.execute("INSERT OR REPLACE INTO repeats VALUES (?, ?, ?, ?)",
                           (key, w.customer_id, w.grade, ts(due)))
                if purpose == "notify" and route.escalate_after and route.escalate_to:
                    db.execute("INSERT OR IGNORE INTO escalations VALUES (?, ?, ?, 0)",
                               (w.warning_id, route.path, ts(due + route.escalate_after)))

    def _send_digests(self, until: datetime) -> None:
        db = self._store.db
        for row in db.execute("SELECT * FROM digests WHERE next_due <= ? ORDER BY route",
                              (ts(until),)).fetchall():
            route = self._routes.get(row["route"])
            due = parse_time(row["next_due"])
            while route is not None and route.digest is not None and due <= until:
                self._digest(route, due)
                due = route.digest.next_after(due)
            db.execute("UPDATE digests SET next_due = ? WHERE route = ?", (ts(due), row["route"]))

    def _digest(self, route: ResolvedRoute, due: datetime) -> None:
        assert route.digest is not None and route.receiver is not None
        db = self._store.db
        latest: dict[str, Warning] = {}
        for r in db.execute(
            "SELECT w.warning_id FROM digest_items d JOIN warnings w USING (warning_id) "
            "WHERE d.route = ? AND d.included = 0 AND w.event_time < ? "
            "ORDER BY w.event_time, w.warning_id", (route.path, ts(due))
        ):
            warning = self._store.warning(r["warning_id"])
            latest[warning.customer_id] = warning
        live = [w for w in latest.values()
                if w.kind != RESOLVED
                and not silenced_by(self._settings, self._store, w, due)
                and not inhibited_by(self._settings, self._store, w, due)]
        ranked = sorted(live, key=lambda w: (-w.pd, w.rank, w.customer_id))[:route.digest.top]
        if ranked:
            self.send_now(route.receiver, f"digest:{ts(due)}", ranked, route.path, due)
        db.execute("UPDATE digest_items SET included = 1 WHERE route = ? AND warning_id IN "
                   "(SELECT warning_id FROM warnings WHERE event_time < ?)",
                   (route.path, ts(due)))

    def _escalate(self, until: datetime) -> None:
        db = self._store.db
        for row in db.execute("SELECT * FROM escalations WHERE done = 0 AND due <= ? "
                              "ORDER BY due, warning_id", (ts(until),)).fetchall():
            route = self._routes.get(row["route"])
            if not self._store.is_acked(row["warning_id"]) and route and route.escalate_to:
                warning = self._store.warning(row["warning_id"])
                due = parse_time(row["due"])
                self._store.event(ts(due), "escalated", warning.warning_id, None,
                                  f"unacknowledged; to {route.escalate_to}")
                self.send_now(route.escalate_to, "escalate", [warning], route.path, due)
            db.execute("UPDATE escalations SET done = 1 WHERE warning_id = ? AND route = ?",
                       (row["warning_id"], row["route"]))

    def _link(self, warning: Warning) -> str:
        return link_for(self._settings.link_template, warning)
