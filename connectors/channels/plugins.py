"""Find the ``Channel`` for a URL: a plugin registered under the ``creditradar.channels``
entry-point group whose name is the URL scheme, otherwise apprise."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from config.errors import ConnectorError
from config.redact import redact_url
from connectors.channels.apprise_channel import AppriseChannel
from connectors.channels.base import Channel

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
