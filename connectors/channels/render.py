"""Messages a risk desk can act on, as plain text, Markdown, HTML or Slack ``mrkdwn``.

One warning block says who, what changed, how likely and when, where the customer ranks,
why (top reasons with values), how much is at stake and what to do, with a link back.
Every feed-controlled string (names, ids, reason labels and values, actions) goes through
the escaper of the format it lands in (`connectors.channels.escape`); links are built from
the configured template with their ids percent-encoded. Titles are plain text: where a
service has no title of its own, the channel escapes the title like the body it joins
(`AppriseChannel`).
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.channels.escape import (
    for_html,
    for_markdown,
    for_slack,
    for_text,
    url_part,
    without_mentions,
)
from detectors.features import OTHER
from detectors.records import Warning

TOP_REASONS = 3
_HEADINGS = {
    "notify": "Credit warning",
    "escalate": "ESCALATION",
    "resolved": "Resolved",
    "digest": "Watchlist",
}


def _for_message(escape: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: without_mentions(escape(text))


ESCAPERS: dict[str, Callable[[str], str]] = {
    fmt: _for_message(escape) for fmt, escape in
    (("text", for_text), ("markdown", for_markdown), ("html", for_html), ("slack", for_slack))
}
"""The escaper of feed text in a message of each body format (mentions made inert too)."""
APPRISE_FORMAT = {"text": "text", "markdown": "markdown", "html": "html", "slack": "text"}
"""The apprise body format a rendered body is declared as (Slack ``mrkdwn`` is sent as text
that is already escaped for Slack)."""


def link_for(template: str, warning: Warning) -> str:
    """The link back to a warning, its ids percent-encoded into the template."""
    return template.format(warning_id=url_part(warning.warning_id),
                           customer_id=url_part(warning.customer_id))


def _who(w: Warning) -> str:
    return f"{w.customer_name} ({w.customer_id})" if w.customer_name else w.customer_id


def _grade(w: Warning) -> str:
    return f"{w.previous_grade} → {w.grade}" if w.previous_grade else w.grade


def _money(w: Warning) -> str:
    """Exposure in the reporting currency, and in the customer's when that differs (alone
    when the reporting amount is missing for want of a rate)."""
    own = ""
    if w.customer_exposure is not None and w.customer_currency not in (None, w.currency):
        own = f"{w.customer_exposure:,.0f} {w.customer_currency}"
    if w.exposure is None:
        exposure = f"{own} (no {w.currency} rate for the day)"
    else:
        exposure = f"{w.exposure:,.0f} {w.currency or ''}".strip() + (f" ({own})" if own else "")
    if w.insured_share is None:
        return exposure
    return f"{exposure}, {w.insured_share:.0%} insured"


def _facts(w: Warning) -> list[tuple[str, str]]:
    reasons = "; ".join(
        f"{r.label} = {r.value}" for r in sorted(
            (r for r in w.reasons if r.code != OTHER), key=lambda r: -r.contribution)[
            :TOP_REASONS]
    )
    return [
        ("Grade", _grade(w)),
        ("Default probability", f"{w.pd:.1%} within {w.horizon_months} months"),
        *([("By horizon", ", ".join(f"{t.pd:.1%} within {t.months} months"
                                    for t in w.pd_term))] if w.pd_term else []),
        ("Rank", f"{w.rank} of {w.portfolio_size}"),
        ("Reasons", reasons or "none given"),
        ("Exposure", _money(w)),
        ("Action", w.action),
    ]


TITLE_NAME_CHARS = 120
"""A customer's name in a title is cut to this many characters (its id, at most 256, stays
whole): a subject line longer than 998 characters makes an e-mail undeliverable (RFC 5322),
and feeds decide names."""


def warning_title(w: Warning, purpose: str) -> str:
    """One line that fits a chat preview or an email subject (plain text, no controls, no
    RFC 2047 encoded-word that a mail client would decode into one); a channel that puts the
    title into the body escapes it again like the body."""
    name = w.customer_name or ""
    if len(name) > TITLE_NAME_CHARS:
        name = name[:TITLE_NAME_CHARS] + "…"
    who = f"{name} ({w.customer_id})" if name else w.customer_id
    title = f"[{w.severity}] {_HEADINGS.get(purpose, purpose)}: {who} grade {_grade(w)}"
    return ESCAPERS["text"](title).replace("=?", "= ?")


_URL_DELIMITERS = str.maketrans({c: f"%{ord(c):02X}" for c in " ()<>|\"'`[]"})


def _link(link: str, fmt: str) -> str:
    """The link in a format; characters that end a link target there are percent-encoded."""
    target = for_text(link).translate(_URL_DELIMITERS)
    if fmt == "html":
        return f"<a href=\"{for_html(target)}\">{for_html(link)}</a>"
    if fmt == "markdown":
        return f"[{for_markdown(link)}]({target})"
    if fmt == "slack":
        return f"<{target}|Details>"
    return for_text(link)


def _block(w: Warning, link: str, fmt: str, purpose: str) -> str:
    esc = ESCAPERS[fmt]
    head = esc(f"{_HEADINGS.get(purpose, purpose)}: {_who(w)} [{w.severity}]")
    facts = [(esc(key), esc(value)) for key, value in _facts(w)]
    details = _link(link, fmt)
    if fmt == "html":
        rows = "".join(f"<tr><th align=\"left\">{k}</th><td>{v}</td></tr>" for k, v in facts)
        rows += f"<tr><th align=\"left\">Details</th><td>{details}</td></tr>"
        return f"<h3>{head}</h3><table>{rows}</table>"
    if fmt == "markdown":
        return "\n".join([f"### {head}", *(f"- **{k}:** {v}" for k, v in facts),
                          f"- **Details:** {details}"])
    if fmt == "slack":
        return "\n".join([f"*{head}*", *(f"• *{k}:* {v}" for k, v in facts),
                          f"• *Details:* {details}"])
    return "\n".join([head, *(f"  {k}: {v}" for k, v in facts), f"  Details: {details}"])


def _plural(count: int, noun: str) -> str:
    """``1 customer``, ``3 customers``."""
    return f"{count} {noun}{'s' * (count != 1)}"


def _count_of(warnings: list[Warning]) -> str:
    """How many customers a group is about, and how many warnings when that differs (one
    customer may have several in a group): "3 customers", "1 customer (3 warnings)"."""
    customers = len({w.customer_id for w in warnings})
    counted = _plural(customers, "customer")
    if customers == len(warnings):
        return counted
    return f"{counted} ({_plural(len(warnings), 'warning')})"


def render_group(
    warnings: list[Warning], links: list[str], fmt: str, purpose: str, desk: str
) -> tuple[str, str]:
    """Title and body for one group (one or more warnings for one desk)."""
    if len(warnings) == 1:
        title = warning_title(warnings[0], purpose)
    else:
        title = for_text(f"{_HEADINGS.get(purpose, purpose)}: {_count_of(warnings)} for {desk}")
    separator = "<hr/>" if fmt == "html" else "\n\n"
    body = separator.join(_block(w, link, fmt, purpose) for w, link in zip(warnings, links,
                                                                            strict=True))
    return title, body


def render_digest(
    ranked: list[Warning], links: list[str], fmt: str, desk: str, due: str
) -> tuple[str, str]:
    """A ranked watchlist: highest default probability first, one line per customer."""
    esc = ESCAPERS[fmt]
    title = for_text(f"Watchlist for {desk} ({due}): {_plural(len(ranked), 'customer')}")
    cells = [
        [esc(str(i)), esc(_who(w)), esc(_grade(w)), esc(f"{w.pd:.1%}"), esc(_money(w)),
         esc(w.action), _link(link, fmt)]
        for i, (w, link) in enumerate(zip(ranked, links, strict=True), start=1)
    ]
    header = ("#", "Customer", "Grade", "PD", "Exposure", "Action", "Details")
    if fmt == "html":
        head = "".join(f"<th>{h}</th>" for h in header)
        rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                       for row in cells)
        return title, f"<h3>{for_html(title)}</h3><table><tr>{head}</tr>{rows}</table>"
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return title, f"### {for_markdown(title)}\n\n" + "\n".join(lines)
    if fmt == "slack":
        lines = [f"*{for_slack(title)}*"] + [" · ".join(row) for row in cells]
        return title, "\n".join(lines)
    return title, "\n".join([title] + ["  ".join(row) for row in cells])
