"""A run over Kafka keeps the audit log and delivers alerts, like a run over a folder.

The audit log of a Kafka run must verify as intact (hash chain, signed anchors, closed
partitions) and hold every record read from the topics, with its topic, partition and offset,
and every warning; with an email channel configured, every warning must reach a real SMTP
server on loopback (tests/conftest.py ``smtp``).
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from conftest import SMTP_LOGIN
from kafka_support import kafka_settings, make_topics, portfolio, publish, run_kafka

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from connectors.audit import read_log, verify_log
from connectors.channels.loopback import SmtpReceiver
from connectors.contracts import FEEDS
from flows.run import AUDIT, WARNINGS, read_jsonl

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]
AUDIT_KEY = "audit-anchor-key"
WARNING_LINK = re.compile(r"/warnings/(w-[0-9a-f]+)")


def alerts_by_mail(port: int) -> AlertsSettings:
    """One email desk that gets every warning (resolutions too) at once, one per customer."""
    user, password = SMTP_LOGIN
    return AlertsSettings.model_validate({
        "channels": {"mail": {"url": f"mailto://{user}:{password}@127.0.0.1:{port}"
                                     "?to=risk@example.com&from=radar@example.com&mode=insecure",
                              "body_format": "text"}},
        "receivers": {"credit": ["mail"]},
        "route": {"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                  "group_by": ["customer_id"], "notify_resolved": True},
    })


def test_a_kafka_run_keeps_an_intact_audit_log_and_mails_its_warnings(
    kafka_bootstrap: str, tmp_path: Path, smtp: tuple[SmtpReceiver, int]
) -> None:
    mailbox, port = smtp
    feeds = portfolio(tmp_path / "feeds", customers=80, months=10)
    topics = make_topics(kafka_bootstrap, 2)
    published = publish(kafka_bootstrap, feeds, topics)
    settings = kafka_settings(topics, alerts=alerts_by_mail(port), state_dir=tmp_path / "state",
                              audit=AuditSettings(hmac_key=AUDIT_KEY, anchor_every=100))
    out = tmp_path / "kafka"

    summary = run_kafka(settings, kafka_bootstrap, out)

    report = verify_log(out / AUDIT, AUDIT_KEY.encode())
    assert report.ok and report.authenticated and report.anchors, report.verdict()
    records = list(read_log(out / AUDIT))
    origins = [r.body["origin"] for r in records if r.kind == "input"]
    assert summary.read == published and summary.balanced
    assert len(origins) == published, "every record read is in the audit log once"
    seen = {(o["topic"], o["partition"]) for o in origins}
    assert seen <= {(topics[f], p) for f in FEEDS for p in range(2)}
    assert {(topics[f], p) for f in ("customers", "payments", "news", "registry")
            for p in range(2)} <= seen, "the many customers' records reach every partition"
    assert len({(o["topic"], o["partition"], o["offset"]) for o in origins}) == published
    warnings = read_jsonl(out / WARNINGS)
    assert warnings, "the portfolio should produce some warnings"
    assert sorted(r.id for r in records if r.kind == "warning") == sorted(
        w["warning_id"] for w in warnings)

    mails = [message_from_bytes(m.content, policy=policy.default) for m in mailbox.messages]
    assert mails and all(m.rcpt_tos == ["risk@example.com"] for m in mailbox.messages)
    mailed = [found for mail in mails
              for found in WARNING_LINK.findall(mail.get_body().get_content())]
    assert sorted(mailed) == sorted(w["warning_id"] for w in warnings), \
        "every warning is mailed, once"
