"""Alert routing configuration: channels, desks, the routing tree, inhibition and silences.

Validated while loading, like Alertmanager's: every route names a known desk, every desk
known channels, every time zone exists. ``resolve_routes`` flattens the tree once, applying
parent defaults then child overrides, so the router and ``check-config`` share one resolver.
An empty configuration is valid and sends nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from string import Formatter
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from config.errors import ConfigError

__all__ = [
    "MAX_DURATION",
    "SEVERITIES",
    "STRUCTURED_SCHEMES",
    "ActionSettings",
    "AlertsSettings",
    "ChannelSettings",
    "DigestSchedule",
    "InhibitRule",
    "Match",
    "QuietHours",
    "ResolvedRoute",
    "Route",
    "SilenceRule",
    "parse_alerts",
    "resolve_routes",
]

SEVERITIES: tuple[str, ...] = ("info", "watch", "warning", "critical")
GROUP_FIELDS = frozenset(
    {"customer_id", "grade", "previous_grade", "severity", "category", "kind", "country",
     "industry"}
)
MessageFormat = Literal["text", "markdown", "html", "slack"]
"""The formats a channel's titled messages are written in."""
STRUCTURED_SCHEMES = frozenset({"webhook", "webhooks"})
"""Channel URL schemes whose messages are CloudEvents (one per warning), signed per the
Standard Webhooks specification, instead of titled text."""
MARKDOWN_CHAT_SCHEMES = frozenset(
    {"mmost", "mmosts", "discord", "rocket", "rockets", "zulip", "msteams", "workflow",
     "workflows"})
"""Channel URL schemes of chat services that render Markdown in every message, whatever
format it was sent in (Mattermost, Discord, Rocket.Chat, Zulip, Microsoft Teams and its
Power Automate workflows): a ``text`` or ``html`` body would reach them with a customer
name's ``[link](...)`` or ``**emphasis**`` live, so they get Markdown bodies
(`ChannelSettings.message_format`), and titles escaped as Markdown."""
_MARKDOWN_CHAT_WEBHOOKS = re.compile(
    r"https?://(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/", re.IGNORECASE)
"""Discord's own webhook URLs, which apprise takes as its ``discord://``."""


def renders_markdown(url: str) -> bool:
    """Whether the channel at ``url`` renders Markdown in every message (see
    `MARKDOWN_CHAT_SCHEMES`).

    >>> renders_markdown("https://discord.com/api/webhooks/1/abc"), renders_markdown(
    ...     "json://127.0.0.1/hook")
    (True, False)
    """
    scheme = url.split("://", 1)[0].lower()
    return scheme in MARKDOWN_CHAT_SCHEMES or bool(_MARKDOWN_CHAT_WEBHOOKS.match(url))
