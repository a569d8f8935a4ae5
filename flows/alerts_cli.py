"""``creditradar alerts``: deliver the outbox (once or as a daemon), show its status and
history, send a test message, acknowledge and silence warnings, record an ERP's confirmation
of an action, and check the routing configuration against sample warnings.

Every URL shown goes through ``redact_url``; every error through ``scrub``; every string
that came from a feed through ``for_terminal``.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from config.alerts import AlertsSettings, ChannelSettings, ResolvedRoute, resolve_routes
from config.errors import ConfigError, CreditRadarError
from config.redact import redact_url, scrub
from connectors.channels.actions import ActionConfirmation, ActionDesk
from connectors.channels.apprise_channel import accepts, check_target
from connectors.channels.cloudevents import encode, warning_event
from connectors.channels.escape import for_terminal
from connectors.channels.notifier import Notifier
from connectors.channels.outbox import Outbox
from connectors.channels.plugins import ENTRY_POINT_GROUP, build_channel
from connectors.channels.render import link_for, render_group
from connectors.channels.router import match_routes
from connectors.channels.store import Store
from connectors.channels.worker import DeliveryWorker, delivery_counts
from detectors.clock import parse_time
from detectors.records import Reason, Warning
from flows.jsonl import DamagedLine, numbered_rows
from flows.params import FiniteRange

if TYPE_CHECKING:
    from flows.ops import OpsServer


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


def _state_dir(ctx: click.Context) -> Path:
    return Path(_settings(ctx).state_dir)


def _audit(ctx: click.Context) -> Any:
    return getattr(_settings(ctx), "audit", None)


def _notifier(ctx: click.Context) -> Notifier:
    return Notifier(_settings(ctx).alerts, _state_dir(ctx), audit=_audit(ctx))


def _parse_time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date or time: {text!r}") from exc


@click.group("alerts")
def alerts() -> None:
    """Alert channels, routing, delivery and the delivery history.

    \b
    Examples:
      creditradar alerts check-config
      creditradar alerts deliver --daemon --ops-port 9465
      creditradar alerts status
    """


@alerts.command("deliver")
@click.option("--daemon", is_flag=True, help="Keep delivering new messages until stopped "
              "(SIGTERM or Ctrl-C).")
@click.option("--max-seconds", type=FiniteRange(0), default=900.0, show_default=True,
              help="Without --daemon: give up waiting for retries after this long.")
@click.option("--retry-failed", is_flag=True, help="Give failed deliveries a fresh set of "
              "attempts first.")
@click.option("--ops-port", type=click.IntRange(0, 65535), default=None,
              help="Serve /metrics, /healthz, /readyz and /actions/confirmations here.")
@click.option("--ops-host", default="127.0.0.1", show_default=True)
@click.pass_context
def deliver_command(ctx: click.Context, daemon: bool, max_seconds: float, retry_failed: bool,
                    ops_port: int | None, ops_host: str) -> None:
    """Send the outbox: every pending message, with retries, backoff, rate limits and
    receivers' Retry-After; one thread per channel, so a hung receiver holds up only its own.
    Exit status 1 while any delivery has failed.

    \b
    Examples:
      creditradar alerts deliver
      creditradar alerts deliver --retry-failed --max-seconds 120
      creditradar alerts deliver --daemon --ops-host 0.0.0.0 --ops-port 9465
    """
    settings = _settings(ctx)
    state_dir = _state_dir(ctx)
    if retry_failed:
        store = Store(state_dir)
        with store.db:
            again = Outbox(store).retry_failed(datetime.now().timestamp())
        store.close()
        click.echo(f"{again} failed deliveries queued again")
    worker = DeliveryWorker(settings.alerts, state_dir, audit=_audit(ctx))
    ops = None
    if ops_port is not None:
        from flows.ops import registry_for

        ops = serve_ops(ops_host, ops_port, registry_for(state_dir, flow=False),
                        ready=lambda: worker.running, alerts=settings.alerts,
                        state_dir=state_dir, audit=_audit(ctx))
    try:
        if daemon:
            _run_until_signalled(worker)
        else:
            worker.drain(max_seconds)
    finally:
        if ops is not None:
            ops.stop()
    counts = delivery_counts(state_dir)
    click.echo(_counts_line(counts))
    if counts["failed"]:
        ctx.exit(1)


def serve_ops(host: str, port: int, registry: Any, **options: Any) -> OpsServer:
    """Start the operations server (`flows.ops.OpsServer`, ``options`` its keywords) on
    ``host:port``; a port that cannot be bound (in use, not permitted) is a `ConfigError`
    naming it, as the operating system's error does not."""
    from flows.ops import OpsServer

    try:
        return OpsServer(host, port, registry, **options).start()
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: "
                          f"{exc.strerror or exc}") from None


