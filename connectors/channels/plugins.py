"""Find the ``Channel`` for a URL: our structured webhook for ``webhook(s)://``, a plugin
registered under the ``creditradar.channels`` entry-point group whose name is the URL scheme,
otherwise apprise."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from config.alerts import ChannelSettings
from config.errors import ConnectorError
from config.redact import redact_url
from connectors.channels.apprise_channel import AppriseChannel
from connectors.channels.base import Channel
from connectors.channels.webhook import WebhookChannel

ENTRY_POINT_GROUP = "creditradar.channels"
ChannelFactory = Callable[[str], Channel]


def load_channel(url: str) -> Channel:
    """Build the channel for ``url``; a plugin claims its scheme, apprise takes the rest."""
    scheme = url.split("://", 1)[0].lower()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() == scheme:
            try:
                factory: ChannelFactory = ep.load()
                return factory(url)
            except Exception as exc:
                # the plugin's own message may quote the URL: keep only the type, drop the chain
                raise ConnectorError(
                    f"channel plugin {ep.name!r} failed for {redact_url(url)}: "
                    f"{type(exc).__name__}"
                ) from None
    return AppriseChannel(url)


def build_channel(cfg: ChannelSettings) -> Channel:
    """The channel of a configured channel: its URL, signing secret and timeout applied."""
    url = cfg.url.get_secret_value()
    if cfg.structured:
        secret = cfg.signing_secret.get_secret_value() if cfg.signing_secret else None
        return WebhookChannel(url, secret, cfg.timeout_seconds)
    channel = load_channel(url)
    query = url.partition("?")[2].lower()
    explicit = any(f"{key}=" in query for key in ("cto", "rto"))  # apprise's own timeouts
    if isinstance(channel, AppriseChannel) and not explicit:
        channel.set_timeout(cfg.timeout_seconds)
    return channel
