"""librdkafka configuration built from `KafkaSettings`, and its redacted form for logs.

Every value of ``KafkaSettings.config`` is a `SecretStr` (SASL passwords, TLS keys...). They
are revealed only into the dict handed to librdkafka; logs get `redact_config`, which masks
every value except a short list of settings known to hold no secret.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from typing import Any

import structlog
from pydantic import SecretStr

from config.errors import ConfigError
from config.redact import MASK, redact_text
from config.settings import KafkaSettings
from connectors.contracts import FEEDS

PUBLIC_KEYS = frozenset({
    "bootstrap.servers", "client.id", "group.id", "security.protocol", "sasl.mechanism",
    "sasl.mechanisms", "ssl.endpoint.identification.algorithm", "enable.auto.commit",
    "enable.partition.eof", "enable.auto.offset.store", "auto.offset.reset", "acks",
    "enable.idempotence", "linger.ms", "fetch.wait.max.ms",
    "compression.type", "message.max.bytes", "fetch.max.bytes", "max.partition.fetch.bytes",
    "queued.max.messages.kbytes", "socket.timeout.ms", "reconnect.backoff.max.ms",
})
"""librdkafka settings printed as they are; every other value is masked in logs."""


class Throttle:
    """At most one word every `EVERY_S` seconds per kind of thing said (a librdkafka log
    facility, a kind of error), with how many were left out since: what a broker that is
    away for minutes says again and again."""

    EVERY_S = 10.0

    def __init__(self) -> None:
        self._last: dict[Hashable, float] = {}
        self._left_out: dict[Hashable, int] = {}

    def allow(self, kind: Hashable) -> int | None:
        """How many of ``kind`` were left out since the last one said, when this one may be
        said; None when it is left out."""
        now = time.monotonic()
        if now - self._last.get(kind, -self.EVERY_S) < self.EVERY_S:
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._left_out.pop(kind, 0)


class ClientLog:
    """Where librdkafka's own log lines go (a broker it cannot reach, a failed handshake):
    without it, librdkafka prints them raw to stderr, between the JSON lines, with the
    bootstrap URL's credentials in them, hundreds a minute while a broker is away. Given as
    a client's ``logger``, it hands them to structlog (JSON, credentials masked), each
    facility through a `Throttle`."""

    def __init__(self) -> None:
        self._throttle = Throttle()

    def log(self, level: int, text: str, *args: Any) -> None:
        """The call of a Python ``logging.Logger`` that confluent-kafka makes."""
        left_out = self._throttle.allow(str(args[0]) if args else "")
        if left_out is not None:
            structlog.get_logger("librdkafka").log(
                level, "kafka.client_log", message=text % args if args else text,
                left_out_since=left_out)


def broker_config(
    bootstrap: str | None, kafka: KafkaSettings, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The librdkafka settings for one client: our defaults (``extra``), then the settings'
    pass-through ``config`` (which may override them, e.g. ``security.protocol``), then the
    bootstrap servers (the ``--kafka`` argument wins over ``kafka.bootstrap``), and a
    `ClientLog` for librdkafka's log lines."""
    servers = bootstrap or kafka.bootstrap
    if not servers:
        raise ConfigError("no Kafka bootstrap servers: pass --kafka or set kafka.bootstrap")
    if "@" in servers:  # librdkafka would take user:password@host for a host name, and log it
        raise ConfigError("the Kafka bootstrap servers carry credentials (user:password@), "
                          "which librdkafka does not take there: give them as kafka.config's "
                          "sasl.username and sasl.password")
    config: dict[str, Any] = dict(extra or {})
    config.update({key: _reveal(value) for key, value in kafka.config.items()})
    config["bootstrap.servers"] = servers
    config["logger"] = ClientLog()
    return config


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` safe to log: values of keys outside `PUBLIC_KEYS` become ``***``, and
    credentials written into a public one (a bootstrap URL's user and password) are masked.

    >>> redact_config({"bootstrap.servers": "k:9092", "sasl.password": "hunter2"})
    {'bootstrap.servers': 'k:9092', 'sasl.password': '***'}
    >>> redact_config({"bootstrap.servers": "SASL_SSL://user:pw@kafka.example.com:9093"})
    {'bootstrap.servers': 'SASL_SSL://***@kafka.example.com:9093'}
    """
    return {key: (MASK if key not in PUBLIC_KEYS or callable(value) else
                  redact_text(value) if isinstance(value, str) else value)
            for key, value in sorted(config.items())}


def feed_topics(kafka: KafkaSettings, names: tuple[str, ...] = FEEDS) -> dict[str, str]:
    """Name -> topic for every feed (or other ``names``), from ``kafka.topics``."""
    missing = [feed for feed in names if feed not in kafka.topics]
    if missing:
        raise ConfigError(f"kafka.topics names no topic for {', '.join(missing)}")
    return {feed: kafka.topics[feed] for feed in names}


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