_TEMPLATE_FIELDS = frozenset({"warning_id", "customer_id"})
"""The fields ``link_template`` may name."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
MAX_DURATION = timedelta(days=3653)
"""Ten years: the longest wait, interval or inhibition a route may name, so the date
arithmetic on it can never overflow."""


def _check_seconds(seconds: float) -> None:
    """Refuse a negative duration, or one beyond ``MAX_DURATION`` (NaN too)."""
    if not 0 <= seconds <= MAX_DURATION.total_seconds():
        raise ValueError("a duration must lie between 0 and 10 years")


def _duration(value: Any) -> Any:
    """Accept Alertmanager-style durations ("30s", "5m", "4h", "2d", "1w") besides seconds,
    refusing one beyond ten years before it becomes a timedelta (which would overflow)."""
    if isinstance(value, str) and (found := _DURATION.match(value)):
        value = float(found.group(1)) * _UNITS[found.group(2)]
    if isinstance(value, int | float):
        _check_seconds(value)
    return value


def _bounded(value: timedelta) -> timedelta:
    """A duration given otherwise (ISO 8601, ``P2W``) held to the same bounds."""
    _check_seconds(value.total_seconds())
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_bounded)]
Severity = Literal["info", "watch", "warning", "critical"]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


class _Model(BaseModel):
    # hide_input_in_errors: a validation error must never echo a channel URL with its secrets
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )


class ChannelSettings(_Model):
    """One delivery channel: an apprise (or plugin) URL, kept secret, and its delivery limits.

    ``webhook://`` and ``webhooks://`` (TLS) URLs are structured webhooks: each warning is
    posted as a CloudEvent whose data is the warning record, signed with ``signing_secret``
    (a Standard Webhooks ``whsec_...`` secret) when one is given.
    """

    url: SecretStr
    rate_limit_per_minute: int | None = Field(default=None, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=30.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    body_format: MessageFormat = "markdown"
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """How long one send may wait to connect and for the answer. A receiver slower than
    this gets the message again later (with the same idempotency key)."""
    signing_secret: SecretStr | None = None

    @property
    def scheme(self) -> str:
        return self.url.get_secret_value().split("://", 1)[0].lower()

    @property
    def message_format(self) -> MessageFormat:
        """The format messages are written in: ``body_format``, except ``markdown`` for a
        service that renders Markdown anyway (`renders_markdown`), where only escaped
        Markdown shows feed text as the characters it holds."""
        if self.body_format in ("text", "html") and renders_markdown(
                self.url.get_secret_value()):
            return "markdown"
        return self.body_format

    @property
    def structured(self) -> bool:
        """Whether messages to this channel are CloudEvents rather than titled text."""
        return self.scheme in STRUCTURED_SCHEMES

    @model_validator(mode="before")
    @classmethod
    def _url_shorthand(cls, data: Any) -> Any:
        # `ops = "json://..."` is the common case; a table is needed only to set limits.
        return {"url": data} if isinstance(data, str) else data

    @field_validator("url")
    @classmethod
    def _has_scheme(cls, url: SecretStr) -> SecretStr:
        # after-validator on the SecretStr, so a failure never echoes the URL
        if "://" not in url.get_secret_value():
            raise ValueError("channel URL must look like scheme://...")
        return url


class Match(_Model):
    """What a route, inhibit rule or silence selects; every field given must match (AND)."""

    severity: list[Severity] = []
    min_severity: Severity | None = None
    grade: list[str] = []
    kind: list[str] = []
    category: list[str] = []
    country: list[str] = []
    industry: list[str] = []
    tier: list[str] = Field(default=[], description="any of these customer tiers")
    tags: list[str] = Field(default=[], description="any of these portfolio tags")
    customers: list[str] = []
    min_exposure: float | None = None
    max_exposure: float | None = None

    def matches(self, warning: Any) -> bool:
        """True when ``warning`` (a detectors.records.Warning) satisfies every given field."""
        pairs = (
            (self.severity, warning.severity), (self.grade, warning.grade),
            (self.kind, warning.kind), (self.category, warning.category),
            (self.country, warning.country), (self.industry, warning.industry),
            (self.tier, warning.tier), (self.customers, warning.customer_id),
        )
        if any(wanted and value not in wanted for wanted, value in pairs):
            return False
        if self.tags and not set(self.tags) & set(warning.tags):
            return False
        if self.min_severity is not None and (
            warning.severity not in SEVERITIES
            or SEVERITIES.index(warning.severity) < SEVERITIES.index(self.min_severity)
        ):
            return False
        if self.min_exposure is None and self.max_exposure is None:
            return True
        if warning.exposure is None:  # no rate for the day: no amount to compare
            return False
        if self.min_exposure is not None and warning.exposure < self.min_exposure:
            return False
        return self.max_exposure is None or warning.exposure <= self.max_exposure


class DigestSchedule(_Model):
    """When a digest route sends its ranked watchlist: daily or weekly at a local time."""

    every: Literal["daily", "weekly"] = "daily"
    at: time = time(8, 0)
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    timezone: Annotated[str, BeforeValidator(_zone)] = "UTC"
    top: int = Field(default=20, ge=1)

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled instant strictly after ``moment`` (returned in UTC)."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        day = local.date()
        weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(self.weekday)
        for offset in range(0, 15):
            candidate_day = day + timedelta(days=offset)
            if self.every == "weekly" and candidate_day.weekday() != weekday:
                continue
            candidate = datetime.combine(candidate_day, self.at, tzinfo=zone)
            if candidate > local:
                return candidate.astimezone(ZoneInfo("UTC"))
        raise ConfigError("digest schedule has no next occurrence")  # unreachable by design


class QuietHours(_Model):
    """A local-time window in which immediate messages wait until it ends (may span midnight)."""

    start: time
    end: time
    timezone: Annotated[str, BeforeValidator(_zone)] = "UTC"
    except_severity: list[Severity] = ["critical"]

    def release_at(self, moment: datetime) -> datetime | None:
        """When a message due at ``moment`` may go out, or None if it is outside the window."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        now = local.time()
        inside = (self.start <= now < self.end) if self.start < self.end else (
            now >= self.start or now < self.end
        )
        if not inside:
            return None
        end_day = local.date() if now < self.end else local.date() + timedelta(days=1)
        return datetime.combine(end_day, self.end, tzinfo=zone).astimezone(ZoneInfo("UTC"))


