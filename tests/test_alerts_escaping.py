"""Hostile feed text through every format to real receivers: e-mail (text, Markdown, HTML
through aiosmtpd on loopback), Slack-style mrkdwn (a JSON webhook on loopback) and the
terminal (the ``alerts history`` command). Nothing that arrives may be markup, a link, a
mention or a control sequence made from feed text."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest
from click.testing import CliRunner
from test_alerts_cli import StandIn
from test_alerts_routing import SECRET, warning

from config.alerts import AlertsSettings, ChannelSettings
from connectors.channels import Notifier
from connectors.channels.escape import for_markdown, for_terminal
from connectors.channels.loopback import JsonReceiver, SmtpReceiver
from flows.alerts_cli import alerts

HOSTILE = ("<script>alert(1)</script> <img src=x onerror=alert(2)> <svg onload=alert(3)> "
           "[click](javascript:alert(4)) <a href=\"javascript:alert(5)\">x</a> "
           "![t](http://track.example/pixel.gif) <img src=\"http://track.example/p.gif\"> "
           "\x1b[31mRED\x1b[0m \x1b]0;title\x07 line\u2028break <!channel> <@U123> "
           "<http://evil.example|bank> & *bold*")
ALLOWED_TAGS = {"html", "head", "body", "h1", "h2", "h3", "p", "ul", "ol", "li", "strong",
                "em", "table", "tr", "th", "td", "hr", "a", "br", "meta", "style", "title",
                "div", "span", "code"}
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def hostile_warning() -> Any:
    from detectors.records import Reason

    return warning(1, customer_id="C<b>1</b>\x1b[2J", customer_name=HOSTILE,
                   action=HOSTILE, country="DE",
                   reasons=[Reason(code="X", label=HOSTILE, value=HOSTILE, contribution=1.0)])


class Markup(HTMLParser):
    """Every tag and attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]


def assert_inert_html(html: str) -> None:
    parser = Markup()
    parser.feed(html)
    assert set(parser.tags) <= ALLOWED_TAGS, set(parser.tags) - ALLOWED_TAGS
    for name, value in parser.attrs:
        assert not name.startswith("on"), name
        if name in ("href", "src"):
            assert value.startswith("https://creditradar.local/"), value


def test_hostile_text_arrives_inert_in_every_format(
        tmp_path: Path, smtp: tuple[SmtpReceiver, int],
        webhook: tuple[JsonReceiver, int]) -> None:
    mailbox, smtp_port = smtp
    hook, hook_port = webhook
    mail = (f"mailto://desk:{SECRET}@127.0.0.1:{smtp_port}?to=risk@example.com"
            "&from=radar@example.com&mode=insecure")
    settings = AlertsSettings.model_validate({
        "channels": {"text": {"url": mail, "body_format": "text"},
                     "markdown": {"url": mail, "body_format": "markdown"},
                     "html": {"url": mail, "body_format": "html"},
                     "slack": {"url": f"json://127.0.0.1:{hook_port}/slack",
                               "body_format": "slack"}},
        "receivers": {"credit": ["text", "markdown", "html", "slack"]},
        "route": {"receiver": "credit", "group_wait": "0s"},
    })
    notifier = Notifier(settings, tmp_path)
    notifier.submit(hostile_warning())
    assert notifier.deliver(max_seconds=10).sent == 4
    notifier.close()

    mails = [message_from_bytes(m.content, policy=policy.default) for m in mailbox.messages]
    assert len(mails) == 3
    html_parts, text_parts = [], []
    for mail_message in mails:
        assert not CONTROLS.search(str(mail_message["Subject"]))
        for part in mail_message.walk():
            if part.get_content_type() == "text/html":
                html_parts.append(part.get_content())
            elif part.get_content_type() == "text/plain":
                text_parts.append(part.get_content())
    assert len(html_parts) >= 2, "the Markdown and HTML mails carry an HTML part"
    for html in html_parts:
        assert_inert_html(html)
        assert "onerror" not in html or "&lt;img" in html  # the words stay, as text
    for text in text_parts:
        assert not CONTROLS.search(text.replace("\n", "").replace("\r", "").replace("\t", ""))
        assert "\\x1b[31mRED" in text or "\\\\x1b" in text

    [slack] = hook.received
    body = slack["message"]
    assert "<!channel>" not in body and "<@U123>" not in body and "<script" not in body
    assert "<http://evil.example" not in body
    assert re.findall(r"<([^>]*)>", body) == [
        "https://creditradar.local/warnings/w1|Details"], "the only link is ours"
    assert not CONTROLS.search(body.replace("\n", ""))


