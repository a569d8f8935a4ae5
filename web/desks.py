"""Which customers a desk sees: its portfolio, by the routing's tags.

A desk is a receiver of the alert routing (`config.alerts`). Its portfolio is the customers
carrying any tag that a route to that receiver matches on, counting the tags of the routes
above it; a route to the desk that names no tags anywhere on its path gives it the whole
book. A user without a desk (admins, auditors) sees the whole book.
"""

from __future__ import annotations

from config.alerts import AlertsSettings, ResolvedRoute, resolve_routes
from config.errors import ConfigError

WHOLE_BOOK = None


def desk_tags(alerts: AlertsSettings, desk: str | None) -> frozenset[str] | None:
    """The tags of ``desk``'s portfolio, or None for the whole book.

    A desk that no route sends to sees nothing (an empty set), never everything.
    """
    if desk is None:
        return WHOLE_BOOK
    routes = resolve_routes(alerts.route)
    by_path = {route.path: route for route in routes}
    tags: set[str] = set()
    found = False
    for route in routes:
        if route.receiver != desk:
            continue
        found = True
        path_tags = _path_tags(route, by_path)
        if not path_tags:
            return WHOLE_BOOK
        tags |= path_tags
    return frozenset(tags) if found else frozenset()


def check_desk(alerts: AlertsSettings, desk: str | None) -> None:
    """Refuse a desk that the routing does not know (a typo would hide the whole book)."""
    if desk is not None and desk not in alerts.receivers:
        known = ", ".join(sorted(alerts.receivers)) or "none configured"
        raise ConfigError(f"desk {desk!r} is not a receiver of the alert routing ({known})")


def _path_tags(route: ResolvedRoute, by_path: dict[str, ResolvedRoute]) -> set[str]:
    """The tags matched on by ``route`` and the routes above it (the nearest that names any)."""
    path = route.path
    while path:
        node = by_path.get(path)
        if node is not None and node.match.tags:
            return set(node.match.tags)
        path = path.rpartition("/")[0]
    return set()
