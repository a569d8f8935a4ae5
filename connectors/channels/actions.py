"""ERP actions: what a desk should do about a customer, as a command an ERP can apply.

A warning's recommended action becomes an `ActionCommand` (`command_for`), and a desk's
approved decision is one too (the workspace builds it and calls `ActionDesk.post`). Commands
go through the durable outbox to every endpoint in ``alerts.actions.endpoints`` as signed
CloudEvents (type ``com.creditradar.action``, id = the idempotency key), so an ERP applies
each once however often it is delivered. The ERP confirms with `ActionDesk.confirm` (behind
``POST /actions/confirmations`` of the operations server, or ``creditradar alerts
confirm-action``); every post and confirmation lands in the hash-chained audit trail.

Typical use from another component::

    desk = ActionDesk(settings.alerts, settings.state_dir, audit=settings.audit)
    try:
        desk.post(ActionCommand(kind="reduce_limit", customer_id="C-1", warning_id="w-1",
                                suggested_limit=50_000, currency="EUR",
                                event_time="2026-03-02T09:00:00Z", requested_by="anna",
                                approved_by="ben", reason="case 42 approved"))
    finally:
        desk.close()
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from config.errors import NotificationError
from connectors.channels.audit_trail import HistoryTrail
from connectors.channels.cloudevents import ACTION_TYPE, encode, envelope, event_time
from connectors.channels.outbox import Outbox, message_id
from connectors.channels.store import Store, ts
from detectors.records import RESOLVED, Warning

log = structlog.get_logger(__name__)

ActionKind = Literal["hold_orders", "reduce_limit", "require_prepayment", "release",
                     "start_collection"]
ConfirmationStatus = Literal["applied", "rejected", "failed"]
PURPOSE = "action"


class ActionCommand(BaseModel):
    """One command for the ERP. ``idempotency_key`` is derived from the other fields when
    not given, so the same decision always carries the same key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    customer_id: str = Field(min_length=1, max_length=256)
    warning_id: str | None = None
    suggested_limit: float | None = Field(default=None, ge=0)
    """For ``reduce_limit``: the new credit limit, in ``currency``."""
    currency: str | None = None
    invoices: list[str] = []
    """For ``start_collection``: the ids of the invoices to collect."""
    reason: str = ""
    requested_by: str = "creditradar"
    """Who asks: ``creditradar`` (the warning policy) or the analyst who proposed it."""
    approved_by: str | None = None
    event_time: str
    """When the decision applies: the warning's event time, or when it was approved."""
    idempotency_key: str = ""

    @model_validator(mode="after")
    def _complete(self) -> ActionCommand:
        if self.kind == "reduce_limit" and self.suggested_limit is None:
            raise ValueError("reduce_limit needs suggested_limit")
        if self.kind != "reduce_limit" and self.suggested_limit is not None:
            raise ValueError("only reduce_limit takes suggested_limit")
        if (self.kind == "start_collection") != bool(self.invoices):
            raise ValueError("start_collection, and only it, takes invoices (at least one)")
        event_time(self.event_time)  # raises ValueError unless a time
        if not self.idempotency_key:
            parts = [self.kind, self.customer_id, self.warning_id or "",
                     repr(self.suggested_limit), self.requested_by, self.approved_by or "",
                     *self.invoices]
            digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
            object.__setattr__(self, "idempotency_key", f"act-{digest}")
        return self


