"""Notification decisions reach the tamper-evident audit log, and the chain stays intact
when the monitor and the alerts commands both write to it."""

from __future__ import annotations

from pathlib import Path

from test_alerts_routing import warning

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from connectors.audit import read_log, verify_log
from connectors.channels import Notifier
from connectors.channels.loopback import JsonReceiver

AUDIT = AuditSettings(hmac_key="audit-key", anchor_every=3)


def settings(port: int) -> AlertsSettings:
    return AlertsSettings.model_validate({
        "channels": {"hook": {"url": f"json://127.0.0.1:{port}/x", "backoff_seconds": 0.05}},
        "receivers": {"desk": ["hook"]},
        "route": {"receiver": "desk", "group_wait": "0s", "group_interval": "0s"},
    })


def test_sent_and_acknowledged_are_recorded_in_a_verifiable_chain(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    monitor = Notifier(settings(port), tmp_path, audit=AUDIT)
    first, second = warning(1, customer_id="A"), warning(2, customer_id="B")
    monitor.submit(first)
    monitor.deliver()
    monitor.record_history()
    desk = Notifier(settings(port), tmp_path, audit=AUDIT)  # e.g. `creditradar alerts ack`
    desk.ack(first.warning_id, by="maria", comment="called the customer")
    desk.close()
    monitor.submit(second)
    monitor.deliver()
    monitor.close()

    assert len(receiver.received) == 2
    log = tmp_path / "audit"
    report = verify_log(log, b"audit-key")
    assert report.ok, report.verdict()
    records = [r for r in read_log(log) if r.kind == "notification"]
    kinds = [(r.body["kind"], r.body["warning_id"]) for r in records]
    assert ("acknowledged", first.warning_id) in kinds
    assert sum(1 for k, _ in kinds if k == "sent") == 2
    assert len({r.id for r in records}) == len(records)  # every history event exactly once
