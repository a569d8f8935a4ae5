"""Messages a risk desk can act on, as plain text, Markdown or HTML (apprise body formats).

One warning block says who, what changed, how likely and when, where the customer ranks,
why (top reasons with values), how much is at stake and what to do, with a link back.
"""

from __future__ import annotations

from html import escape

from connectors.channels.base import BodyFormat
from detectors.records import Warning

TOP_REASONS = 3
_HEADINGS = {
    "notify": "Credit warning",
    "escalate": "ESCALATION",
    "resolved": "Resolved",
    "digest": "Watchlist",
}


def _who(w: Warning) -> str:
    return f"{w.customer_name} ({w.customer_id})" if w.customer_name else w.customer_id


def _grade(w: Warning) -> str:
    return f"{w.previous_grade} → {w.grade}" if w.previous_grade else w.grade


def _money(w: Warning) -> str:
    exposure = f"{w.exposure:,.0f} {w.currency or ''}".strip()
    if w.insured_share is None:
        return exposure
    return f"{exposure}, {w.insured_share:.0%} insured"


def _facts(w: Warning, link: str) -> list[tuple[str, str]]:
    reasons = "; ".join(
        f"{r.label} = {r.value}" for r in sorted(w.reasons, key=lambda r: -r.contribution)[
            :TOP_REASONS]
    )
    return [
        ("Grade", _grade(w)),
        ("Default probability", f"{w.pd:.1%} within {w.horizon_months} months"),
        ("Rank", f"{w.rank} of {w.portfolio_size}"),
        ("Reasons", reasons or "none given"),
        ("Exposure", _money(w)),
        ("Action", w.action),
        ("Details", link),
    ]


def warning_title(w: Warning, purpose: str) -> str:
    """One line that fits a chat preview or an email subject."""
    return f"[{w.severity}] {_HEADINGS.get(purpose, purpose)}: {_who(w)} grade {_grade(w)}"


def _block(w: Warning, link: str, fmt: BodyFormat, purpose: str) -> str:
    head = f"{_HEADINGS.get(purpose, purpose)}: {_who(w)} [{w.severity}]"
    facts = _facts(w, link)
    if fmt == "html":
        rows = "".join(
            f"<tr><th align='left'>{escape(k)}</th><td>{_html_value(k, v)}</td></tr>"
            for k, v in facts
        )
        return f"<h3>{escape(head)}</h3><table>{rows}</table>"
    if fmt == "markdown":
        lines = [f"### {head}"] + [
            f"- **{k}:** {f'[{v}]({v})' if k == 'Details' else v}" for k, v in facts
        ]
        return "\n".join(lines)
    return "\n".join([head] + [f"  {k}: {v}" for k, v in facts])


def _html_value(key: str, value: str) -> str:
    if key == "Details":
        return f"<a href='{escape(value)}'>{escape(value)}</a>"
    return escape(value)


def render_group(
    warnings: list[Warning], links: list[str], fmt: BodyFormat, purpose: str, desk: str
) -> tuple[str, str]:
    """Title and body for one group (one or more warnings for one desk)."""
    if len(warnings) == 1:
        title = warning_title(warnings[0], purpose)
    else:
        title = f"{_HEADINGS.get(purpose, purpose)}: {len(warnings)} customers for {desk}"
    separator = "<hr/>" if fmt == "html" else "\n\n"
    body = separator.join(_block(w, link, fmt, purpose) for w, link in zip(warnings, links,
                                                                            strict=True))
    return title, body


def render_digest(
    ranked: list[Warning], links: list[str], fmt: BodyFormat, desk: str, due: str
) -> tuple[str, str]:
    """A ranked watchlist: highest default probability first, one line per customer."""
    title = f"Watchlist for {desk} ({due}): {len(ranked)} customer{'s' * (len(ranked) != 1)}"
    cells = [
        (str(i), _who(w), _grade(w), f"{w.pd:.1%}", _money(w), w.action, link)
        for i, (w, link) in enumerate(zip(ranked, links, strict=True), start=1)
    ]
    header = ("#", "Customer", "Grade", "PD", "Exposure", "Action", "Details")
    if fmt == "html":
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_html_value(header[j], c)}</td>" for j, c in enumerate(row))
            + "</tr>"
            for row in cells
        )
        return title, f"<h3>{escape(title)}</h3><table><tr>{head}</tr>{rows}</table>"
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row).replace("\n", " ") + " |" for row in cells]
        return title, f"### {title}\n\n" + "\n".join(lines)
    return title, "\n".join([title] + ["  ".join(row) for row in cells])