class ActionConfirmation(BaseModel):
    """The ERP's answer to a command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: str = Field(min_length=1)
    status: ConfirmationStatus
    by: str = Field(min_length=1, max_length=256)
    detail: str = Field(default="", max_length=4096)
    endpoint: str | None = None
    """The endpoint (channel name) that applied it, when the ERP says."""


def commands_for(warning: Warning) -> list[ActionCommand]:
    """The commands a warning recommends: `command_for`'s, and for a default with invoices
    past due, ``start_collection`` of those invoices."""
    command = command_for(warning)
    commands = [] if command is None else [command]
    if warning.kind == "default" and warning.invoices:
        commands.append(ActionCommand(
            kind="start_collection", customer_id=warning.customer_id,
            warning_id=warning.warning_id, event_time=warning.event_time,
            reason="collect the invoices past due at the default",
            invoices=list(warning.invoices), currency=warning.customer_currency))
    return commands


def command_for(warning: Warning) -> ActionCommand | None:
    """The command a warning recommends, or None (grades A to C ask for a review, not an
    ERP action):

    - resolved: ``release`` the customer's holds;
    - a default, or grade E: ``hold_orders``;
    - grade D: ``reduce_limit`` to the current exposure (no new credit), or
      ``require_prepayment`` when nothing is outstanding.
    """
    common: dict[str, Any] = {"customer_id": warning.customer_id,
                              "warning_id": warning.warning_id,
                              "event_time": warning.event_time, "reason": warning.action}
    if warning.kind == RESOLVED:
        return ActionCommand(kind="release", **common)
    if warning.kind == "default" or warning.grade == "E":
        return ActionCommand(kind="hold_orders", **common)
    if warning.grade == "D":
        exposure, currency = warning.customer_exposure, warning.customer_currency
        if exposure is None:  # a warning from before amounts carried the customer's currency
            exposure, currency = warning.exposure or 0.0, warning.currency
        if exposure > 0:  # the ERP keeps the limit in the customer's currency
            return ActionCommand(kind="reduce_limit", currency=currency,
                                 suggested_limit=float(math.floor(exposure)), **common)
        return ActionCommand(kind="require_prepayment", **common)
    return None


def enqueue(settings: AlertsSettings, store: Store, command: ActionCommand, at: str,
            now: float) -> list[str]:
    """Queue ``command`` for every action endpoint (the caller commits); returns the
    endpoints it was queued for now (none when it was queued before)."""
    body = command.model_dump(mode="json")
    event = encode(envelope(command.idempotency_key, ACTION_TYPE, settings.source,
                            command.customer_id, event_time(command.event_time), body,
                            purpose=command.kind))
    store.db.execute(
        "INSERT OR IGNORE INTO actions (idempotency_key, kind, customer_id, warning_id, body) "
        "VALUES (?, ?, ?, ?, ?)", (command.idempotency_key, command.kind, command.customer_id,
                                   command.warning_id, encode(body)))
    outbox = Outbox(store)
    title = f"{command.kind} {command.customer_id}"
    queued = []
    for endpoint in settings.actions.endpoints:
        msg = message_id(PURPOSE, command.idempotency_key, endpoint)
        if outbox.enqueue(msg, endpoint, PURPOSE, [command.idempotency_key], title, event,
                          "cloudevents", now):
            store.event(at, "action_queued", command.warning_id, endpoint,
                        f"{command.idempotency_key} {command.kind}")
            queued.append(endpoint)
    return queued


class ActionDesk:
    """Posts action commands and records the ERP's confirmations, in ``state_dir``'s outbox
    and (with audit settings) its audit trail. Delivery is the delivery worker's job."""

    def __init__(self, settings: AlertsSettings, state_dir: Path,
                 audit: AuditSettings | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._store = Store(Path(state_dir))
        self._clock = clock
        self._trail = HistoryTrail(Path(state_dir), audit) \
            if audit is not None and audit.enabled else None

    def post(self, command: ActionCommand) -> list[str]:
        """Queue ``command`` for every configured endpoint; returns the endpoints it was
        queued for (empty when the same idempotency key was posted before)."""
        if not self._settings.actions.endpoints:
            raise NotificationError("no ERP endpoint is configured (alerts.actions.endpoints)")
        now = self._clock()
        with self._store.db:
            queued = enqueue(self._settings, self._store, command, ts(now), now.timestamp())
        self._record()
        log.info("action.posted", idempotency_key=command.idempotency_key, kind=command.kind,
                 customer_id=command.customer_id, endpoints=queued)
        return queued

    def confirm(self, confirmation: ActionConfirmation) -> None:
        """Record the ERP's confirmation of a command posted before."""
        row = self.status(confirmation.idempotency_key)
        moment = ts(self._clock())
        with self._store.db:
            self._store.db.execute(
                "UPDATE actions SET status = ?, confirmed_by = ?, confirmed_at = ?, detail = ? "
                "WHERE idempotency_key = ?",
                (confirmation.status, confirmation.by, moment, confirmation.detail,
                 confirmation.idempotency_key))
            self._store.event(moment, f"action_{confirmation.status}", row["warning_id"],
                              confirmation.endpoint,
                              f"{confirmation.idempotency_key} by {confirmation.by}: "
                              f"{confirmation.detail}")
        self._record()
        log.info("action.confirmed", idempotency_key=confirmation.idempotency_key,
                 status=confirmation.status)

    def status(self, idempotency_key: str) -> dict[str, Any]:
        """The stored command and its confirmation state; unknown keys raise."""
        row = self._store.db.execute("SELECT * FROM actions WHERE idempotency_key = ?",
                                     (idempotency_key,)).fetchone()
        if row is None:
            raise NotificationError(f"unknown action {idempotency_key!r}")
        return dict(row)

    def close(self) -> None:
        if self._trail is not None:
            self._trail.close()
        self._store.close()

    def _record(self) -> None:
        if self._trail is not None:
            self._trail.record(self._store)