class Route(_Model):
    """A node of the routing tree; unset options are inherited from the parent route."""

    match: Match = Match()
    receiver: str | None = None
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mode: Literal["immediate", "digest"] | None = None
    digest: DigestSchedule | None = None
    quiet_hours: QuietHours | None = None
    escalate_after: Duration | None = None
    escalate_to: str | None = None
    notify_resolved: bool | None = None
    routes: list[Route] = []

    @field_validator("group_by")
    @classmethod
    def _known_fields(cls, fields: list[str] | None) -> list[str] | None:
        unknown = sorted(set(fields or ()) - GROUP_FIELDS)
        if unknown:
            raise ValueError(f"cannot group by {unknown}; choose from {sorted(GROUP_FIELDS)}")
        return fields


class InhibitRule(_Model):
    """While a source warning is active, target warnings with equal fields are muted."""

    source_match: Match
    target_match: Match
    equal: list[str] = ["customer_id"]
    duration: Duration = timedelta(days=90)

    @field_validator("equal")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        return Route._known_fields(fields) or []


class SilenceRule(_Model):
    """A configured silence: mutes matching warnings whose event time is before ``until``."""

    id: str | None = None
    customer_id: str | None = None
    match: Match = Match()
    starts_at: datetime | None = None
    until: datetime
    created_by: str = "config"
    comment: str = ""


class ActionSettings(_Model):
    """Where structured ERP actions (hold orders, reduce a limit, ...) are posted."""

    endpoints: list[str] = []
    """Channels (``webhook://`` or ``webhooks://``) that receive every action command."""
    from_warnings: bool = True
    """Post each warning's recommended action as a command; off: only commands posted
    through ``ActionDesk.post`` (approved in the workspace) are sent."""


class AlertsSettings(_Model):
    """Everything the notifier needs; the ``alerts`` section of the main settings."""

    channels: dict[str, ChannelSettings] = {}
    receivers: dict[str, list[str]] = {}
    route: Route = Route()
    inhibit_rules: list[InhibitRule] = []
    silences: list[SilenceRule] = []
    link_template: str = "https://creditradar.local/warnings/{warning_id}"
    source: str = "/creditradar"
    """The CloudEvents ``source`` of every structured message (a URI reference)."""
    actions: ActionSettings = ActionSettings()
    deliver_during_run: bool = True
    """A run starts a delivery worker next to its dataflow; off when a separate
    ``creditradar alerts deliver --daemon`` sends (``run --no-deliver``)."""
    deliver_wait_seconds: float = Field(default=2.0, ge=0)
    """At the end of a run, how long its delivery worker may go on sending what is due
    before leaving the rest in the outbox for ``creditradar alerts deliver``."""

    @model_validator(mode="after")
    def _references_exist(self) -> AlertsSettings:
        for desk, names in self.receivers.items():
            missing = sorted(set(names) - set(self.channels))
            if missing:
                raise ValueError(f"receiver {desk!r} names unknown channels {missing}")
        for name in self.actions.endpoints:
            if name not in self.channels:
                raise ValueError(f"actions.endpoints names unknown channel {name!r}")
            if not self.channels[name].structured:
                raise ValueError(f"actions endpoint {name!r} must be a webhook:// or "
                                 "webhooks:// channel")
        for resolved in resolve_routes(self.route):
            for name in (resolved.receiver, resolved.escalate_to):
                if name is not None and name not in self.receivers:
                    raise ValueError(f"route {resolved.path} names unknown receiver {name!r}")
            if resolved.mode == "digest" and resolved.digest is None:
                raise ValueError(f"route {resolved.path} is a digest without a schedule")
        if not _plain_template(self.link_template):
            raise ValueError("link_template may use only {warning_id} and {customer_id}, "
                             "without format specs or conversions")
        return self


