"""The ``Notifier`` facade: submit warnings, advance the event-time clock, deliver, and
record acknowledgements and silences. Routing happens here; timing in ``scheduler.py``;
sending in ``delivery.py``; durable state in ``store.py`` / ``outbox.py``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from config.alerts import AlertsSettings, resolve_routes
from config.audit import AuditSettings
from config.errors import NotificationError
from connectors.channels.actions import commands_for, enqueue
from connectors.channels.audit_trail import HistoryTrail
from connectors.channels.base import Channel
from connectors.channels.delivery import Deliverer, DeliveryReport
from connectors.channels.outbox import Outbox
from connectors.channels.plugins import build_channel
from connectors.channels.router import (
    group_key,
    inhibited_by,
    match_routes,
    record_inhibitors,
    silenced_by,
)
from connectors.channels.scheduler import Scheduler
from connectors.channels.store import Store, ts
from detectors.clock import parse_time
from detectors.records import RESOLVED, Warning

__all__ = ["DeliveryReport", "Notifier"]

log = structlog.get_logger(__name__)
_WATERMARK = "watermark"


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Routes warnings to desks' channels through a durable outbox in ``state_dir``.

    ``channels`` overrides channel construction by name (tests pass ``RecordingChannel``s);
    others are built from their URL by ``load_channel``.
    """

    def __init__(self, settings: AlertsSettings, state_dir: Path,
                 clock: Callable[[], datetime] = wall_clock,
                 channels: Mapping[str, Channel] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 audit: AuditSettings | None = None) -> None:
        self.settings = settings
        self._trail = HistoryTrail(state_dir, audit) if audit is not None and audit.enabled \
            else None
        self._routes = resolve_routes(settings.route)
        self._store = Store(state_dir)
        self._outbox = Outbox(self._store)
        self._clock = clock
        self._channels: dict[str, Channel] = dict(channels or {})
        self._scheduler = Scheduler(settings, self._store, self._outbox,
                                    {r.path: r for r in self._routes}, clock)
        self._deliverer = Deliverer(settings, self._store, self._outbox, self._channel,
                                    clock, sleep)
        self._batching = False

    def close(self) -> None:
        if self._trail is not None:
            self._trail.record(self._store)
            self._trail.close()
        self._store.close()

    def record_history(self) -> int:
        """Copy new history events into the audit log (when audit settings were given)."""
        return 0 if self._trail is None else self._trail.record(self._store)

    def _channel(self, name: str) -> Channel:
        if name not in self._channels:
            self._channels[name] = build_channel(self.settings.channels[name])
        return self._channels[name]

    def submit(self, warning: Warning) -> list[str]:
        """Route one warning and buffer or queue it; returns one decision per route taken."""
        at = parse_time(warning.event_time)
        bound = log.bind(warning_id=warning.warning_id, customer_id=warning.customer_id)
        self._advance(at)
        if not self._store.put_warning(warning):
            return ["duplicate: already submitted"]
        decisions = self._route(warning, at)
        self._store.event(ts(at), "routed", warning.warning_id, None, "; ".join(decisions))
        self._act(warning, at)
        self._advance(at)
        self._commit()
        bound.info("alert.routed", decisions=decisions)
        return decisions

    def _route(self, warning: Warning, at: datetime) -> list[str]:
        if warning.kind == RESOLVED:
            self._store.resolve_customer(warning.customer_id)
        record_inhibitors(self.settings, self._store, warning)
        if silence := silenced_by(self.settings, self._store, warning, at):
            return [f"silenced by {silence}"]
        if source := inhibited_by(self.settings, self._store, warning, at):
            return [f"inhibited by {source}"]
        decisions = []
        for route in match_routes(self._routes[0], warning):
            if route.mode == "digest" and warning.kind == RESOLVED and route.receiver:
                self._scheduler.add_to_digest(route, warning, at)  # (its customer leaves it)
            if route.receiver is None:
                decisions.append(f"{route.path}: no receiver")
            elif warning.kind == RESOLVED and not route.notify_resolved:
                decisions.append(f"{route.path}: resolution not requested")
            elif route.mode == "digest" and warning.kind != RESOLVED:
                self._scheduler.add_to_digest(route, warning, at)
                decisions.append(f"{route.path}: digest for {route.receiver}")
            else:
                key = group_key(route, warning)
                purpose = "resolved" if warning.kind == RESOLVED else "notify"
                self._scheduler.add_to_group(route, key, warning, purpose, at)
                decisions.append(f"{route.path}: group {key}")
            if warning.kind == "escalation" and route.escalate_to:
                self._scheduler.send_now(route.escalate_to, "escalate", [warning],
                                         route.path, at)
                decisions.append(f"{route.path}: escalated to {route.escalate_to}")
        return decisions

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Submit and advance inside as one transaction: one durable commit for a whole
        batch of the flow instead of one per warning and day."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
        self._store.db.commit()

    def _commit(self) -> None:
        if not self._batching:
            self._store.db.commit()

    def _act(self, warning: Warning, at: datetime) -> None:
        """Queue the warning's recommended ERP action, when endpoints want them."""
        if not (self.settings.actions.endpoints and self.settings.actions.from_warnings):
            return
        for command in commands_for(warning):
            enqueue(self.settings, self._store, command, ts(at), self._clock().timestamp())

    def advance(self, event_time: datetime) -> None:
        """Move the event-time clock: flush groups, send due digests, escalate overdue."""
        self._advance(event_time)
        self._commit()

    def _advance(self, event_time: datetime) -> None:
        mark = self._store.meta(_WATERMARK)
        moment = ts(event_time)
        if mark is not None and moment < mark:
            moment = mark  # the clock never goes back: late warnings do not re-open the past
        self._store.set_meta(_WATERMARK, moment)
        self._scheduler.advance(parse_time(moment))

    def input_ended(self) -> int:
        """The flow feeding this notifier has ended (its bounded input reached the end, or
        the run stopped): queue every group still waiting, stamped with the last event time
        (the watermark), since nothing more can join it; the same in every replay, however
        many workers ran the flow. Digests and escalations keep their schedule. Returns how
        many groups were queued."""
        mark = self._store.meta(_WATERMARK)
        if mark is None:
            return 0
        groups = self._scheduler.flush_waiting_groups(parse_time(mark))
        self._store.db.commit()
        if groups:
            log.info("alert.groups_flushed", groups=groups, event_time=mark,
                     reason="input ended")
        return groups

    def deliver(self, max_seconds: float | None = None) -> DeliveryReport:
        """Send what is due now, in this thread (see ``Deliverer.deliver``); the monitor
        leaves this to a `DeliveryWorker`."""
        return self._deliverer.deliver(max_seconds)

    def ack(self, warning_id: str, by: str, comment: str = "",
            at: datetime | None = None) -> None:
        """Acknowledge a warning: it will not be escalated for being unacknowledged."""
        self._known(warning_id)
        moment = ts(at or self._clock())
        self._store.ack(warning_id, by, moment, comment)
        self._store.event(moment, "acknowledged", warning_id, None, f"{by}: {comment}")
        self._store.db.commit()
        log.info("alert.acknowledged", warning_id=warning_id, by=by)

    def silence(self, until: datetime, by: str, customer_id: str | None = None,
                warning_id: str | None = None, comment: str = "",
                starts_at: datetime | None = None) -> str:
        """Mute a customer's (or one warning's) notifications for event times before ``until``;
        returns the silence id."""
        if customer_id is None and warning_id is None:
            raise NotificationError("a silence needs a customer or a warning id")
        parts = [customer_id or "", warning_id or "", ts(until), by, comment]
        silence_id = "sil-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
        self._store.add_silence({
            "silence_id": silence_id, "customer_id": customer_id, "warning_id": warning_id,
            "starts_at": ts(starts_at) if starts_at else None, "until": ts(until), "by": by,
            "comment": comment,
        })
        self._store.event(ts(self._clock()), "silenced", warning_id, None,
                          f"{silence_id} customer={customer_id} until={ts(until)} by {by}")
        self._store.db.commit()
        log.info("alert.silence_added", silence_id=silence_id, customer_id=customer_id)
        return silence_id

    def history(self, warning_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """History events (routing, queueing, sends, retries, failures, acks), newest first."""
        return self._store.history(warning_id, limit)

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Outbox rows (pending / sent / failed) with attempts and last error, newest first."""
        return self._outbox.rows(status, limit)

    def silences(self) -> list[dict[str, Any]]:
        return self._store.silences()

    def _known(self, warning_id: str) -> None:
        found = self._store.db.execute(
            "SELECT 1 FROM warnings WHERE warning_id = ?", (warning_id,)
        ).fetchone()
        if found is None:
            raise NotificationError(f"unknown warning {warning_id!r}")