def test_the_terminal_sees_escapes_not_control_sequences(tmp_path: Path) -> None:
    settings = AlertsSettings.model_validate({
        "channels": {"hook": {"url": "json://127.0.0.1:1/x", "max_attempts": 1}},
        "receivers": {"credit": ["hook"]},
        "route": {"receiver": "credit", "group_wait": "0s"},
    })
    notifier = Notifier(settings, tmp_path)
    hostile = hostile_warning()  # (its name first: a title keeps the name's first characters)
    notifier.submit(hostile.model_copy(update={"customer_name": "\x1b[31mRED " + HOSTILE}))
    notifier.deliver()
    notifier.close()
    result = CliRunner().invoke(alerts, ["history"],
                                obj={"settings": StandIn(settings, tmp_path)})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u2028" not in result.output
    assert "\\x1b[31mRED" in result.output


def test_escapers_leave_no_syntax() -> None:
    markdown = for_markdown(HOSTILE)
    assert not re.search(r"(?<!\\)[\[\]()!*_`<>]", markdown.replace("&lt;", "")
                         .replace("&gt;", "").replace("&amp;", ""))
    assert for_terminal("a\u202eb\u200bc") == "a\\u202eb\\u200bc"  # bidi override, zero width
    assert json.loads(json.dumps(for_terminal(HOSTILE))) == for_terminal(HOSTILE)


