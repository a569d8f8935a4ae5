"""Validation at the door: a raw record becomes an accepted envelope or a dead letter."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from config.errors import ContractError
from connectors.contracts import Event, parse_record
from connectors.records import DeadLetter, RawRecord

LEGAL_SUFFIXES = frozenset(
    """
    ab ag as bv co corp gmbh inc kg kgaa limited llc llp ltd nv oy plc sa sarl sas se
    spa sp srl
    """.split()
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A valid event with the raw bytes and origin it came from (for lineage and audit)."""

    event: Event
    raw: bytes
    origin: dict[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        """Cross workers (and go into snapshots) as the raw record: parsing it again is
        several times faster than unpickling the parsed model. A customer id found by name
        resolution travels along."""
        customer_id = getattr(self.event, "customer_id", None)
        return _revived, (self.event.feed, self.raw, self.origin, customer_id)

    def dead(self, reason: str, detail: str) -> DeadLetter:
        """This record as a dead letter: rejected after validation (duplicate, late, ...)."""
        return DeadLetter(self.event.feed, reason, detail, self.raw, self.origin,
                          self.event.event_id, getattr(self.event, "customer_id", None))


def _revived(feed: str, raw: bytes, origin: dict[str, Any], customer_id: str | None) -> Envelope:
    event = parse_record(feed, raw)
    if getattr(event, "customer_id", None) != customer_id:
        event = event.model_copy(update={"customer_id": customer_id})
    return Envelope(event, raw, origin)


def validate(record: RawRecord) -> Envelope | DeadLetter:
    """Parse a raw record under the contract; a failure is data, not an exception."""
    try:
        return Envelope(parse_record(record.feed, record.raw), record.raw, record.origin)
    except ContractError as exc:
        return DeadLetter(record.feed, exc.reason, exc.detail, record.raw, record.origin)
    except Exception as exc:  # noqa: BLE001 - hostile input must cost one record, not the run
        detail = f"{type(exc).__name__}: {exc}"
        return DeadLetter(record.feed, "invalid_record", detail, record.raw, record.origin)


def normalize_name(name: str) -> str:
    """A company name reduced for matching: case, accents, punctuation, legal form dropped.

    >>> normalize_name("Hollis Metalworks GmbH"), normalize_name("  HOLLIS   metalworks, g.m.b.h")
    ('hollis metalworks', 'hollis metalworks')
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"(?<=\b\w)\.(?=\w\b)", "", text)  # g.m.b.h -> gmbh
    words = re.sub(r"[^a-z0-9]+", " ", text.replace(".", "")).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)
