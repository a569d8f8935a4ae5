"""Approved actions as structured commands to the ERP, posted with an idempotency key.

An approved proposal becomes one `ErpAction`; `HttpErp` posts it as JSON to the configured
endpoint with an ``Idempotency-Key`` header (the same key on every retry, so the ERP applies
it once). The shared ERP action channel of the deliveries (``connectors.channels``) is the
place this should post through once it exists; until then this is the workspace's own small
client, behind the `ErpEndpoint` interface so the switch touches nothing else.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from config.redact import redact_url, scrub

ACTIONS = ("hold_orders", "reduce_limit", "require_prepayment", "release", "no_action")
"""What an analyst can propose; ``no_action`` closes the case and sends nothing."""
LABELS = {"hold_orders": "Hold new orders", "reduce_limit": "Reduce the credit limit",
          "require_prepayment": "Require prepayment", "release": "Release (lift measures)",
          "no_action": "No action"}


@dataclass(frozen=True, slots=True)
class ErpAction:
    """The command the ERP receives."""

    kind: str
    customer_id: str
    amount: float | None
    currency: str | None
    idempotency_key: str
    case_id: str
    proposal_id: str
    warning_id: str
    proposed_by: str
    approved_by: str
    approved_at: str
    comment: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one post: ``sent`` or ``failed``, and a detail safe to show."""

    status: str
    detail: str


class ErpEndpoint(Protocol):
    def send(self, action: ErpAction) -> Delivery: ...


class HttpErp:
    """Posts actions to one URL (the URL is a secret: it is never shown whole)."""

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self._timeout = timeout

    def send(self, action: ErpAction) -> Delivery:
        body = json.dumps(action.to_json(), ensure_ascii=True).encode("ascii")
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Idempotency-Key": action.idempotency_key})
        where = redact_url(self._url)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return Delivery("sent", f"{where} answered {response.status}")
        except urllib.error.HTTPError as exc:
            return Delivery("failed", f"{where} answered {exc.code}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return Delivery("failed", scrub(f"{where}: {exc}", self._url))


class NoErp:
    """No endpoint configured: nothing is posted and the case says so."""

    def send(self, action: ErpAction) -> Delivery:
        return Delivery("failed", "no ERP endpoint is configured (workspace.erp_url)")