def _plain_template(template: str) -> bool:
    """Whether ``template``'s only fields are bare ``{warning_id}`` and ``{customer_id}``.

    Parsed, never formatted: a format spec such as ``{warning_id:>99999999999}`` would make
    ``str.format`` allocate that many characters.
    """
    try:
        fields = list(Formatter().parse(template))
    except ValueError:  # an unmatched "{" or "}"
        return False
    return all(
        name is None or (name in _TEMPLATE_FIELDS and not spec and conversion is None)
        for _literal, name, spec, conversion in fields
    )


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A route with every inherited option filled in; ``path`` is e.g. ``root/1/0``."""

    path: str
    depth: int
    match: Match
    receiver: str | None
    continue_: bool
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    mode: str
    digest: DigestSchedule | None
    quiet_hours: QuietHours | None
    escalate_after: timedelta | None
    escalate_to: str | None
    notify_resolved: bool
    children: tuple[ResolvedRoute, ...]


_ROOT_DEFAULTS = ResolvedRoute(
    path="", depth=-1, match=Match(), receiver=None, continue_=False, group_by=(),
    group_wait=timedelta(seconds=30), group_interval=timedelta(minutes=5),
    repeat_interval=timedelta(hours=4), mode="immediate", digest=None, quiet_hours=None,
    escalate_after=None, escalate_to=None, notify_resolved=False, children=(),
)


def _resolve(route: Route, parent: ResolvedRoute, path: str) -> ResolvedRoute:
    def pick(name: str) -> Any:
        own = getattr(route, name)
        return getattr(parent, name) if own is None else own

    group_by = parent.group_by if route.group_by is None else tuple(route.group_by)
    node = ResolvedRoute(
        path=path, depth=parent.depth + 1, match=route.match, receiver=pick("receiver"),
        continue_=route.continue_, group_by=group_by, group_wait=pick("group_wait"),
        group_interval=pick("group_interval"), repeat_interval=pick("repeat_interval"),
        mode=pick("mode"), digest=pick("digest"), quiet_hours=pick("quiet_hours"),
        escalate_after=pick("escalate_after"), escalate_to=pick("escalate_to"),
        notify_resolved=pick("notify_resolved"), children=(),
    )
    children = tuple(
        _resolve(child, node, f"{path}/{index}") for index, child in enumerate(route.routes)
    )
    return replace(node, children=children)


def resolve_routes(root: Route) -> list[ResolvedRoute]:
    """Flatten the tree depth-first (parents before children), inheritance applied."""
    out: list[ResolvedRoute] = []

    def walk(node: ResolvedRoute) -> None:
        out.append(node)
        for child in node.children:
            walk(child)

    walk(_resolve(root, _ROOT_DEFAULTS, "root"))
    return out


def parse_alerts(data: Mapping[str, Any]) -> AlertsSettings:
    """Validate a raw ``alerts`` mapping; errors become ``ConfigError`` without input values,
    so a URL with a password in it is never echoed."""
    try:
        return AlertsSettings.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']) or 'alerts'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("invalid alerts configuration:\n  " + "\n  ".join(lines)) from exc
