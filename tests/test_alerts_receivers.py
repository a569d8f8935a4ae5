"""Delivery against misbehaving real receivers on loopback: a hung webhook and SMTP server do
not slow a run, a slow receiver gets each message once, a rate-limited one (429 with
Retry-After) is drained completely by the delivery worker, an unavailable one (503 without
Retry-After) is retried on the channel's backoff; structured webhooks are
CloudEvents valid under the published schema, signed so that the Standard Webhooks
library verifies them."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from receivers import HttpReceiver, HungReceiver, rate_limited, slow, unavailable
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from test_alerts_routing import warning

from config.alerts import AlertsSettings
from config.settings import Settings
from connectors.channels import Notifier
from connectors.channels.delivery import DeliveryReport
from connectors.channels.worker import POLL_SECONDS, DeliveryWorker, delivery_counts
from connectors.simulator import simulate
from flows.run import WARNINGS, run_folder
from flows.schemas import schemas

SCHEMAS = Path(__file__).parent / "schemas"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def webhook_settings(port: int, **channel: Any) -> AlertsSettings:
    return AlertsSettings.model_validate({
        "channels": {"hook": {"url": f"webhook://127.0.0.1:{port}/credit",
                              "signing_secret": SECRET, **channel}},
        "receivers": {"credit": ["hook"]},
        "route": {"receiver": "credit", "group_wait": "0s", "group_interval": "0s",
                  "group_by": ["customer_id"]},
    })


def queue(settings: AlertsSettings, state: Path, count: int) -> None:
    """Route and enqueue ``count`` warnings (what a run's sink does), sending nothing."""
    notifier = Notifier(settings, state)
    for n in range(count):
        notifier.submit(warning(n))
    notifier.close()


def drained(tmp_path: Path, count: int, seconds: float, answer: Any = None,
            **channel: Any) -> tuple[DeliveryReport, HttpReceiver]:
    """``count`` warnings queued for a webhook channel (``channel`` its settings) whose
    receiver gives ``answer``; what a worker's drain of ``seconds`` did, and the receiver."""
    receiver = HttpReceiver(answer)
    try:
        settings = webhook_settings(receiver.port, **channel)
        queue(settings, tmp_path, count)
        return DeliveryWorker(settings, tmp_path).drain(max_seconds=seconds), receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feeds = tmp_path_factory.mktemp("book")
    simulate(250, 14, 11, feeds)
    return feeds


def quiet_run(book: Path, folder: Path) -> float:
    """Seconds a run without channels takes."""
    started = time.monotonic()
    run_folder(Settings(state_dir=folder / "state"), book, folder / "out")
    return time.monotonic() - started


def test_a_hung_receiver_does_not_slow_a_run(book: Path, tmp_path: Path) -> None:
    before = quiet_run(book, tmp_path / "quiet")

    hook, mail = HungReceiver(), HungReceiver()
    try:
        alerts = {
            "channels": {"hook": f"json://127.0.0.1:{hook.port}/x",
                         "mail": f"mailto://desk:pw@127.0.0.1:{mail.port}?to=risk@example.com"
                                 "&from=radar@example.com&mode=insecure"},
            "receivers": {"credit": ["hook", "mail"]},
            "route": {"receiver": "credit", "group_wait": "0s", "group_by": ["customer_id"]},
            # the end of a run gives delivery this long, hung or not: a fixed cost that would
            # dominate a two-second test book; the flow itself must not wait at all
            "deliver_wait_seconds": 0.5,
        }
        settings = Settings(state_dir=tmp_path / "hung", alerts=alerts)
        started = time.monotonic()
        summary = run_folder(settings, book, tmp_path / "hung-out")
        hung = time.monotonic() - started
        assert hook.accepted >= 1 and mail.accepted >= 1, "the worker did try to send"
    finally:
        hook.stop()
        mail.stop()
    # a shared machine's load drifts: the run without channels is timed before and after
    quiet = max(before, quiet_run(book, tmp_path / "quiet-again"))
    assert (tmp_path / "hung-out" / WARNINGS).read_bytes() == \
        (tmp_path / "quiet" / "out" / WARNINGS).read_bytes()
    assert hung < 2 * quiet, f"{hung:.1f} s with hung receivers, {quiet:.1f} s without"
    assert summary.deliveries is not None and summary.deliveries["sent"] == 0
    assert summary.deliveries["pending"] > 0, "what could not be sent waits in the outbox"


def test_a_slow_receiver_gets_each_message_once(tmp_path: Path) -> None:
    report, receiver = drained(tmp_path, 2, 40, slow(6.0), backoff_seconds=0.1)
    ids = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
    assert ids == {"w0": 1, "w1": 1}
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert delivery_counts(tmp_path) == {"pending": 0, "sent": 2, "failed": 0}


def test_a_rate_limited_channel_drains_completely_through_the_worker(tmp_path: Path) -> None:
    report, receiver = drained(tmp_path, 14, 60, rate_limited(per_second=4), max_attempts=2)
    ids = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
    assert ids == {f"w{n}": 1 for n in range(14)}, "every message arrives, and once"
    assert report.rate_limited > 0 and report.failed == 0
    assert delivery_counts(tmp_path) == {"pending": 0, "sent": 14, "failed": 0}


def test_a_503_without_retry_after_is_retried_on_the_channels_backoff(tmp_path: Path) -> None:
    receiver = HttpReceiver(unavailable(times=2))
    try:
        settings = webhook_settings(receiver.port, backoff_seconds=0.1, backoff_max_seconds=0.2)
        queue(settings, tmp_path, 1)
        started = time.monotonic()
        report = DeliveryWorker(settings, tmp_path).drain(max_seconds=20)
        took = time.monotonic() - started
    finally:
        receiver.stop()
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["w0"]
    assert (report.sent, report.retried, report.rate_limited) == (1, 2, 0)
    assert took < 10, "not held back by a default Retry-After of 30 s"


def test_webhooks_are_signed_cloudevents_carrying_the_warning_record(tmp_path: Path) -> None:
    _, receiver = drained(tmp_path, 3, 20)
    envelope = jsonschema.Draft7Validator(json.loads((SCHEMAS / "cloudevents.json")
                                                     .read_text()))
    data = jsonschema.Draft202012Validator(schemas()["warning"])
    verifier = Webhook(SECRET)
    assert len(receiver.requests) == 3
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        assert headers["content-type"].startswith("application/cloudevents+json")
        event = verifier.verify(body, headers)  # raises unless the signature is valid
        envelope.validate(event)
        data.validate(event["data"])
        assert event["specversion"] == "1.0" and event["type"] == "com.creditradar.warning"
        assert event["id"] == headers["webhook-id"] == event["data"]["warning_id"]
        assert event["subject"] == event["data"]["customer_id"]
        with pytest.raises(WebhookVerificationError):
            verifier.verify(body.replace('"pd":0.1', '"pd":0.9'), headers)


def test_a_channel_at_its_rate_limit_waits_rather_than_spins(tmp_path: Path) -> None:
    """A due message the per-minute limit holds back had the channel's thread ask again at
    once, without end: a core spent, and the monitor beside it slowed."""
    report, receiver = drained(tmp_path, 4, 3, None, rate_limit_per_minute=2)
    assert report.sent == 2 and len(receiver.requests) == 2
    assert report.rate_limited <= 2 * (3 / POLL_SECONDS + 2), report.rate_limited  # 2 due


def test_a_retry_after_of_zero_is_waited_a_second(tmp_path: Path) -> None:
    """``Retry-After: 0`` (or a date past) had the receiver asked again at once: hundreds
    of requests a second, and the message never failed."""
    asked: list[float] = []

    def answer() -> tuple[int, dict[str, str]]:
        asked.append(time.monotonic())
        return 429, {"Retry-After": "0"}

    _, receiver = drained(tmp_path, 1, 3, answer)
    assert 1 <= len(asked) <= 4, len(asked)


def test_messages_of_a_channel_no_longer_configured_are_reported_failed(
        tmp_path: Path) -> None:
    """A channel renamed in the settings left its queued messages pending for ever, counted
    nowhere as failed."""
    receiver = HttpReceiver()
    try:
        queue(webhook_settings(receiver.port), tmp_path, 2)
        renamed = webhook_settings(receiver.port).model_dump()
        renamed["channels"] = {"desk-hook": renamed["channels"]["hook"]}
        renamed["receivers"] = {"credit": ["desk-hook"]}
        report = DeliveryWorker(AlertsSettings.model_validate(renamed), tmp_path).drain(
            max_seconds=5)
    finally:
        receiver.stop()
    assert report.failed == 2 and not receiver.requests
    assert delivery_counts(tmp_path) == {"pending": 0, "sent": 0, "failed": 2}
