"""Redaction of secrets in URLs and free text, used wherever something may be printed.

Channel and broker URLs carry passwords and tokens in the user part, the host
(``slack://TokenA/...``), the path (webhook tokens) and the query. ``redact_url`` keeps only
what helps a human tell them apart; ``scrub`` removes one URL's secret parts from any text
(e.g. a library's error message); ``redact_text`` masks every URL found in a log line.
``error_line`` is the one redacted line that reports an error, in a command and in each
process of a cluster.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from config.errors import CreditRadarError

MASK = "***"
# query keys whose values identify a channel without granting access to it
_SAFE_QUERY_KEYS = frozenset(
    {"format", "overflow", "method", "mode", "verify", "smtp", "from", "to", "cc", "bcc",
     "name", "priority", "timeout", "rto", "cto", "emojis"}
)
_HOST = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[a-z0-9-]+(\.[a-z0-9-]+)+)(:\d+)?$"
)
# a path word ("hooks", "credit-desk"), a version ("v1") or a template placeholder
# ("{warning_id}"); a longer word, or one with digits or capitals, may be a token
_PLAIN_SEGMENT = re.compile(r"^([a-z]{1,12}([_-][a-z]{1,12}){0,2}|v\d{1,2}|\{[a-z_]{1,20}\})$")
# schemes may hold "_" here, unlike RFC 3986's: Kafka's listener names (SASL_SSL://) do
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+._-]*)://(?P<rest>.*)$", re.S)
# a "?" that starts a query: followed by a key and "=" before any "@", "/" or "#"
_QUERY_START = re.compile(r"\?[^=#@/?]*=")


def _userinfo_end(rest: str) -> int:
    """The index of the "@" that ends the user part of ``rest`` (a URL after "://"), or -1.

    A password may hold "#", "?", "/" or "@" unescaped, which parsers read differently
    (urllib ends the host part at the first of "/?#", apprise ends the user part at the
    first "@"). So the user part is taken generously: up to the last "@" before the path
    that follows the first "@", and before the query; an "@" in the query
    (``?to=desk@example.com``) or in a path after the host is not one.
    """
    query = _QUERY_START.search(rest)
    head = rest[: query.start()] if query else rest
    first = head.find("@")
    if first < 0:
        return -1
    slash = head.find("/", first)
    return head.rfind("@", 0, slash if slash >= 0 else len(head))


def _split(url: str) -> tuple[str, str, str, str, str, str] | None:
    """``url`` as (scheme, userinfo, host[:port], path, query, fragment), None if it has no
    scheme."""
    found = _URL.match(url)
    if not found:
        return None
    rest = found.group("rest")
    at = _userinfo_end(rest)
    userinfo, rest = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    hostport, slash, path = rest.partition("/")
    return found.group("scheme"), userinfo, hostport, slash + path, query, fragment


def _public_host(hostport: str) -> bool:
    """A lower-case host name or address (tokens in the host part have capitals or no dot)."""
    return hostport == hostport.lower() and bool(_HOST.match(hostport))


def _public_segment(segment: str) -> bool:
    """An empty segment, a short lower-case word, a version or a ``{placeholder}`` of a
    path, as opposed to something that may be a token (long, with digits or capitals)."""
    return not segment or bool(_PLAIN_SEGMENT.match(segment))


def _safe_key(key: str) -> bool:
    """A query key whose value names a channel's options without granting access."""
    return key.lower() in _SAFE_QUERY_KEYS


def redact_url(url: str) -> str:
    """Return ``url`` with credentials, token-like host/path parts and query secrets masked.

    >>> redact_url("mailto://desk:s3cret@mail.example.com:587?to=risk@example.com")
    'mailto://***@mail.example.com:587?to=risk@example.com'
    >>> redact_url("slack://T0KENA/B0KENB/C0KENC/#credit")
    'slack://***/***/***/#credit'
    >>> redact_url("json://127.0.0.1:8080/hooks/credit?token=abc")
    'json://127.0.0.1:8080/hooks/credit?token=***'
    """
    parts = _split(url)
    if parts is None:
        return MASK
    scheme, userinfo, hostport, path, query, fragment = parts
    host = hostport if _public_host(hostport) else MASK
    out = f"{scheme}://{MASK + '@' if userinfo else ''}{host}"
    if path:
        out += "/".join(s if _public_segment(s) else MASK for s in path.split("/"))
    if query:
        pairs = []
        for pair in query.split("&"):
            key, eq, _value = pair.partition("=")
            pairs.append(pair if _safe_key(key) or not eq else f"{key}={MASK}")
        out += "?" + "&".join(pairs)
    return out + (f"#{fragment}" if fragment else "")


