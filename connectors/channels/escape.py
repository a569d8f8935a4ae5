"""Escaping of feed-controlled text for each place it is shown: a terminal or plain text,
HTML, Markdown and Slack's ``mrkdwn``.

Customer names, ids, reason labels and values come from feeds and may hold markup
(``<script>``, ``<img onerror>``), link syntax (``[x](javascript:...)``), Slack mentions
(``<!channel>``) or terminal control sequences. Each function makes a string inert in its
format: it is shown as the characters it holds, never interpreted. Messages also go
`without_mentions` (``@channel`` in a name notifies a whole chat channel).
"""

from __future__ import annotations

import re
import unicodedata
from html import escape as _html_escape
from urllib.parse import quote

_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
"""Unicode categories that a terminal or a reader could mistake for layout or commands:
controls (ESC, BEL, CR, NEL...), format characters (bidi overrides, zero-width), line and
paragraph separators (U+2028, U+2029), private use, surrogates and unassigned."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~.-])")


def _visible(char: str) -> str:
    if unicodedata.category(char) not in _INVISIBLE:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def for_terminal(text: str) -> str:
    """``text`` with every control, format or separator character written as an escape
    (``\\x1b``, ``\\u2028``), so it prints on one line and cannot drive a terminal.

    >>> for_terminal("ACME\\x1b[31m red\\u2028next")
    'ACME\\\\x1b[31m red\\\\u2028next'
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(_visible(char) for char in text)


for_text = for_terminal
"""Plain-text messages (e-mail text parts, chat ``text`` bodies) follow the terminal rules."""


def for_json(text: str) -> str:
    """JSON text (``json.dumps``'s) with every character `for_terminal` escapes written as a
    JSON escape: the same JSON value, which prints on a terminal as what it holds.

    >>> for_json('{"name": "ACME\\u202e\\u0085"}')
    '{"name": "ACME\\\\u202e\\\\u0085"}'
    """
    if text.isascii() and "\x7f" not in text:  # json.dumps escapes the other ASCII controls
        return text
    return "".join(_json_escape(char) if unicodedata.category(char) in _INVISIBLE and
                   char not in "\n\r\t" else char for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def for_html(text: str) -> str:
    """Text for an HTML element or quoted attribute.

    >>> for_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return _html_escape(for_terminal(text), quote=True)


def for_markdown(text: str) -> str:
    """Text for Markdown that is later turned into HTML: HTML-escaped (Markdown passes raw
    HTML through) and every character that starts Markdown syntax backslash-escaped (no
    link, image or emphasis can be formed).

    >>> for_markdown("[x](javascript:alert(1)) <b>")
    '\\\\[x\\\\]\\\\(javascript:alert\\\\(1\\\\)\\\\) &lt;b&gt;'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _html_escape(for_terminal(text), quote=False))


def for_slack(text: str) -> str:
    """Text for Slack ``mrkdwn``: ``&``, ``<`` and ``>`` as entities, so no link or mention
    (``<!channel>``, ``<@U123>``) can be formed.

    >>> for_slack("<!channel> & <http://x|click>")
    '&lt;!channel&gt; &amp; &lt;http://x|click&gt;'
    """
    return _html_escape(for_terminal(text), quote=False)


_MENTION = re.compile(r"(?<!\w)@(?=\w)")


def without_mentions(text: str) -> str:
    """``text`` with each ``@`` that could start a mention (``@here``, ``@channel``,
    ``@everyone``, ``@someone``) written as the full-width ``＠``, so that a chat service
    reading a message (Mattermost, Discord, Telegram, Teams) notifies nobody because of a
    customer's name; an e-mail address is left as it is.

    >>> without_mentions("@here ACME (ar@acme.example)")
    '＠here ACME (ar@acme.example)'
    """
    return _MENTION.sub("\uff20", text)


def url_part(value: str) -> str:
    """A value percent-encoded for a URL path or query (ids placed into link templates)."""
    return quote(value, safe="")
