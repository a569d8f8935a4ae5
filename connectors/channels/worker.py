"""The delivery worker: sends the outbox of a state directory, outside any dataflow.

One thread per channel, each with its own database connection, so a hung or slow receiver
holds up only its own channel, never the monitor nor the other channels. The monitor's
sink only enqueues; this worker runs beside it (started by ``creditradar run``), or alone
(``creditradar alerts deliver``, once or as a daemon). A supervisor thread copies the
delivery history into the audit trail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import structlog

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from connectors.channels.audit_trail import HistoryTrail
from connectors.channels.base import Channel
from connectors.channels.delivery import Deliverer, DeliveryReport
from connectors.channels.outbox import Outbox
from connectors.channels.plugins import build_channel
from connectors.channels.store import Store

log = structlog.get_logger(__name__)
POLL_SECONDS = 0.5
"""How often an idle channel thread looks for new rows."""
HISTORY_THREAD = "deliver-history"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def delivery_counts(state_dir: Path) -> dict[str, int]:
    """Deliveries of an outbox by status: pending, sent and failed (zeros included)."""
    store = Store(state_dir)
    try:
        counts = Outbox(store).counts()
    finally:
        store.close()
    return {status: counts.get(status, 0) for status in ("pending", "sent", "failed")}


class DeliveryWorker:
    """Delivers ``state_dir``'s outbox on every configured channel until stopped.

    Modes: `start` then `stop` (run beside a monitor, or as a daemon); `drain` sends
    everything pending, waiting for retries and rate limits, up to a time limit.
    ``channels`` overrides channel construction by name (tests).
    """

    def __init__(self, settings: AlertsSettings, state_dir: Path,
                 audit: AuditSettings | None = None,
                 channels: Mapping[str, Channel] | None = None,
                 clock: Callable[[], datetime] = wall_clock,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self._settings = settings
        self._state_dir = Path(state_dir)
        self._audit = audit if audit is not None and audit.enabled else None
        self._given = dict(channels or {})
        self._clock = clock
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._finish_by: float | None = None
        self._until_empty = False
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.report = DeliveryReport()
        self.last_pass: float | None = None
        """Wall time a channel thread last finished a pass (the readiness probe reads it)."""

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> DeliveryWorker:
        """Start one thread per channel and the history recorder. A channel no longer
        configured (renamed, removed) whose messages are still pending gets a thread too,
        which reports each of them failed: otherwise they would wait for ever, unreported."""
        store = Store(self._state_dir)  # create the outbox (and fail here, not in a thread)
        try:
            orphaned = Outbox(store).pending_channels() - set(self._settings.channels)
        finally:
            store.close()
        for name in sorted({*self._settings.channels, *orphaned}):
            self._spawn(f"deliver-{name}", lambda name=name: self._channel_loop(name))
        if self._audit is not None:
            self._spawn(HISTORY_THREAD, self._history_loop)
        log.info("delivery.started", channels=sorted(self._settings.channels))
        return self

    def stop(self, wait_seconds: float = 0.0) -> DeliveryReport:
        """Stop: each channel keeps sending what is due now for up to ``wait_seconds``, then
        its thread ends; a send still waiting on its receiver then is abandoned when the
        process exits (channel threads are daemons, and apprise sends in them), its message
        still pending: the next worker retries it once its claim lapses."""
        deadline = time.monotonic() + wait_seconds
        self._finish_by = deadline
        if wait_seconds <= 0:
            self._stop.set()
        for thread in self._threads:
            if thread.name != HISTORY_THREAD:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        for thread in self._threads:
            if thread.name == HISTORY_THREAD:
                thread.join(10.0)
        # a channel thread still waiting on a hung receiver never reported: count the outbox
        self.report.pending = delivery_counts(self._state_dir)["pending"]
        log.info("delivery.stopped", **self.report.to_json())
        return self.report

    def drain(self, max_seconds: float) -> DeliveryReport:
        """Send until nothing is pending (retries and rate limits waited for) or
        ``max_seconds`` passed; returns what was done."""
        self._until_empty = True
        self.start()
        self.stop(max_seconds)
        return self.report

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            # a worker thread must never die silently: log, and let the others go on
            except Exception as exc:
                log.error("delivery.thread_failed", thread=threading.current_thread().name,
                          error=type(exc).__name__)
        return run

    def _ending(self) -> bool:
        return self._stop.is_set() or (
            self._finish_by is not None and time.monotonic() >= self._finish_by)

    def _channel_loop(self, name: str) -> None:
        store = Store(self._state_dir)
        outbox = Outbox(store)
        built: dict[str, Channel] = {}

        def channel_for(channel: str) -> Channel:
            if channel not in built:
                given = self._given.get(channel)
                built[channel] = given if given is not None else build_channel(
                    self._settings.channels[channel])
            return built[channel]

        deliverer = Deliverer(self._settings, store, outbox, channel_for, self._clock,
                              time.sleep, self._ending)
        try:
            while not self._ending():
                report = deliverer.deliver(channels={name})
                with self._lock:
                    self.report.add(report)
                    self.last_pass = time.time()
                stopping = self._finish_by is not None and not self._until_empty
                if stopping and not outbox.due(self._clock().timestamp(), {name}):
                    return  # stopping: nothing more is due now on this channel
                if self._until_empty and outbox.pending(name) == 0:
                    return
                wake = outbox.next_attempt_at(set(), {name})
                idle = not (report.sent or report.retried or report.failed)
                pause = self._poll if wake is None or idle else min(
                    self._poll, max(0.0, wake - self._clock().timestamp()))
                # (a pass that did nothing with messages due: rate-limited, it waits a poll)
                if pause > 0:
                    self._stop.wait(pause)
        finally:
            store.close()

    def _history_loop(self) -> None:
        """Copy new history events into the audit trail every poll, and once at the end."""
        assert self._audit is not None
        store = Store(self._state_dir)
        trail = HistoryTrail(self._state_dir, self._audit)
        try:
            while not self._stop.wait(self._poll):
                trail.record(store)
            trail.record(store)
        finally:
            trail.close()
            store.close()