def _run_until_signalled(worker: DeliveryWorker) -> None:
    """Run the worker until SIGTERM or SIGINT, then let due sends finish for a moment."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.start()
        while not stop.wait(1.0):
            pass
    finally:
        worker.stop(5.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _counts_line(counts: dict[str, int]) -> str:
    return (f"delivered {counts['sent']}  pending {counts['pending']}  "
            f"failed {counts['failed']}")


@alerts.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """How many deliveries are delivered, pending and failed, in total and per channel.
    Exit status 1 while any has failed.

    \b
    Examples:
      creditradar alerts status
      creditradar alerts status --json
    """
    store = Store(_state_dir(ctx))
    try:
        by_channel = Outbox(store).counts_by_channel()
    finally:
        store.close()
    totals = {"pending": 0, "sent": 0, "failed": 0}
    channels: dict[str, dict[str, int]] = {}
    for (channel, status), count in sorted(by_channel.items()):
        channels.setdefault(channel, {"pending": 0, "sent": 0, "failed": 0})[status] = count
        totals[status] = totals.get(status, 0) + count
    if as_json:
        click.echo(json.dumps({"total": totals, "channels": channels}, indent=2))
    else:
        click.echo(_counts_line(totals))
        for channel, counts in channels.items():
            click.echo(f"  {channel:<16} {_counts_line(counts)}")
    if totals["failed"]:
        ctx.exit(1)


@alerts.command("test")
@click.argument("url")
@click.option("--format", "body_format",
              type=click.Choice(["text", "markdown", "html", "slack"]), default="markdown",
              show_default=True)
@click.pass_context
def send_sample(ctx: click.Context, url: str, body_format: str) -> None:
    """Send a sample warning to URL (an apprise/plugin/webhook URL, or a configured channel
    name), at once and without the outbox.

    \b
    Examples:
      creditradar alerts test risk-mail
      creditradar alerts test "json://localhost:8080/hook" --format text
    """
    config: AlertsSettings = _settings(ctx).alerts
    channel_settings = config.channels.get(url) or _channel(url, body_format, config)
    url = channel_settings.url.get_secret_value()
    warning = sample_warnings()[0]
    try:
        channel = build_channel(channel_settings)
        if channel_settings.structured:
            event = warning_event(warning, "notify", config.source)
            event["id"] = f"test-{warning.warning_id}"
            channel.send("[TEST]", encode(event), "cloudevents")
        else:
            fmt = channel_settings.message_format  # (a URL's: --format)
            title, body = render_group([warning], [link_for(config.link_template, warning)],
                                       fmt, "notify", "test")
            channel.send(f"[TEST] {title}", body, fmt)
    except CreditRadarError as exc:
        raise click.ClickException(scrub(str(exc), url)) from None
    click.echo(f"sent a sample warning to {redact_url(url)}")


def _channel(url: str, body_format: str, config: AlertsSettings) -> ChannelSettings:
    """The channel of a URL given on the command line; one that is neither a configured
    channel's name nor a URL is a `ConfigError` that names the configured channels but not
    what was given (it may hold a secret)."""
    try:
        return ChannelSettings(url=url, body_format=body_format)  # type: ignore[arg-type]
    except ValidationError as exc:
        why = "; ".join(error["msg"] for error in exc.errors())
        names = ", ".join(sorted(config.channels)) or "none"
        raise ConfigError(scrub(f"neither a configured channel (configured: {names}) nor a "
                                f"channel URL ({why})", url)) from None


@alerts.command("history")
@click.option("--warning", "warning_id", help="Only this warning's events.")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]),
              help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True,
              help="At most this many deliveries, and this many events.")
@click.pass_context
def history_command(ctx: click.Context, warning_id: str | None, status: str | None,
                    limit: int) -> None:
    """Show deliveries (status, attempts, last error) and the event history, newest first.

    \b
    Examples:
      creditradar alerts history --status failed
      creditradar alerts history --warning w-0b6d9f8b75f76830564e
    """
    notifier = _notifier(ctx)
    show = for_terminal
    try:
        click.echo("deliveries:")
        for row in notifier.deliveries(status, limit):
            error = f"  error: {show(row['last_error'])}" if row["last_error"] else ""
            click.echo(f"  {row['status']:<7} {show(row['channel']):<12} "
                       f"attempts={row['attempts']}  {show(row['purpose']):<10} "
                       f"{show(row['title'])}{error}")
        click.echo("events:")
        for event in notifier.history(warning_id, limit):
            where = f" [{show(event['channel'])}]" if event["channel"] else ""
            click.echo(f"  {event['at']} {show(event['kind']):<18} "
                       f"{show(event['warning_id'] or '-')}{where} {show(event['detail'])}")
    finally:
        notifier.close()


@alerts.command("ack")
@click.argument("warning_id")
@click.option("--by", required=True, help="Who acknowledges.")
@click.option("--comment", default="", help="Why, or what was done.")
@click.pass_context
def ack_command(ctx: click.Context, warning_id: str, by: str, comment: str) -> None:
    """Acknowledge a warning: it is no longer escalated for being unacknowledged.

    \b
    Example:
      creditradar alerts ack w-0b6d9f8b75f76830564e --by anna --comment "limit cut"
    """
    notifier = _notifier(ctx)
    try:
        notifier.ack(warning_id, by=by, comment=comment)
    except CreditRadarError as exc:
        raise click.ClickException(for_terminal(str(exc))) from exc
    finally:
        notifier.close()
    click.echo(f"acknowledged {for_terminal(warning_id)} by {for_terminal(by)}")


@alerts.command("silence")
@click.option("--customer", "customer_id", help="Customer id to silence.")
@click.option("--warning", "warning_id", help="A single warning id to silence.")
@click.option("--until", "until", required=True, help="ISO time (event time) it expires.")
@click.option("--by", default="cli", show_default=True)
@click.option("--comment", default="")
@click.pass_context
def silence_command(ctx: click.Context, customer_id: str | None, warning_id: str | None,
                    until: str, by: str, comment: str) -> None:
    """Mute a customer's (or one warning's) notifications until a time.

    \b
    Example:
      creditradar alerts silence --customer C-1042 --until 2026-04-01 --by anna
    """
    moment = _parse_time(until)
    notifier = _notifier(ctx)
    try:
        silence_id = notifier.silence(moment, by=by, customer_id=customer_id,
                                      warning_id=warning_id, comment=comment)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        notifier.close()
    click.echo(f"{silence_id}: silenced {for_terminal(customer_id or warning_id or '')} "
               f"until {moment.isoformat()}")


@alerts.command("confirm-action")
@click.argument("idempotency_key")
@click.option("--status", type=click.Choice(["applied", "rejected", "failed"]), required=True)
@click.option("--by", required=True, help="Who (which ERP, which clerk) confirms.")
@click.option("--detail", default="", help="What was done, or why not.")
@click.option("--endpoint", default=None, help="The endpoint (channel) that applied it.")
@click.pass_context
def confirm_action_command(ctx: click.Context, idempotency_key: str, status: str, by: str,
                           detail: str, endpoint: str | None) -> None:
    """Record an ERP's confirmation of an action command in the audit trail (the same as
    POST /actions/confirmations on the operations server).

    \b
    Example:
      creditradar alerts confirm-action act-3f1c... --status applied --by sap-prod
    """
    desk = ActionDesk(_settings(ctx).alerts, _state_dir(ctx), audit=_audit(ctx))
    try:
        desk.confirm(ActionConfirmation(idempotency_key=idempotency_key, status=status,
                                        by=by, detail=detail, endpoint=endpoint))
    except CreditRadarError as exc:
        raise click.ClickException(for_terminal(str(exc))) from None
    finally:
        desk.close()
    click.echo(f"recorded: {for_terminal(idempotency_key)} {status} by {for_terminal(by)}")


def _describe(route: ResolvedRoute) -> str:
    options = [f"mode={route.mode}", f"group_by={list(route.group_by)}",
               f"group_wait={route.group_wait}"]
    if route.continue_:
        options.append("continue")
    if route.escalate_to:
        options.append(f"escalate_to={route.escalate_to} after {route.escalate_after}")
    return f"{'  ' * route.depth}{route.path} -> {route.receiver or '(none)'}  " + " ".join(
        options)


def url_problem(channel: ChannelSettings) -> str | None:
    """Why a channel's URL cannot be sent to, or None: webhook URLs and plugin schemes are
    checked by building their channel, every other URL by apprise itself."""
    from importlib.metadata import entry_points

    url = channel.url.get_secret_value()
    plugins = {ep.name.lower() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if channel.structured or channel.scheme in plugins:
        try:
            build_channel(channel)
        except CreditRadarError as exc:
            return scrub(str(exc), url)
        return None
    if not accepts(url):
        return "apprise does not accept this URL (unknown service, or parts missing)"
    try:
        check_target(url)
    except CreditRadarError as exc:
        return scrub(str(exc), url)
    return None


def _read_samples(path: Path) -> list[Warning]:
    """The warnings of a JSON Lines file (a run's warnings.jsonl); a line that is not a
    warning is a `DamagedLine` naming the file and line."""
    warnings = []
    for number, row in numbered_rows(path):
        try:
            warnings.append(Warning.model_validate(row))
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, error["loc"])) or "row"
                               for error in exc.errors())
            raise DamagedLine(path, number, f"not a warning (missing or invalid: {fields})"
                              ) from None
    return warnings


@alerts.command("check-config")
@click.option("--samples", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON-lines file of warnings to route instead of the built-in samples.")
@click.pass_context
def check_config_command(ctx: click.Context, samples: Path | None) -> None:
    """Validate the channels (each URL by apprise itself) and the routing tree, and show
    which route each sample warning takes. Exit status 1 when a channel URL is refused.

    \b
    Examples:
      creditradar --config creditradar.toml alerts check-config
      creditradar alerts check-config --samples out/warnings.jsonl
    """
    config: AlertsSettings = _settings(ctx).alerts
    routes = resolve_routes(config.route)
    warnings = sample_warnings() if samples is None else _read_samples(samples)
    problems = 0
    click.echo("channels:")
    for name, channel in sorted(config.channels.items()):
        problem = url_problem(channel)
        problems += problem is not None
        verdict = f"  REFUSED: {problem}" if problem else ""
        if not problem and channel.message_format != channel.body_format:
            verdict = (f"  (sends {channel.message_format}, not {channel.body_format}: the "
                       "service renders Markdown in every message)")
        click.echo(f"  {name}: {redact_url(channel.url.get_secret_value())}{verdict}")
    click.echo("receivers:")
    for desk, names in sorted(config.receivers.items()):
        click.echo(f"  {desk}: {', '.join(names)}")
    click.echo("routes:")
    for route in routes:
        click.echo("  " + _describe(route))
    click.echo("samples:")
    for warning in warnings:
        taken = [f"{r.path} -> {r.receiver or '(none)'}" for r in match_routes(routes[0],
                                                                                warning)]
        click.echo(f"  {for_terminal(warning.warning_id)} ({for_terminal(warning.severity)}, "
                   f"{for_terminal(warning.category)}, grade {for_terminal(warning.grade)}): "
                   f"{'; '.join(taken)}")
    if problems:
        raise click.ClickException(f"{problems} channel URL(s) refused")
    click.echo("configuration OK")