def test_a_title_that_joins_the_body_is_escaped_like_the_body(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    """Mattermost (like Telegram or Google Chat) has no title of its own: apprise writes the
    title into the Markdown body, where a customer's name must form no link, image,
    emphasis or markup. A JSON channel keeps the title apart, as readable plain text."""
    hook, port = webhook
    name = ("<script>alert(1)</script> [click](http://evil.example/x) **B** <!channel> "
            "![img](http://evil.example/p.png) & _u_")
    settings = AlertsSettings.model_validate({
        "channels": {"mattermost": f"mmost://127.0.0.1:{port}/abcdefghijklmnopqrstuvwxyz",
                     "json": f"json://127.0.0.1:{port}/json"},  # Markdown bodies (the default)
        "receivers": {"credit": ["mattermost", "json"]},
        "route": {"receiver": "credit", "group_wait": "0s"},
    })
    notifier = Notifier(settings, tmp_path)
    notifier.submit(warning(1, customer_name=name))
    assert notifier.deliver(max_seconds=10).sent == 2
    notifier.close()

    title = f"[warning] Credit warning: {name} (C1) grade B → C"
    [mattermost] = [post for post in hook.received if post["path"].startswith("/hooks/")]
    [json_post] = [post for post in hook.received if post["path"] == "/json"]
    assert json_post["title"] == title
    first_line = mattermost["text"].split("\n")[0]
    assert markdown.markdown(first_line) == f"<p>{html_escape(title, quote=False)}</p>", \
        "the title shows as the very characters it holds, nothing in it is markup"
    assert_inert_html(markdown.markdown(mattermost["text"]))


def test_a_chat_that_renders_markdown_gets_escaped_markdown_whatever_format_is_set(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    """Mattermost renders Markdown in every message: a ``text`` or ``html`` body reached it
    with a customer name's link live."""
    hook, port = webhook
    name = "[click](http://evil.example/x) **B** ![img](http://evil.example/p.png) <b>x</b>"
    url = f"mmost://127.0.0.1:{port}/abcdefghijklmnopqrstuvwxyz"
    settings = AlertsSettings.model_validate({
        "channels": {"text": {"url": url, "body_format": "text"},
                     "html": {"url": url, "body_format": "html"}},
        "receivers": {"credit": ["text", "html"]},
        "route": {"receiver": "credit", "group_wait": "0s"},
    })
    assert [c.message_format for c in settings.channels.values()] == ["markdown"] * 2
    notifier = Notifier(settings, tmp_path)
    notifier.submit(warning(1, customer_name=name))
    assert notifier.deliver(max_seconds=10).sent == 2
    notifier.close()

    assert len(hook.received) == 2
    for post in hook.received:
        shown = markdown.markdown(post["text"])
        assert_inert_html(shown)
        assert html_escape(name, quote=False) in shown, "the name shows as its characters"


@pytest.mark.parametrize("url", ["discord://4174296324/abcdefghijklmnopqrstuvwxyz0123",
                                 "https://discord.com/api/webhooks/4174296324/abcdefghijklm"])
def test_discord_gets_escaped_markdown_and_an_escaped_title(url: str) -> None:
    """Discord shows the title in its message, rendered as Markdown like the body (its
    servers are not on loopback: the channel's own rendering decision is what is checked),
    and its own webhook URLs are Discord's too."""
    from connectors.channels.apprise_channel import AppriseChannel

    channel = ChannelSettings(url=url, body_format="text")
    assert channel.message_format == "markdown"
    name = "[click](http://evil.example/x) **B**"
    title = AppriseChannel(url)._title_for(name, channel.message_format)
    assert_inert_html(markdown.markdown(title))
    assert html_escape(name, quote=False) in markdown.markdown(title)


def test_a_name_that_mentions_a_channel_notifies_nobody(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    """Mattermost notifies a whole channel of ``@channel``, ``@here`` or ``@all`` in a
    message, and a person of ``@name``, whatever the format."""
    hook, port = webhook
    name = "@channel @here ACME @all (billing: ar@acme.example)"
    settings = AlertsSettings.model_validate({
        "channels": {"mattermost": f"mmost://127.0.0.1:{port}/abcdefghijklmnopqrstuvwxyz",
                     "text": {"url": f"json://127.0.0.1:{port}/text", "body_format": "text"}},
        "receivers": {"credit": ["mattermost", "text"]},
        "route": {"receiver": "credit", "group_wait": "0s"},
    })
    notifier = Notifier(settings, tmp_path)
    notifier.submit(warning(1, customer_name=name, customer_id="@ops"))
    assert notifier.deliver(max_seconds=10).sent == 2
    notifier.close()

    [mattermost] = [post for post in hook.received if post["path"].startswith("/hooks/")]
    [text] = [post for post in hook.received if post["path"] == "/text"]
    for said in (mattermost["text"], text["title"], text["message"]):
        assert not re.search(r"(?<!\w)@\w", said), said
        assert "\uff20channel \uff20here ACME \uff20all" in said and "ar@acme" in said
        assert "\uff20ops" in said


def test_a_long_or_encoded_name_keeps_a_title_a_mail_server_takes() -> None:
    """A name of 1,000 characters made a subject over RFC 5322's 998, which the SMTP server
    refused, every attempt; an RFC 2047 encoded-word in a name was decoded by mail clients
    into a bidi override and a line break."""
    from connectors.channels.render import warning_title

    long_title = warning_title(warning(1, customer_name="x" * 5000), "notify")
    assert len(long_title) < 300 and "…" in long_title and "(C1)" in long_title
    encoded = "=?utf-8?q?ACME_=E2=80=AEHGmbG_=0D=0ABcc:_x@evil.example?="
    assert "=?" not in warning_title(warning(1, customer_name=encoded), "notify")
