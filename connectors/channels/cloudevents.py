"""Structured messages as CloudEvents 1.0 (JSON event format) whose data is a record the
monitor publishes: a warning, a digest of warnings, or an ERP action command.

The event ``id`` is what receivers deduplicate on (and the Standard Webhooks ``webhook-id``):
the warning id for a warning's notification or resolution, ``<warning id>/<purpose>`` for
its escalation, the idempotency key for an action. The JSON Schema of ``data`` is written by
``creditradar schema export``.
"""

from __future__ import annotations

import json
from typing import Any

from detectors.clock import parse_time, to_rfc3339
from detectors.records import Warning

SPECVERSION = "1.0"
WARNING_TYPE = "com.creditradar.warning"
DIGEST_TYPE = "com.creditradar.digest"
ACTION_TYPE = "com.creditradar.action"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
SAME_ID_PURPOSES = ("notify", "resolved")
"""Purposes whose event id is the warning id itself."""


def event_time(text: str) -> str:
    """An RFC 3339 time with ``Z`` (CloudEvents ``time``) from any time the records carry."""
    return to_rfc3339(int(parse_time(text).timestamp()))


def warning_event_id(warning_id: str, purpose: str) -> str:
    return warning_id if purpose in SAME_ID_PURPOSES else f"{warning_id}/{purpose}"


def envelope(event_id: str, kind: str, source: str, subject: str, time: str,
             data: Any, **extensions: str) -> dict[str, Any]:
    """A CloudEvent in the JSON event format."""
    return {"specversion": SPECVERSION, "id": event_id, "source": source, "type": kind,
            "subject": subject, "time": time, "datacontenttype": "application/json",
            **extensions, "data": data}


def warning_event(warning: Warning, purpose: str, source: str) -> dict[str, Any]:
    """One warning as a CloudEvent; ``purpose`` (notify, escalate, resolved) is an extension
    attribute."""
    return envelope(warning_event_id(warning.warning_id, purpose), WARNING_TYPE, source,
                    warning.customer_id, event_time(warning.event_time),
                    warning.model_dump(mode="json"), purpose=purpose)


def digest_event(event_id: str, warnings: list[Warning], desk: str, due: str,
                 source: str) -> dict[str, Any]:
    """A ranked watchlist as one CloudEvent: ``data.warnings`` highest PD first."""
    return envelope(event_id, DIGEST_TYPE, source, desk, event_time(due),
                    {"desk": desk, "due": event_time(due),
                     "warnings": [w.model_dump(mode="json") for w in warnings]},
                    purpose="digest")


def encode(event: dict[str, Any]) -> str:
    """The bytes that are posted (and signed): compact JSON, UTF-8."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
