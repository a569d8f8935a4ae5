"""Delivery against real servers on loopback: aiosmtpd for email, ``http.server`` for apprise
JSON webhooks. Shows exactly-once delivery through outages and restarts, rate limits, kept
failures, and that no password or token is ever printed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, cluster_main, run_main
from structlog.testing import capture_logs
from test_alerts_routing import SECRET, T0, TOKEN, warning

from config.alerts import AlertsSettings
from connectors.channels import Notifier
from connectors.channels.loopback import JsonReceiver, SmtpReceiver, free_port
from connectors.channels.sink import NotifierSink
from connectors.channels.worker import delivery_counts

FAST = {"max_attempts": 30, "backoff_seconds": 0.05, "backoff_max_seconds": 0.2}






def config(channels: dict[str, Any], receivers: dict[str, list[str]] | None = None,
           **route: Any) -> AlertsSettings:
    return AlertsSettings.model_validate({
        "channels": channels,
        "receivers": receivers or {"credit": list(channels)},
        "route": {"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                  "group_by": ["customer_id"], **route},
    })


def titles(receiver: JsonReceiver) -> list[str]:
    return sorted(item["title"] for item in receiver.received)


def test_email_and_webhook_receive_routed_grouped_messages(
        tmp_path: Path, smtp: tuple[SmtpReceiver, int], webhook: tuple[JsonReceiver, int]) -> None:
    mailbox, smtp_port = smtp
    receiver, http_port = webhook
    settings = AlertsSettings.model_validate({
        "channels": {
            "mail": {"url": f"mailto://desk:{SECRET}@127.0.0.1:{smtp_port}?to=risk@example.com"
                            f"&from=radar@example.com&mode=insecure", "body_format": "html"},
            "hook": f"json://127.0.0.1:{http_port}/credit?token={TOKEN}",
        },
        "receivers": {"credit": ["mail"], "ops": ["hook"]},
        "route": {"receiver": "credit", "group_wait": "1m", "group_by": ["grade"], "routes": [
            {"match": {"min_severity": "critical"}, "receiver": "ops", "continue": True},
            {"match": {"country": ["DE"]}},
        ]},
    })
    notifier = Notifier(settings, tmp_path)
    notifier.submit(warning(1, severity="critical", grade="E"))
    notifier.submit(warning(2, grade="E"))
    notifier.submit(warning(3, grade="C"))
    notifier.advance(T0 + timedelta(minutes=1))
    report = notifier.deliver(max_seconds=5)
    assert (report.sent, report.failed, report.pending) == (3, 0, 0)
    assert titles(receiver) == ["[critical] Credit warning: Customer 1 (C1) grade B → E"]
    assert receiver.received[0]["path"].startswith("/credit")
    mails = [message_from_bytes(m.content, policy=policy.default) for m in mailbox.messages]
    subjects = sorted(mail["Subject"] for mail in mails)
    assert subjects == ["Credit warning: 2 customers for credit",
                        "[warning] Credit warning: Customer 3 (C3) grade B → C"]
    assert all(m.rcpt_tos == ["risk@example.com"] for m in mailbox.messages)
    notifier.close()


def test_a_channel_that_refuses_then_recovers_gets_every_message_once(
        tmp_path: Path) -> None:
    port = free_port()
    notifier = Notifier(config({"hook": {"url": f"json://127.0.0.1:{port}/x", **FAST}}),
                        tmp_path)
    for n in range(3):
        notifier.submit(warning(n))
    first = notifier.deliver()
    assert (first.sent, first.retried) == (0, 3)
    holder: list[JsonReceiver] = []
    timer = threading.Timer(0.4, lambda: holder.append(JsonReceiver(port)))
    timer.start()
    report = notifier.deliver(max_seconds=10)
    timer.join()
    try:
        assert (report.sent, report.failed, report.pending) == (3, 0, 0)
        assert titles(holder[0]) == [f"[warning] Credit warning: Customer {n} (C{n}) grade B → C"
                                     for n in range(3)]
        assert notifier.deliver(max_seconds=0.3).sent == 0
        assert len(holder[0].received) == 3
        kinds = [e["kind"] for e in notifier.history("w0")]
        assert kinds.count("sent") == 1 and kinds.count("retry") >= 1
    finally:
        holder[0].stop()
        notifier.close()


def test_restart_with_a_full_outbox_loses_none_and_repeats_none(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    settings = config({"hook": {"url": f"json://127.0.0.1:{port}/x",
                                "rate_limit_per_minute": 2, **FAST}})
    stream = [warning(n, event_time=T0 + timedelta(minutes=n)) for n in range(5)]
    first = Notifier(settings, tmp_path)
    for item in stream:
        first.submit(item)
    report = first.deliver()
    assert (report.sent, report.rate_limited, report.pending) == (2, 3, 3)
    first.close()  # the process "dies" with three messages in the outbox

    # a resumed bytewax epoch resubmits everything; a minute later the rate limit has room
    later = datetime.now(UTC) + timedelta(seconds=61)
    second = Notifier(settings, tmp_path, clock=lambda: later)
    assert all(second.submit(item) == ["duplicate: already submitted"] for item in stream)
    report = second.deliver()
    assert (report.sent, report.rate_limited, report.pending) == (2, 1, 1)
    much_later = later + timedelta(seconds=61)
    third = Notifier(settings, tmp_path, clock=lambda: much_later)
    assert third.deliver().sent == 1
    assert titles(receiver) == sorted(
        f"[warning] Credit warning: Customer {n} (C{n}) grade B → C" for n in range(5))
    second.close()
    third.close()


def test_failed_delivery_is_kept_with_its_error_after_the_last_attempt(tmp_path: Path) -> None:
    port = free_port()
    url = f"json://admin:{SECRET}@127.0.0.1:{port}/{TOKEN}?apikey={TOKEN}"
    settings = config({"dead": {"url": url, "max_attempts": 3, "backoff_seconds": 0.02}})
    notifier = Notifier(settings, tmp_path)
    with capture_logs() as logs:
        notifier.submit(warning(1))
        report = notifier.deliver(max_seconds=3)
    assert (report.sent, report.retried, report.failed) == (0, 2, 1)
    [row] = notifier.deliveries("failed")
    assert row["attempts"] == 3 and "Connection error" in row["last_error"]
    assert [e["kind"] for e in notifier.history("w1")][:3] == ["failed", "retry", "retry"]
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == [
        "alert.failed"]
    printed = repr(logs) + repr(notifier.history()) + repr(notifier.deliveries())
    assert SECRET not in printed and TOKEN not in printed
    notifier.close()


def test_no_secret_reaches_logs_history_or_errors(
        tmp_path: Path, smtp: tuple[SmtpReceiver, int], caplog: pytest.LogCaptureFixture) -> None:
    mailbox, port = smtp
    good = f"mailto://desk:{SECRET}@127.0.0.1:{port}?to=risk@example.com&from=r@example.com" \
           "&mode=insecure"
    # aiosmtpd stalls after a failed login: a 1 s socket timeout keeps the test short
    wrong_password = good.replace(SECRET, SECRET[::-1]) + "&cto=1"
    settings = config({"good": good,
                       "bad": {"url": wrong_password, "max_attempts": 1},
                       "hook": {"url": f"json://127.0.0.1:{free_port()}/{TOKEN}",
                                "max_attempts": 1}})
    notifier = Notifier(settings, tmp_path)
    caplog.set_level("DEBUG")
    with capture_logs() as logs:
        notifier.submit(warning(1))
        report = notifier.deliver()
    assert (report.sent, report.failed) == (1, 2)
    assert len(mailbox.messages) == 1
    printed = "\n".join([repr(logs), caplog.text, repr(notifier.history()),
                         repr(notifier.deliveries()), repr(settings)])
    for secret in (SECRET, SECRET[::-1], TOKEN):
        assert secret not in printed
    notifier.close()


def test_delivery_pass_sleeps_no_longer_than_asked(tmp_path: Path) -> None:
    port = free_port()
    settings = config({"hook": {"url": f"json://127.0.0.1:{port}/x", "max_attempts": 50,
                                "backoff_seconds": 0.05}})
    notifier = Notifier(settings, tmp_path)
    notifier.submit(warning(1))
    started = time.monotonic()
    report = notifier.deliver(max_seconds=0.5)
    assert time.monotonic() - started < 1.5
    assert report.pending == 1 and report.failed == 0
    notifier.close()


def test_bytewax_sink_submits_delivers_and_ignores_a_replayed_epoch(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    digest = {"every": "daily", "at": "08:00", "timezone": "UTC"}
    settings = config({"hook": f"json://127.0.0.1:{port}/x"}, routes=[
        {"match": {"severity": ["watch"]}, "mode": "digest", "digest": digest}])
    items: list[Any] = [warning(1), warning(2, severity="watch"),
                        T0 + timedelta(days=1)]  # an event-time tick past the digest time

    def build() -> Dataflow:
        flow = Dataflow("alerts_sink")
        op.output("notify", op.input("warnings", flow, TestingSource(items)),
                  NotifierSink(settings, tmp_path))
        return flow

    run_main(build())
    run_main(build())  # a resumed run repeats its input
    assert titles(receiver) == ["Watchlist for credit (2026-03-03T08:00:00.000000Z): 1 customer",
                                "[warning] Credit warning: Customer 1 (C1) grade B → C"]


def test_a_grouped_title_counts_customers_not_warnings(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    settings = config({"hook": f"json://127.0.0.1:{port}/x"}, group_by=[], group_wait="1h")
    notifier = Notifier(settings, tmp_path)
    for n in range(3):  # three warnings of one customer, one of another
        notifier.submit(warning(n, customer_id="C1", event_time=T0 + timedelta(minutes=n)))
    notifier.submit(warning(3, customer_id="C2"))
    notifier.advance(T0 + timedelta(hours=1))
    assert notifier.deliver(max_seconds=5).sent == 1
    notifier.close()
    assert titles(receiver) == ["Credit warning: 2 customers (4 warnings) for credit"]


def test_groups_still_waiting_when_the_input_ends_are_sent_the_same_on_any_workers(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    """A bounded input ends before a long group wait: nothing more can join the group, so
    it is queued at the last event time, never left unsent; one worker, two workers and a
    replay of the same input queue the very same message."""
    receiver, port = webhook
    items: list[Any] = [warning(n, event_time=T0 + timedelta(hours=n)) for n in range(3)]
    items.append(T0 + timedelta(days=1))  # the last event-time tick

    def run(state: Path, workers: int) -> list[dict[str, Any]]:
        settings = config({"hook": f"json://127.0.0.1:{port}/{state.name}"}, group_by=[],
                          group_wait="100d", group_interval="100d")
        flow = Dataflow("alerts_end")
        op.output("notify", op.input("warnings", flow, TestingSource(items)),
                  NotifierSink(settings, state))
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
        notifier = Notifier(settings, state)
        report = notifier.deliver(max_seconds=5)  # what the run's own worker left
        queued = [e for e in notifier.history() if e["kind"] == "queued:notify"]
        notifier.close()
        assert delivery_counts(state) == {"pending": 0, "sent": 1, "failed": 0}, report
        assert {e["at"] for e in queued} == {"2026-03-03T09:00:00.000000Z"}  # the last tick
        return [{k: v for k, v in post.items() if k != "path"} for post in receiver.received
                if post["path"] == f"/{state.name}"]

    one = run(tmp_path / "one", workers=1)
    assert [post["title"] for post in one] == ["Credit warning: 3 customers for credit"]
    assert run(tmp_path / "two", workers=2) == one
    assert run(tmp_path / "one", workers=1) == one  # a replay queues nothing again
