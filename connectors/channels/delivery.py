"""The wall-clock half of the notifier: send what the outbox says is due, retry with
exponential backoff and seeded jitter, honour per-channel rate limits and a receiver's
``Retry-After``, give up after ``max_attempts`` and keep the error.

Each send first claims its row (`Outbox.claim`), so several workers may share an outbox
without sending a message twice; no database transaction is open while a send waits on the
network.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

import structlog

from config.alerts import AlertsSettings, ChannelSettings
from config.redact import scrub
from connectors.channels.base import Channel, RetryLater
from connectors.channels.outbox import Delivery, Outbox
from connectors.channels.store import Store

log = structlog.get_logger(__name__)
LEASE_MARGIN_SECONDS = 30.0
LEASE_TIMEOUTS = 10
"""A claimed send may take this many of the channel's timeouts (the timeout bounds each wait
on the receiver, and an SMTP exchange waits on about eight replies) and `LEASE_MARGIN_SECONDS`
more before another worker may take it over (the claiming worker is then presumed dead)."""


@dataclass
class DeliveryReport:
    """What one ``deliver`` call did; ``pending`` is what is still queued afterwards."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    pending: int = 0

    def add(self, other: DeliveryReport) -> None:
        """Add another report's counts (``pending`` is taken, not added: it is a level)."""
        for name in ("sent", "retried", "failed", "rate_limited"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pending = other.pending

    def to_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def backoff_delay(cfg: ChannelSettings, msg_id: str, channel: str, attempt: int) -> float:
    """Exponential backoff with jitter in [0.5, 1.5), seeded by message, channel and attempt
    so the schedule is reproducible."""
    rng = random.Random(f"{msg_id}/{channel}/{attempt}")
    base = min(cfg.backoff_seconds * 2 ** (attempt - 1), cfg.backoff_max_seconds)
    return base * (0.5 + rng.random())


class Deliverer:
    """Sends due outbox rows through channels built on first use."""

    def __init__(self, settings: AlertsSettings, store: Store, outbox: Outbox,
                 channel_for: Callable[[str], Channel], clock: Callable[[], datetime],
                 sleep: Callable[[float], None],
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self._settings = settings
        self._store = store
        self._outbox = outbox
        self._channel_for = channel_for
        self._clock = clock
        self._sleep = sleep
        self._stopping = stopping

    def deliver(self, max_seconds: float | None = None,
                channels: set[str] | None = None) -> DeliveryReport:
        """One pass over what is due (on ``channels``, when given); with ``max_seconds``,
        keep going (sleeping until the next retry or rate-limit slot) until the queue is
        empty or the time is up."""
        report = DeliveryReport()
        deadline = None if max_seconds is None else self._now() + max_seconds
        while True:
            limited: dict[str, float] = {}
            self._pass(report, limited, channels)
            if deadline is None or self._stopping():
                break
            retry_at = self._outbox.next_attempt_at(set(limited), channels)
            if retry_at is None and not limited:
                break
            wake_at = min([*limited.values(), retry_at if retry_at is not None else deadline])
            wake_at = max(wake_at, self._now() + 0.005)
            if wake_at >= deadline:
                break
            self._sleep(wake_at - self._now())
        report.pending = self._outbox.counts().get("pending", 0)
        return report

    def _now(self) -> float:
        return self._clock().timestamp()

    def _pass(self, report: DeliveryReport, limited: dict[str, float],
              channels: set[str] | None) -> None:
        """Send everything due now; fills ``limited`` with rate-limited channels and the time
        each frees a slot."""
        now = self._now()
        for item in self._outbox.due(now, channels):
            if self._stopping():
                return
            if item.channel in limited:
                report.rate_limited += 1
                continue
            cfg = self._settings.channels.get(item.channel)
            if cfg is not None and cfg.rate_limit_per_minute is not None:
                recent = self._outbox.sent_since(item.channel, now - 60.0)
                if len(recent) >= cfg.rate_limit_per_minute:
                    limited[item.channel] = recent[-cfg.rate_limit_per_minute] + 60.0
                    report.rate_limited += 1
                    continue
            lease = (cfg.timeout_seconds * LEASE_TIMEOUTS if cfg else 0.0) + LEASE_MARGIN_SECONDS
            claimed = self._outbox.claim(item.seq, self._now(), lease)
            if claimed is not None:
                self._attempt(item, claimed, cfg, report, limited)
            now = self._now()

    def _attempt(self, item: Delivery, claimed: float, cfg: ChannelSettings | None,
                 report: DeliveryReport, limited: dict[str, float]) -> None:
        """One attempt at ``item`` under its claim (``claimed``, from `Outbox.claim`): its
        outcome is recorded only while the claim holds."""
        bound = log.bind(channel=item.channel, message_id=item.message_id,
                         warning_ids=self._outbox.warnings_of(item.message_id, item.channel),
                         attempt=item.attempts + 1)
        try:
            if cfg is None:
                raise LookupError("channel is no longer configured")
            self._channel_for(item.channel).send(item.title, item.body, item.body_format)
        except RetryLater as exc:
            retry_at = self._now() + exc.seconds
            limited[item.channel] = retry_at
            if self._outbox.defer(item.seq, claimed, str(exc), retry_at):
                self._events(item, "rate_limited", str(exc))
            report.rate_limited += 1
            bound.warning("alert.rate_limited", retry_after=exc.seconds)
        # a channel (plugins included) may fail in any way; it must not stop the others
        except Exception as exc:
            url = cfg.url.get_secret_value() if cfg else ""
            error = scrub(f"{type(exc).__name__}: {exc}", url) if url else str(exc)
            last = cfg is None or item.attempts + 1 >= cfg.max_attempts
            retry_at = None if last else self._now() + backoff_delay(
                cfg, item.message_id, item.channel, item.attempts + 1)
            if not self._outbox.mark_attempt_failed(item.seq, claimed, error, retry_at):
                bound.warning("alert.claim_lapsed", error=error)
            elif last:
                self._events(item, "failed", error)
                report.failed += 1
                bound.error("alert.failed", error=error)
            else:
                self._events(item, "retry", error)
                report.retried += 1
                bound.warning("alert.retry", error=error, retry_at=retry_at)
        else:
            if self._outbox.mark_sent(item.seq, claimed, item.channel, self._now()):
                self._events(item, "sent", item.purpose)
                report.sent += 1
                bound.info("alert.sent", purpose=item.purpose)
            else:  # sent after its claim lapsed: another worker may have sent it too
                bound.warning("alert.claim_lapsed", purpose=item.purpose)
        self._store.db.commit()

    def _events(self, item: Delivery, kind: str, detail: str) -> None:
        at = self._clock().isoformat()
        for wid in self._outbox.warnings_of(item.message_id, item.channel):
            self._store.event(at, kind, wid, item.channel, detail)
