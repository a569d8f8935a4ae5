"""Which routes a warning takes, how it is grouped, and whether a silence or an inhibit rule
mutes it. Pure functions of the warning, the configuration and the stored state at an
event time, so a replay routes the same way."""

from __future__ import annotations

import json
from datetime import datetime

from config.alerts import AlertsSettings, ResolvedRoute
from connectors.channels.store import Store, ts
from detectors.clock import parse_time
from detectors.records import RESOLVED, Warning


def match_routes(node: ResolvedRoute, warning: Warning) -> list[ResolvedRoute]:
    """Alertmanager semantics: depth-first, the first matching child wins unless it has
    ``continue``; a node none of whose children match handles the warning itself."""
    matched: list[ResolvedRoute] = []
    for child in node.children:
        if child.match.matches(warning):
            matched += match_routes(child, warning)
            if not child.continue_:
                break
    return matched or [node]


def group_key(route: ResolvedRoute, warning: Warning) -> str:
    """One message per (route, desk, values of ``group_by``)."""
    values = ",".join(f"{name}={getattr(warning, name)}" for name in route.group_by)
    return f"{route.path}|{route.receiver}|{values}"


def inhibit_key(fields: list[str], warning: Warning) -> str:
    return json.dumps([getattr(warning, name) for name in fields])


def record_inhibitors(settings: AlertsSettings, store: Store, warning: Warning) -> None:
    """A warning matching a rule's source mutes that rule's targets for ``duration``."""
    if warning.kind == RESOLVED:
        return
    start = parse_time(warning.event_time)
    for index, rule in enumerate(settings.inhibit_rules):
        if rule.source_match.matches(warning):
            store.add_inhibitor(
                index, inhibit_key(rule.equal, warning), warning.customer_id,
                warning.warning_id, ts(start), ts(start + rule.duration),
            )


def inhibited_by(settings: AlertsSettings, store: Store, warning: Warning,
                 at: datetime) -> str | None:
    """The id of the active source warning that mutes ``warning`` at ``at``, if any."""
    for index, rule in enumerate(settings.inhibit_rules):
        if rule.target_match.matches(warning) and not rule.source_match.matches(warning):
            source = store.inhibited_by(
                index, inhibit_key(rule.equal, warning), ts(at), warning.warning_id
            )
            if source is not None:
                return source
    return None


def silenced_by(settings: AlertsSettings, store: Store, warning: Warning,
                at: datetime) -> str | None:
    """The id of a configured or stored silence covering ``warning`` at event time ``at``."""
    for index, rule in enumerate(settings.silences):
        in_time = (rule.starts_at is None or parse_time(rule.starts_at.isoformat()) <= at) and (
            at < parse_time(rule.until.isoformat())
        )
        if (in_time and rule.match.matches(warning)
                and rule.customer_id in (None, warning.customer_id)):
            return rule.id or f"config-{index}"
    moment = ts(at)
    for row in store.silences():
        if (row["customer_id"] in (None, warning.customer_id)
                and row["warning_id"] in (None, warning.warning_id)
                and (row["starts_at"] is None or row["starts_at"] <= moment)
                and moment < row["until"]):
            return row["silence_id"]
    return None