def secrets_of(url: str) -> list[str]:
    """The substrings of ``url`` that ``redact_url`` masks, longest first (for ``scrub``)."""
    parts = _split(url)
    if parts is None:
        return [url] if url else []
    _scheme, userinfo, hostport, path, query, _fragment = parts
    found: set[str] = set()
    if userinfo:
        found.update(p for p in userinfo.split(":") if p)
    if not _public_host(hostport):
        found.update([hostport, *hostport.split(":")])
    found.update(s for s in path.split("/") if not _public_segment(s))
    for pair in query.split("&") if query else ():
        key, _eq, value = pair.partition("=")
        if value and not _safe_key(key):
            found.add(value)
    found |= {unquote(s) for s in found}
    # very short fragments (a port, "a") would shred ordinary words without protecting much
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """Replace every secret part of ``url`` that occurs in ``text`` with a mask."""
    text = text.replace(url, redact_url(url))
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text


_QUOTED_USERINFO = re.compile(r"(?<=://)[^\s/?#@]*[\"'<>][^\s@]*(?=@)")
"""A URL's user part holding a quote or an angle bracket, where a URL in free text would
otherwise be taken to end (and the rest of the password be shown after it)."""
_ANY_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+._-]*://[^\s'\"<>]+")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:[a-z_]*(?:pass|secret|token|key|auth|sig|pwd)[a-z_]*)=)[^&#\s]*"
)


def redact_text(text: str) -> str:
    """Every URL in ``text`` redacted, and secret-looking query parameters masked.

    >>> redact_text("POST json://u:pw@10.0.0.1/hook failed")
    'POST json://***@10.0.0.1/hook failed'
    """
    if "://" not in text and "=" not in text:
        return text
    text = _QUOTED_USERINFO.sub(MASK, text)
    text = _ANY_URL.sub(lambda m: redact_url(m.group(0)), text)
    return _SECRET_QUERY.sub(rf"\1{MASK}", text)


def os_error_line(exc: OSError) -> str:
    """An OSError as one line: what could not be used (the path, or the paths of a rename)
    and why, e.g. ``cannot use out/sub: Not a directory``."""
    line = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        where = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
        line = f"cannot use {where}: {line}"
    return redact_text(" ".join(line.splitlines()))


HIDDEN_LENGTH = 4
"""The shortest option value `error_line` hides: a shorter one is no secret, and hiding a
``2`` would garble every number of the line."""


def error_line(exc: BaseException, hidden: tuple[str, ...] = ()) -> str | None:
    """The one line reporting ``exc`` (see `reported_cause`), redacted: URLs' credentials
    masked, and every text of ``hidden`` (option values, which may be secrets a plugin puts
    in its message) replaced by ``***`` (`hide`); None when ``exc`` is no such error."""
    reported = reported_cause(exc)
    if reported is None:
        return None
    line = (os_error_line(reported) if isinstance(reported, OSError)
            else redact_text(" ".join(str(reported).splitlines())))
    for text in sorted(hidden, key=len, reverse=True):
        line = hide(line, text)
    return line


def hide(line: str, value: str) -> str:
    """``line`` with ``value`` replaced by ``***``: wherever it occurs, or, for a short word
    of letters (``read``, ``folder``: shorter than `WORD_LENGTH`, no password), only where
    it stands as a word of its own, so that ``reading`` keeps its letters. A value shorter
    than `HIDDEN_LENGTH` is left alone.

    >>> hide("token s3cr3t-x9 refused (reading s3cr3t-x9!)", "s3cr3t-x9")
    'token *** refused (reading ***!)'
    >>> hide("mode read failed while reading", "read")
    'mode *** failed while reading'
    >>> hide("token hunterpassword2 refused", "hunterpassword")
    'token ***2 refused'
    """
    if len(value) < HIDDEN_LENGTH:
        return line
    if value.isalpha() and len(value) < WORD_LENGTH:
        return re.sub(rf"(?<![^\W_]){re.escape(value)}(?![^\W_])", MASK, line)
    return line.replace(value, MASK)


WORD_LENGTH = 8
"""An option value of letters this long or longer may be a password: `hide` hides it
wherever it occurs, even inside a longer word."""


def reported_cause(exc: BaseException) -> CreditRadarError | OSError | None:
    """The first `CreditRadarError` or OSError among ``exc`` and its causes (``raise ...
    from``), which is reported as one line; None for anything else (a bug keeps its
    traceback)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CreditRadarError | OSError):
            return current
        seen.add(id(current))
        current = current.__cause__
    return None
