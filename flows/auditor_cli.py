"""``creditradar replay`` and ``creditradar explain``: re-run the monitor over an audit log,
and show what it knew about one customer at a given time.

Both read the settings from ``ctx.obj["settings"]``; a replay must use the original run's
configuration (pass the same ``--config``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from config.errors import CreditRadarError
from connectors.channels.escape import for_terminal
from detectors.clock import parse_time
from flows.audit_cli import LOG_PATH, anchor_key, key_env_option, reading
from flows.jsonl import json_document

__all__ = ["EventTime", "explain_command", "replay_command"]


class EventTime(click.ParamType):
    """An RFC 3339 time (``2022-03-15T12:00:00Z``, an offset, or none: UTC) or a date
    (its midnight, UTC)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 time or a date", param, ctx)




@click.command("replay")
@click.option("--log", "log_dir", required=True, type=LOG_PATH,
              help="The audit log of the run to reproduce.")
@click.option("--until", type=EventTime(), default=None,
              help="Replay only the inputs up to this event time, and compare the warnings "
                   "up to it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the replay's feeds, outputs and replay-report.json.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True)
@key_env_option
@click.pass_context
def replay_command(ctx: click.Context, log_dir: Path, until: datetime | None, out: Path,
                   workers: int, key_env: str | None) -> None:
    """Re-run the monitor over the logged inputs; exit 0 only if every warning is identical
    and the log verifies.

    No notification is sent.
    """
    from flows.replay import replay

    try:
        with reading(log_dir):
            report = replay(log_dir, out, ctx.obj["settings"], until=until, workers=workers,
                            key=anchor_key(ctx, key_env))
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\n".join(report.lines()))
    if not report.ok:
        ctx.exit(1)


@click.command("explain")
@click.argument("customer_id")
@click.option("--as-of", "as_of", type=EventTime(), required=True,
              help="The event time to explain the customer at.")
@click.option("--log", "log_dir", type=LOG_PATH, default=Path("out/audit"), show_default=True,
              help="The audit log; the run's scores.jsonl is read next to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def explain_command(ctx: click.Context, customer_id: str, as_of: datetime, log_dir: Path,
                    as_json: bool) -> None:
    """What the monitor knew about CUSTOMER_ID at a time: state, ledger, score, reasons,
    evidence and the warnings issued up to then."""
    from flows.explain import explain, format_explanation

    try:
        with reading(log_dir):
            doc = explain(customer_id, as_of, log_dir, ctx.obj["settings"])
            _refuse_unknown(doc, customer_id, log_dir)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json_document(doc) if as_json else format_explanation(_for_terminal(doc)))


def _for_terminal(value: Any) -> Any:
    """``value`` with every string in it escaped for the terminal (`for_terminal`): feed
    text must neither drive the terminal nor break a line of the explanation, where a name
    holding a line break could pass for a line of its own (a score, a grade)."""
    if isinstance(value, str):
        return for_terminal(value)
    if isinstance(value, dict):
        return {key: _for_terminal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_for_terminal(item) for item in value]
    return value


def _refuse_unknown(doc: dict[str, Any], customer_id: str, log_dir: Path) -> None:
    """Fail where the whole log never names the customer: almost surely a mistyped id, which
    would otherwise print an empty explanation and exit 0. A customer the log names only
    after ``--as-of`` is still explained (nothing was known yet). The log is read again only
    for a customer unknown at ``--as-of``; the id is feed-controlled text, so it is escaped."""
    from flows.explain import mentions

    if not doc["known"] and not mentions(log_dir, customer_id):
        raise click.ClickException(f"customer {for_terminal(customer_id)} is not in the "
                                   f"audit log at {for_terminal(str(log_dir))}")
