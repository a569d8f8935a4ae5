"""A bytewax sink that hands warnings to a ``Notifier``.

Items are ``Warning``s (submitted) or ``datetime``s (event-time clock ticks, which let
digests and escalations fire when no warning arrives). Each batch ends with one delivery
pass. Resumed epochs repeat items; the outbox is idempotent on warning and channel, so a
repeat sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from connectors.channels.notifier import Notifier
from detectors.records import Warning


class _NotifierPartition(StatelessSinkPartition[Warning | datetime]):
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def write_batch(self, items: list[Warning | datetime]) -> None:
        for item in items:
            if isinstance(item, datetime):
                self._notifier.advance(item)
            else:
                self._notifier.submit(item)
        self._notifier.deliver()
        self._notifier.record_history()

    def close(self) -> None:
        self._notifier.close()


class NotifierSink(DynamicSink[Warning | datetime]):
    """Every worker opens the same outbox in ``state_dir``.

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
        return _NotifierPartition(Notifier(self._settings, self._state_dir, audit=self._audit))
