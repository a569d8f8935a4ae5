"""Structured webhooks: CloudEvents posted over HTTP and signed per the Standard Webhooks
specification, so a receiver can verify where a message came from and deduplicate it.

Headers of every request: ``webhook-id`` (the CloudEvent id: the warning id or the action's
idempotency key, the same on every retry), ``webhook-timestamp`` (Unix seconds of this
attempt) and, with a signing secret, ``webhook-signature``: ``v1,`` then base64 of
HMAC-SHA256(secret, ``id.timestamp.body``). The secret is ``whsec_`` + base64 of its bytes.

A 2xx answer delivers; 429 (after ``Retry-After``, or 30 s without one) or 503 with
``Retry-After`` asks for a later attempt (`RetryLater`, which is not counted as a failure);
anything else, a 503 without ``Retry-After`` included, or no answer within the channel's
``timeout_seconds``, is a failed attempt, retried on the channel's backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from config.errors import ConfigError, NotificationError
from config.redact import redact_url, scrub
from connectors.channels.base import BodyFormat, RetryLater
from connectors.channels.cloudevents import CONTENT_TYPE

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
"""How far a ``webhook-timestamp`` may be from the receiver's clock (the specification's
recommendation, also what `verify` accepts)."""
DEFAULT_RETRY_AFTER = 30.0


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_...`` secret."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise ConfigError("a signing secret must be whsec_ followed by base64") from None
    if not key:
        raise ConfigError("a signing secret must not be empty")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value for one message."""
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.{body}".encode(),
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(secret: str | None, msg_id: str, body: str,
                   now: float | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (without a signature when no secret)."""
    timestamp = int(time.time() if now is None else now)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = signature(secret, msg_id, timestamp, body)
    return headers


def verify(secret: str, headers: dict[str, str], body: str, now: float | None = None) -> bool:
    """Whether ``headers`` carry a valid, fresh signature of ``body`` under ``secret``."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lower.get("webhook-id"), lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "").split()
    if not msg_id or not stamp.isdigit() or not given:
        return False
    moment = time.time() if now is None else now
    if abs(moment - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, msg_id, int(stamp), body)
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


MIN_RETRY_AFTER = 1.0
"""The least a receiver's ``Retry-After`` makes a channel wait (0, or a date in the past,
would have it asked again at once, without end)."""


def retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), at least
    `MIN_RETRY_AFTER`.

    >>> retry_after("0"), retry_after("120"), retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    (1.0, 120.0, 1.0)
    """
    if not value:
        return DEFAULT_RETRY_AFTER
    if value.strip().isdigit():
        return max(MIN_RETRY_AFTER, float(value.strip()))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(MIN_RETRY_AFTER, (moment - datetime.now(UTC)).total_seconds())


def check_host_and_port(url: str) -> None:
    """Refuse a URL that names no host, or a port that is no number from 1 to 65535: every
    send to it would fail (``alerts check-config`` passed them)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, 0
    if parts is None or not parts.hostname or " " in parts.netloc or port == 0:
        raise ConfigError(f"not a URL with a host and a port from 1 to 65535: "
                          f"{redact_url(url)}")


class WebhookChannel:
    """Posts CloudEvents to ``webhook://host[:port]/path`` (HTTP) or ``webhooks://...``
    (HTTPS)."""

    def __init__(self, url: str, signing_secret: str | None = None,
                 timeout_seconds: float = 30.0) -> None:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in ("webhook", "webhooks") or not rest:
            raise ConfigError(f"not a webhook URL: {redact_url(url)}")
        check_host_and_port(url)
        if signing_secret:
            secret_bytes(signing_secret)  # refuse a malformed secret at start, not per send
        self._url = url
        self._target = ("https://" if scheme.lower() == "webhooks" else "http://") + rest
        self._secret = signing_secret
        self._timeout = timeout_seconds
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"WebhookChannel({redact_url(self._url)!r})"

    def send(self, title: str, body: str, body_format: BodyFormat) -> None:
        """Post ``body`` (a CloudEvent) once; ``title`` is not sent (the event says it all)."""
        if body_format != "cloudevents":
            raise NotificationError(f"a webhook channel sends CloudEvents, not {body_format}")
        msg_id = json.loads(body)["id"]
        headers = {"content-type": CONTENT_TYPE, "user-agent": "creditradar",
                   **signed_headers(self._secret, msg_id, body)}
        try:
            response = self._session.post(self._target, data=body.encode("utf-8"),
                                          headers=headers, timeout=self._timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            raise NotificationError(scrub(f"delivery failed: {type(exc).__name__}",
                                          self._url)) from None
        status = response.status_code
        response.close()
        if 200 <= status < 300:
            return
        asked = response.headers.get("retry-after")
        if status == 429 or (status == 503 and asked):
            wait = retry_after(asked)
            raise RetryLater(wait, f"receiver answered {status}; retry after {wait:.0f} s")
        raise NotificationError(f"delivery failed: receiver answered HTTP {status}")
