"""Redaction of secrets in URLs and free text, used wherever something may be printed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://[^\s'\"<>]+")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:[a-z_]*(?:pass|secret|token|key|auth|sig|pwd)[a-z_]*)=)[^&#\s]*"
)


def redact_url(url: str) -> str:
    """Keep scheme and host; hide user, password, path tokens and secret query values.

    >>> redact_url("mailtos://alice:hunter2@mail.example.com?to=desk@example.com")
    'mailtos://***@mail.example.com/***'
    >>> redact_url("https://hooks.slack.com/services/T000/B000/XXXX")
    'https://hooks.slack.com/***'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.split('://', 1)[0]}://{MASK}"
    netloc = (f"{MASK}@" if parts.username or parts.password else "") + host + port
    rest = MASK if parts.path.strip("/") or parts.query else ""
    return urlunsplit((parts.scheme, netloc, f"/{rest}" if rest else "", "", ""))


def redact_text(text: str) -> str:
    """Every URL in ``text`` redacted; secret-looking query parameters masked too."""
    if "://" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(rf"\1{MASK}", _URL.sub(lambda m: redact_url(m.group(0)), text))
