"""Approved actions to the ERP, through the shared ERP action channel.

An approved proposal becomes one `connectors.channels.actions.ActionCommand` whose
idempotency key is the proposal's; `ActionDesk.post` queues it in the notifier's durable
outbox for every endpoint of ``alerts.actions.endpoints``, and the delivery worker posts it as
a signed CloudEvent (the workspace runs one; ``creditradar alerts deliver`` does too). The ERP
confirms through the operations server or ``creditradar alerts confirm-action``. `status`
reads back where each command stands, for the case page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.errors import CreditRadarError
from config.redact import redact_text
from config.settings import Settings
from connectors.channels.actions import PURPOSE, ActionCommand, ActionDesk
from connectors.channels.outbox import message_id
from connectors.channels.store import Store

ACTIONS = ("hold_orders", "reduce_limit", "require_prepayment", "release", "no_action")
"""What an analyst can propose; ``no_action`` closes the case and sends nothing."""
LABELS = {"hold_orders": "Hold new orders", "reduce_limit": "Reduce the credit limit",
          "require_prepayment": "Require prepayment", "release": "Release (lift measures)",
          "no_action": "No action"}


@dataclass(frozen=True, slots=True)
class Posted:
    """What became of posting one command: ``queued`` (for the endpoints named) or
    ``not_sent`` (why, in words safe to show)."""

    status: str
    detail: str


class ErpActions:
    """The shared action channel, as the workspace uses it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def endpoints(self) -> list[str]:
        return list(self.settings.alerts.actions.endpoints)

    def post(self, command: ActionCommand) -> Posted:
        """Queue ``command`` for the ERP endpoints (again: queued once per key)."""
        if not self.endpoints:
            return Posted("not_sent", "no ERP endpoint is configured "
                          "(alerts.actions.endpoints)")
        desk = ActionDesk(self.settings.alerts, self.settings.state_dir,
                          audit=self.settings.audit)
        try:
            desk.post(command)
        except CreditRadarError as exc:
            return Posted("not_sent", redact_text(str(exc))[:300])
        finally:
            desk.close()
        return Posted("queued", "queued for " + ", ".join(self.endpoints))

    def status(self, idempotency_key: str) -> list[dict[str, Any]]:
        """Per endpoint: delivery status, attempts and last error (secrets masked), and the
        ERP's confirmation when it gave one."""
        store = Store(self.settings.state_dir)
        try:
            action = store.db.execute("SELECT * FROM actions WHERE idempotency_key = ?",
                                      (idempotency_key,)).fetchone()
            out = []
            for endpoint in self.endpoints:
                row = store.db.execute(
                    "SELECT status, attempts, last_error FROM outbox WHERE message_id = ? AND "
                    "channel = ?", (message_id(PURPOSE, idempotency_key, endpoint), endpoint)
                ).fetchone()
                if row is None:
                    continue
                out.append({"endpoint": endpoint, "status": row["status"],
                            "attempts": row["attempts"],
                            "error": redact_text(row["last_error"] or "")[:300],
                            "confirmation": None if action is None or action["status"] == "queued"
                            else {"status": action["status"], "by": action["confirmed_by"],
                                  "at": action["confirmed_at"], "detail": action["detail"]}})
            return out
        finally:
            store.close()
