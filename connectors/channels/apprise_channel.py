"""A ``Channel`` over apprise, so any service apprise knows (email, Slack, Teams, Telegram,
JSON webhooks, ...) is a channel without code of ours."""

from __future__ import annotations

import logging
import threading

import apprise

from config.errors import ConfigError, NotificationError
from config.redact import redact_url, scrub
from connectors.channels.base import BodyFormat


class _ScrubSecrets(logging.Filter):
    """Rewrites apprise's own log records (its debug lines quote paths with tokens) so no
    registered channel URL's secrets reach any handler."""

    def __init__(self) -> None:
        super().__init__()
        self._urls: set[str] = set()
        self._lock = threading.Lock()

    def register(self, url: str) -> None:
        with self._lock:
            self._urls.add(url)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for url in tuple(self._urls):
            text = scrub(text, url)
        record.msg, record.args = text, ()
        return True


_FILTER = _ScrubSecrets()
logging.getLogger("apprise").addFilter(_FILTER)  # apprise logs every plugin under "apprise"


class AppriseChannel:
    """Sends through one apprise URL; apprise's own retries are left off (the outbox retries)."""

    def __init__(self, url: str) -> None:
        self._url = url
        _FILTER.register(url)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ConfigError(f"apprise does not understand channel URL {redact_url(url)}")
        for service in self._apprise:
            # apprise sleeps up to 5.5 s between sends of one service; the outbox already
            # rate-limits per channel (rate_limit_per_minute) without blocking the other channels
            service.request_rate_per_sec = 0

    def __repr__(self) -> str:
        return f"AppriseChannel({redact_url(self._url)!r})"

    def send(self, title: str, body: str, body_format: BodyFormat) -> None:
        result = self._apprise.notify(body=body, title=title, body_format=body_format)
        if not result:
            detail = "; ".join(entry.message for entry in result.logs()) or "apprise refused"
            # apprise messages may quote hosts, users or tokens: scrub them before they travel
            raise NotificationError(f"delivery failed: {scrub(detail, self._url)}")
