"""What travels between the parts: raw records in, warnings and dead letters out.

These are the only shapes a source must produce and a sink or channel may consume, so a new
connector needs nothing else from the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One undecoded record as a source read it.

    ``origin`` says where it came from, for lineage and dead letters: a file and line
    (``{"file": ..., "line": ...}``) or a Kafka topic, partition and offset.
    """

    feed: str
    raw: bytes
    origin: dict[str, Any] = field(default_factory=dict)
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Watermark:
    """Source partition ``partition`` (of ``partitions``) has read everything before ``at``
    (event time, seconds); the portfolio clock advances on the minimum over partitions.

    ``idle`` says the partition has nothing to read for now (a caught-up Kafka partition,
    or one that finished): the clock leaves it out of the minimum until its next mark.
    """

    partition: str
    partitions: int
    at: int
    idle: bool = False


@dataclass(frozen=True, slots=True)
class SourceDone:
    """A finite source partition reached its end having read ``records`` records."""

    partition: str
    records: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that was not accepted, with its reason code, detail and original bytes."""

    feed: str
    reason: str
    detail: str
    raw: bytes
    origin: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    customer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        try:
            original: str = self.raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            original = self.raw.hex()
            encoding = "hex"
        return {
            "feed": self.feed,
            "reason": self.reason,
            "detail": self.detail,
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "origin": self.origin,
            "original": original,
            "original_encoding": encoding,
        }


class Reason(BaseModel):
    """One signal behind a score: its value and its contribution to the log-odds."""

    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    value: float | str | None
    contribution: float


class Warning(BaseModel):
    """An early warning as written to ``warnings.jsonl``, the warnings topic and channels.

    ``warning_id`` is derived from the inputs (customer, event time, grade, kind), so the
    same input always gives the same id and every consumer can be idempotent on it.
    """

    model_config = ConfigDict(frozen=True)

    warning_id: str
    kind: str  # "early_warning" | "escalation" | "default" | "resolved"
    category: str  # family of the strongest reason: payment_delay, insolvency, news, ...
    customer_id: str
    customer_name: str | None = None
    event_time: str
    severity: str  # "info" | "watch" | "warning" | "critical"
    grade: str
    previous_grade: str | None = None
    pd: float
    horizon_months: int
    rank: int
    portfolio_size: int
    action: str
    reasons: list[Reason]
    evidence: list[str]
    exposure: float = 0.0
    insured_share: float | None = None
    currency: str | None = None
    country: str | None = None
    industry: str | None = None
    tags: list[str] = []
    model_version: str = ""
    config_digest: str = ""
    program_version: str = ""
