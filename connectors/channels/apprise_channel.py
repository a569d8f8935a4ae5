"""A ``Channel`` over apprise, so any service apprise knows (email, Slack, Teams, Telegram,
JSON webhooks, ...) is a channel without code of ours.

apprise sends in the caller's thread (the delivery worker's daemon thread of the channel),
never in its own shared thread pool: that pool's threads are not daemons, so a send waiting
on a hung receiver there would keep the process alive after the worker has stopped."""

from __future__ import annotations

import logging
import threading

import apprise

from config.alerts import renders_markdown
from config.errors import ConfigError, NotificationError
from config.redact import redact_url, scrub
from connectors.channels.base import BodyFormat
from connectors.channels.render import APPRISE_FORMAT, ESCAPERS
from connectors.channels.webhook import check_host_and_port


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


PLAIN_HTTP_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
"""apprise's schemes that post to any HTTP server: their host and port are checked here."""

_FILTER = _ScrubSecrets()
logging.getLogger("apprise").addFilter(_FILTER)  # apprise logs every plugin under "apprise"


def check_target(url: str) -> None:
    """Refuse a URL of apprise's plain HTTP schemes with no host or an impossible port
    (apprise takes ``json://host:99999/x``, and every send then fails)."""
    if url.partition("://")[0].lower() in PLAIN_HTTP_SCHEMES:
        check_host_and_port(url)


def accepts(url: str) -> bool:
    """Whether apprise itself accepts ``url`` (a known service with its required parts); its
    log lines about the URL are scrubbed like a channel's."""
    _FILTER.register(url)
    return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None


def _in_caller_thread() -> apprise.AppriseAsset:
    """apprise settings that make ``notify`` send in the calling thread: no parallel mode and
    no service deadline (either hands the send to apprise's shared pool of non-daemon
    threads). A send is still bounded by the channel's connect and read timeouts
    (`AppriseChannel.set_timeout`)."""
    return apprise.AppriseAsset(async_mode=False, service_timeout=0)


class AppriseChannel:
    """Sends through one apprise URL; apprise's own retries are left off (the outbox retries)."""

    def __init__(self, url: str) -> None:
        self._url = url
        _FILTER.register(url)
        self._apprise = apprise.Apprise(asset=_in_caller_thread())
        if not self._apprise.add(url):
            raise ConfigError(f"apprise does not understand channel URL {redact_url(url)}")
        check_target(url)
        for service in self._apprise:
            # apprise sleeps up to 5.5 s between sends of one service; the outbox already
            # rate-limits per channel (rate_limit_per_minute) without blocking the other channels
            service.request_rate_per_sec = 0
        self._title_in_body = renders_markdown(url) or any(
            service.title_maxlen <= 0 for service in self._apprise)
        """Whether the title is shown as part of the message: the service has no title of
        its own (Mattermost, Telegram, Google Chat), so apprise writes it into the body in
        the body's format, or renders Markdown in it too (Discord)."""

    def __repr__(self) -> str:
        return f"AppriseChannel({redact_url(self._url)!r})"

    def set_timeout(self, seconds: float) -> None:
        """How long a send waits to connect and for each answer (apprise's cto and rto)."""
        for service in self._apprise:
            service.socket_connect_timeout = seconds
            service.socket_read_timeout = seconds

    def send(self, title: str, body: str, body_format: BodyFormat) -> None:
        declared = APPRISE_FORMAT.get(body_format)
        if declared is None:
            raise NotificationError(f"apprise channels do not send {body_format} bodies")
        result = self._apprise.notify(body=body, title=self._title_for(title, body_format),
                                      body_format=declared)
        if not result:
            detail = "; ".join(entry.message for entry in result.logs()) or "apprise refused"
            # apprise messages may quote hosts, users or tokens: scrub them before they travel
            raise NotificationError(f"delivery failed: {scrub(detail, self._url)}")

    def _title_for(self, title: str, body_format: BodyFormat) -> str:
        """``title`` (plain text) as it must be where it lands: unchanged where the service
        shows it apart (an e-mail subject, a JSON field), escaped like the body where apprise
        puts it into the body, so feed text in it forms no markup, link or mention there."""
        return ESCAPERS[body_format](title) if self._title_in_body else title
