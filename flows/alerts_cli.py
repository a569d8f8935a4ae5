"""``creditradar alerts``: send a test message, read the delivery history, acknowledge and
silence warnings, and check the routing configuration against sample warnings.

Every URL shown goes through ``redact_url``; every error through ``scrub``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click

from config.alerts import AlertsSettings, ResolvedRoute, resolve_routes
from config.errors import CreditRadarError
from config.redact import redact_url, scrub
from connectors.channels.base import BodyFormat
from connectors.channels.notifier import Notifier
from connectors.channels.plugins import load_channel
from connectors.channels.render import render_group
from connectors.channels.router import match_routes
from detectors.clock import parse_time
from detectors.records import Reason, Warning


def sample_warnings() -> list[Warning]:
    """A few warnings covering the usual severities and kinds, for ``test`` and
    ``check-config``."""
    base: dict[str, Any] = {
        "event_time": "2026-03-02T09:00:00+00:00", "horizon_months": 8, "portfolio_size": 1200,
        "reasons": [
            Reason(code="DSO_UP", label="Days sales outstanding", value=74.0, contribution=0.9),
            Reason(code="LATE_SHARE", label="Overdue share", value="38%", contribution=0.6),
        ],
        "evidence": [], "currency": "EUR", "country": "DE", "industry": "construction",
    }
    return [
        Warning(warning_id="sample-1", kind="early_warning", category="payment_delay",
                customer_id="C-100", customer_name="Sample Bau GmbH", severity="warning",
                grade="C", previous_grade="B", pd=0.12, rank=14, exposure=250_000.0,
                insured_share=0.6, action="Reduce the credit limit to 150k", **base),
        Warning(warning_id="sample-2", kind="early_warning", category="insolvency",
                customer_id="C-200", customer_name="Sample Logistik AG", severity="critical",
                grade="E", previous_grade="C", pd=0.61, rank=1, exposure=900_000.0,
                insured_share=0.9, action="Stop deliveries; notify the credit insurer",
                tags=["key-account"], **base),
        Warning(warning_id="sample-3", kind="early_warning", category="news",
                customer_id="C-300", severity="watch", grade="B", pd=0.04, rank=210,
                exposure=40_000.0, action="Watch", **base),
    ]


def _settings(ctx: click.Context) -> Any:
    return ctx.obj["settings"]


def _notifier(ctx: click.Context) -> Notifier:
    settings = _settings(ctx)
    return Notifier(settings.alerts, Path(settings.state_dir),
                    audit=getattr(settings, "audit", None))


def _parse_time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date or time: {text!r}") from exc


@click.group("alerts")
def alerts() -> None:
    """Alert channels, routing and the delivery history."""


@alerts.command("test")
@click.argument("url")
@click.option("--format", "body_format", type=click.Choice(["text", "markdown", "html"]),
              default="markdown", show_default=True)
@click.pass_context
def send_sample(ctx: click.Context, url: str, body_format: str) -> None:
    """Send a sample warning to URL (an apprise/plugin URL, or a configured channel name)."""
    config: AlertsSettings = _settings(ctx).alerts
    if url in config.channels:
        url = config.channels[url].url.get_secret_value()
    warning = sample_warnings()[0]
    link = config.link_template.format(warning_id=warning.warning_id,
                                       customer_id=warning.customer_id)
    fmt = cast(BodyFormat, body_format)  # click.Choice has checked it
    title, body = render_group([warning], [link], fmt, "notify", "test")
    try:
        load_channel(url).send(f"[TEST] {title}", body, fmt)
    except CreditRadarError as exc:
        raise click.ClickException(scrub(str(exc), url)) from None
    click.echo(f"sent a sample warning to {redact_url(url)}")


@alerts.command("history")
@click.option("--warning", "warning_id", help="Only this warning's events.")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]),
              help="Only deliveries in this state.")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def history_command(ctx: click.Context, warning_id: str | None, status: str | None,
                    limit: int) -> None:
    """Show deliveries (status, attempts, last error) and the event history, newest first."""
    notifier = _notifier(ctx)
    try:
        click.echo("deliveries:")
        for row in notifier.deliveries(status, limit):
            error = f"  error: {row['last_error']}" if row["last_error"] else ""
            click.echo(f"  {row['status']:<7} {row['channel']:<12} attempts={row['attempts']}"
                       f"  {row['purpose']:<10} {row['title']}{error}")
        click.echo("events:")
        for event in notifier.history(warning_id, limit):
            where = f" [{event['channel']}]" if event["channel"] else ""
            click.echo(f"  {event['at']} {event['kind']:<18} {event['warning_id'] or '-'}"
                       f"{where} {event['detail']}")
    finally:
        notifier.close()


@alerts.command("ack")
@click.argument("warning_id")
@click.option("--by", required=True, help="Who acknowledges.")
@click.option("--comment", default="", help="Why, or what was done.")
@click.pass_context
def ack_command(ctx: click.Context, warning_id: str, by: str, comment: str) -> None:
    """Acknowledge a warning: it is no longer escalated for being unacknowledged."""
    notifier = _notifier(ctx)
    try:
        notifier.ack(warning_id, by=by, comment=comment)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        notifier.close()
    click.echo(f"acknowledged {warning_id} by {by}")


@alerts.command("silence")
@click.option("--customer", "customer_id", help="Customer id to silence.")
@click.option("--warning", "warning_id", help="A single warning id to silence.")
@click.option("--until", "until", required=True, help="ISO time (event time) it expires.")
@click.option("--by", default="cli", show_default=True)
@click.option("--comment", default="")
@click.pass_context
def silence_command(ctx: click.Context, customer_id: str | None, warning_id: str | None,
                    until: str, by: str, comment: str) -> None:
    """Mute a customer's (or one warning's) notifications until a time."""
    moment = _parse_time(until)
    notifier = _notifier(ctx)
    try:
        silence_id = notifier.silence(moment, by=by, customer_id=customer_id,
                                      warning_id=warning_id, comment=comment)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        notifier.close()
    click.echo(f"{silence_id}: silenced {customer_id or warning_id} until {moment.isoformat()}")


def _describe(route: ResolvedRoute) -> str:
    options = [f"mode={route.mode}", f"group_by={list(route.group_by)}",
               f"group_wait={route.group_wait}"]
    if route.continue_:
        options.append("continue")
    if route.escalate_to:
        options.append(f"escalate_to={route.escalate_to} after {route.escalate_after}")
    return f"{'  ' * route.depth}{route.path} -> {route.receiver or '(none)'}  " + " ".join(
        options)


@alerts.command("check-config")
@click.option("--samples", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON-lines file of warnings to route instead of the built-in samples.")
@click.pass_context
def check_config_command(ctx: click.Context, samples: Path | None) -> None:
    """Validate the routing tree and show which route each sample warning takes."""
    config: AlertsSettings = _settings(ctx).alerts
    routes = resolve_routes(config.route)
    click.echo("channels:")
    for name, channel in sorted(config.channels.items()):
        click.echo(f"  {name}: {redact_url(channel.url.get_secret_value())}")
    click.echo("receivers:")
    for desk, names in sorted(config.receivers.items()):
        click.echo(f"  {desk}: {', '.join(names)}")
    click.echo("routes:")
    for route in routes:
        click.echo("  " + _describe(route))
    if samples is not None:
        lines = samples.read_text(encoding="utf-8").splitlines()
        warnings = [Warning.model_validate(json.loads(line)) for line in lines if line.strip()]
    else:
        warnings = sample_warnings()
    click.echo("samples:")
    for warning in warnings:
        taken = [f"{r.path} -> {r.receiver or '(none)'}" for r in match_routes(routes[0],
                                                                                warning)]
        click.echo(f"  {warning.warning_id} ({warning.severity}, {warning.category}, "
                   f"grade {warning.grade}): {'; '.join(taken)}")
    click.echo("configuration OK")
