"""Shared pytest fixtures: the real Kafka broker harness (see tests/kafka_broker.py), real
webhook and SMTP receivers on loopback, and a run to explain (tests/explain_support.py)."""

from collections.abc import Iterator

import pytest
import structlog
from explain_support import original  # noqa: F401
from kafka_broker import kafka_bootstrap, kafka_broker  # noqa: F401
from web_support import postgres, web_feeds, web_run  # noqa: F401

from connectors.channels.loopback import JsonReceiver, SmtpReceiver, free_port

SMTP_LOGIN = ("desk", "Pa55-s3cret-XYZ")
"""The login the loopback SMTP server accepts (tests search the logs for the password)."""


@pytest.fixture(autouse=True)
def _logging_of_its_own() -> Iterator[None]:
    """Every test starts from structlog's defaults: a command a test ran configures logging
    for the whole process (``--log-level error`` hides the info events that a later test
    captures with `structlog.testing.capture_logs`)."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def webhook() -> Iterator[tuple[JsonReceiver, int]]:
    receiver = JsonReceiver(free_port())
    yield receiver, receiver.port
    receiver.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpReceiver, int]]:
    receiver = SmtpReceiver(free_port(), *SMTP_LOGIN)
    yield receiver, receiver.port
    receiver.stop()
