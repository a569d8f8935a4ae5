"""Small builders of valid feed records for tests (JSON-ready dicts and parsed events)."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path
from typing import Any

from connectors.contracts import parse_record
from detectors.events import Event

_ids = count()


def record(feed: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("event_id", f"{feed[:3]}-{next(_ids)}")
    return fields


def customer(cid: str, when: str, name: str, **extra: Any) -> dict[str, Any]:
    return record("customers", customer_id=cid, event_time=when, name=name, **extra)


def invoice(cid: str, when: str, inv: str, amount: float, due: str, **extra: Any) -> dict:
    return record("payments", customer_id=cid, event_time=when, type="invoice", invoice_id=inv,
                  amount=f"{amount:.2f}", currency="EUR", issue_date=when[:10], due_date=due,
                  **extra)


def payment(cid: str, when: str, inv: str, amount: float, **extra: Any) -> dict[str, Any]:
    return record("payments", customer_id=cid, event_time=when, type="payment", invoice_id=inv,
                  amount=f"{amount:.2f}", currency="EUR", **extra)


def status(cid: str, when: str, value: str) -> dict[str, Any]:
    return record("registry", customer_id=cid, event_time=when, type="status_change",
                  status=value)


def drain(part: Any, limit: int | None = None) -> list[Any]:
    """A source partition's batches, to its end (then closed) or until ``limit`` items."""
    got: list[Any] = []
    try:
        while limit is None or len(got) < limit:
            got.extend(part.next_batch())
    except StopIteration:
        part.close()
    return got


def event(feed: str, obj: dict[str, Any]) -> Event:
    return parse_record(feed, json.dumps(obj).encode())


def write_feeds(folder: Path, feeds: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``{feed: [records]}`` as JSON Lines files, each sorted by event time."""
    folder.mkdir(parents=True, exist_ok=True)
    for feed, rows in feeds.items():
        rows = sorted(rows, key=lambda r: str(r.get("event_time", "")))
        (folder / f"{feed}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder
