"""ERP actions: commands derived from warnings or posted by a desk reach a real endpoint on
loopback as signed CloudEvents, once per idempotency key; the ERP's confirmations (HTTP, signed
with the Standard Webhooks library, or the CLI) land in the audit trail."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from receivers import HttpReceiver
from standardwebhooks.webhooks import Webhook
from test_alerts_cli import StandIn
from test_alerts_receivers import SECRET
from test_alerts_routing import warning

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from config.errors import NotificationError
from connectors.audit import read_log, verify_log
from connectors.channels import Notifier
from connectors.channels.actions import ActionCommand, ActionDesk, command_for
from connectors.channels.worker import DeliveryWorker
from detectors.records import Warning
from flows.alerts_cli import alerts
from flows.ops import OpsServer, registry_for
from flows.schemas import schemas

AUDIT = AuditSettings(hmac_key="k", anchor_every=5)


def erp_settings(port: int) -> AlertsSettings:
    return AlertsSettings.model_validate({
        "channels": {"erp": {"url": f"webhook://127.0.0.1:{port}/actions",
                             "signing_secret": SECRET}},
        "actions": {"endpoints": ["erp"]},
    })


def test_each_warning_grade_maps_to_its_command() -> None:
    assert command_for(warning(1, grade="C")) is None
    held = command_for(warning(1, grade="E"))
    assert held is not None and held.kind == "hold_orders" and held.warning_id == "w1"
    cut = command_for(warning(2, grade="D", exposure=123_456.7))
    assert cut is not None and (cut.kind, cut.suggested_limit) == ("reduce_limit", 123_456.0)
    assert command_for(warning(3, grade="D", exposure=0.0)).kind == "require_prepayment"
    assert command_for(warning(4, kind="resolved")).kind == "release"
    assert held.idempotency_key == command_for(warning(1, grade="E")).idempotency_key
    with pytest.raises(ValueError, match="suggested_limit"):
        ActionCommand(kind="reduce_limit", customer_id="C", event_time="2026-03-02")


def test_commands_reach_the_erp_once_and_confirmations_are_audited(tmp_path: Path) -> None:
    erp = HttpReceiver()
    settings = erp_settings(erp.port)
    notifier = Notifier(settings, tmp_path, audit=AUDIT)
    notifier.submit(warning(1, grade="E"))
    notifier.submit(warning(2, grade="C"))  # a review: no ERP command
    notifier.close()
    desk = ActionDesk(settings, tmp_path, audit=AUDIT)
    approved = ActionCommand(kind="reduce_limit", customer_id="C2", warning_id="w2",
                             suggested_limit=50_000, currency="EUR",
                             event_time="2026-03-02T09:00:00Z", requested_by="anna",
                             approved_by="ben", reason="case 7")
    assert desk.post(approved) == ["erp"]
    assert desk.post(approved) == [], "the same idempotency key is queued once"
    try:
        DeliveryWorker(settings, tmp_path, audit=AUDIT).drain(max_seconds=20)
        ops = OpsServer("127.0.0.1", 0, registry_for(tmp_path), ready=lambda: True,
                        alerts=settings, state_dir=tmp_path, audit=AUDIT).start()
        events = [Webhook(SECRET).verify(r["body"], r["headers"]) for r in erp.requests]
        assert sorted(e["data"]["kind"] for e in events) == ["hold_orders", "reduce_limit"]
        validator = jsonschema.Draft202012Validator(schemas()["action"])
        for event in events:
            validator.validate(event["data"])
            assert event["id"] == event["data"]["idempotency_key"]
            assert event["type"] == "com.creditradar.action"

        hold = next(e for e in events if e["data"]["kind"] == "hold_orders")["id"]
        body = json.dumps({"idempotency_key": hold, "status": "applied", "by": "sap-prod",
                           "detail": "orders blocked", "endpoint": "erp"})
        assert post(ops.port, body, signed=True) == 200
        assert post(ops.port, body, signed=False) == 401
        unknown = body.replace(hold, "act-unknown")
        assert post(ops.port, unknown, signed=True) == 404
        ops.stop()
    finally:
        erp.stop()
    result = CliRunner().invoke(alerts, ["confirm-action", approved.idempotency_key,
                                         "--status", "rejected", "--by", "sap-prod",
                                         "--detail", "limit locked"],
                                obj={"settings": StandInWithAudit(settings, tmp_path)})
    assert result.exit_code == 0, result.output
    assert desk.status(hold)["status"] == "applied"
    assert desk.status(approved.idempotency_key)["status"] == "rejected"
    with pytest.raises(NotificationError):
        desk.status("act-unknown")
    desk.close()

    report = verify_log(tmp_path / "audit", b"k")
    assert report.ok, report.verdict()
    kinds = [r.body["kind"] for r in read_log(tmp_path / "audit") if r.kind == "notification"]
    assert kinds.count("action_queued") == 2
    assert "action_applied" in kinds and "action_rejected" in kinds


class StandInWithAudit(StandIn):
    audit = AUDIT


def post(port: int, body: str, signed: bool) -> int:
    headers = {"content-type": "application/json"}
    if signed:
        now = datetime.now(UTC)
        headers.update({"webhook-id": "confirm-1", "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": Webhook(SECRET).sign("confirm-1", now, body)})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/actions/confirmations",
                                     data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_default_starts_the_collection_of_its_invoices_at_the_erp(tmp_path: Path) -> None:
    """BRIT defaults on 2 August 2024 (B-4, due 4 May, 90 days past due); the book learns
    it with BRIT's next record, its insolvency filing of 20 August, when B-4 to B-7 (due on
    the 4th of May to August) are past due. The run's default warning names them; the ERP
    receives hold_orders and start_collection with those invoices."""
    from feedkit import write_feeds
    from test_money import _book

    from config.settings import Settings
    from flows.run import WARNINGS, read_jsonl, run_folder

    run_folder(Settings(), write_feeds(tmp_path / "feeds", _book()), tmp_path / "out")
    [default] = [w for w in read_jsonl(tmp_path / "out" / WARNINGS) if w["kind"] == "default"
                 and w["customer_id"] == "BRIT"]
    invoices = ["B-4", "B-5", "B-6", "B-7"]
    assert (default["event_time"][:10], default["invoices"]) == ("2024-08-02", invoices)
    erp = HttpReceiver()
    settings = erp_settings(erp.port)
    try:
        notifier = Notifier(settings, tmp_path / "state", audit=AUDIT)
        notifier.submit(Warning.model_validate(default))
        notifier.close()
        DeliveryWorker(settings, tmp_path / "state", audit=AUDIT).drain(max_seconds=20)
        events = [Webhook(SECRET).verify(r["body"], r["headers"]) for r in erp.requests]
    finally:
        erp.stop()
    commands = {e["data"]["kind"]: e["data"] for e in events}
    assert sorted(commands) == ["hold_orders", "start_collection"]
    assert commands["start_collection"]["invoices"] == invoices
    assert commands["start_collection"]["currency"] == "GBP"
    validator = jsonschema.Draft202012Validator(schemas()["action"])
    for command in commands.values():
        validator.validate(command)
    with pytest.raises(ValueError, match="start_collection"):
        ActionCommand(kind="start_collection", customer_id="C", event_time="2026-03-02")
    with pytest.raises(ValueError, match="start_collection"):
        ActionCommand(kind="hold_orders", customer_id="C", event_time="2026-03-02",
                      invoices=["I-1"])
