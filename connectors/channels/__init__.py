"""Notification channels and the notifier: the ``Channel`` protocol with its apprise and
recording implementations, plugin lookup, URL redaction, the router, message rendering, the
SQLite outbox, the ``Notifier`` facade and its bytewax sink."""

from config.redact import redact_url, scrub
from connectors.channels.base import Channel, RecordingChannel
from connectors.channels.notifier import DeliveryReport, Notifier
from connectors.channels.plugins import load_channel

__all__ = [
    "Channel",
    "DeliveryReport",
    "Notifier",
    "RecordingChannel",
    "load_channel",
    "redact_url",
    "scrub",
]
