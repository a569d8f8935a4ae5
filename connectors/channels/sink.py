"""A bytewax sink that hands warnings to a ``Notifier``, which only enqueues.

Items are ``Warning``s (submitted) or ``datetime``s (event-time clock ticks, which let
digests and escalations fire when no warning arrives). Each batch is routed and queued in
the durable outbox, committed, and nothing more: no network. Sending is the
`DeliveryWorker`'s job, which the first partition starts beside the flow (unless
``alerts.deliver_during_run`` is off, when a separate ``creditradar alerts deliver`` sends).
Resumed epochs repeat items; the outbox is idempotent on warning and channel, so a repeat
queues nothing twice. When the flow ends, the groups still waiting are queued
(`Notifier.input_ended`): no later item could join them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from connectors.channels.notifier import Notifier
from connectors.channels.worker import DeliveryWorker
from detectors.records import Warning


class _NotifierPartition(StatelessSinkPartition[Warning | datetime]):
    def __init__(self, notifier: Notifier, worker: DeliveryWorker | None,
                 wait_seconds: float) -> None:
        self._notifier = notifier
        self._worker = worker
        self._wait = wait_seconds
        self._handed_items = False

    def write_batch(self, items: list[Warning | datetime]) -> None:
        self._handed_items = True
        with self._notifier.batch():
            for item in items:
                if isinstance(item, datetime):
                    self._notifier.advance(item)
                else:
                    self._notifier.submit(item)
        self._notifier.record_history()

    def close(self) -> None:
        """The flow ended: queue the groups still waiting (only the partition that was handed
        the alert stream does, after its last item, so the result does not depend on how many
        workers ran), then give the delivery worker its wait."""
        try:
            if self._handed_items:
                self._notifier.input_ended()
        finally:
            self._notifier.close()
            if self._worker is not None:
                self._worker.stop(self._wait)


class NotifierSink(DynamicSink[Warning | datetime]):
    """Every worker opens the same outbox in ``state_dir``; worker 0 also runs the delivery
    worker (one per run: its claims would keep several apart, one is enough).

    Grouping and digests are decided per arriving item, so route the warnings stream to a
    single worker (as the portfolio-keyed ranking step already is) for replay-exact results.
    """

    def __init__(self, settings: AlertsSettings, state_dir: Path,
                 audit: AuditSettings | None = None) -> None:
        self._settings = settings
        self._state_dir = state_dir
        self._audit = audit

    def build(self, step_id: str, worker_index: int,
              worker_count: int) -> _NotifierPartition:
        notifier = Notifier(self._settings, self._state_dir, audit=self._audit)
        worker = None
        if worker_index == 0 and self._settings.deliver_during_run:
            worker = DeliveryWorker(self._settings, self._state_dir, self._audit).start()
        return _NotifierPartition(notifier, worker, self._settings.deliver_wait_seconds)
