"""``creditradar evaluate``: stream feeds through the monitor and report how well it warns.

The command is registered on the main group by `flows.cli`; it takes its settings from
``ctx.obj["settings"]`` like every other command.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import structlog

from connectors.files import FEED_NAMING, feed_files
from flows.preflight import EXIT_UNREADABLE_INPUT, damaged

log = structlog.get_logger("creditradar")


@click.command("evaluate")
@click.option("--feeds", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Folder of feed files (JSON Lines, optionally gzip).")
@click.option("--outcomes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Ground truth (default: FEEDS/outcomes.jsonl).")
@click.option("--horizon-months", type=click.IntRange(1, 36), default=None,
              help="Label horizon H: a row is positive if the customer defaults within H "
                   "months (default: the settings' horizon_months).")
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for metrics.json, report.html and the figures.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Workers in each process.")
@click.option("--processes", type=click.IntRange(1), default=1, show_default=True,
              help="Processes on this machine (a cluster on loopback): a big book is "
                   "evaluated sooner, with the same figures.")
@click.pass_context
def evaluate_command(ctx: click.Context, feeds: Path, outcomes: Path | None,
                     horizon_months: int | None, report: Path, workers: int,
                     processes: int) -> None:
    """Progressive validation: replay FEEDS through the monitor (the model learning from
    delayed labels as it goes) and measure its warnings against the outcomes and against
    three baselines (60+ days past due, Altman Z'', an offline gradient-boosted model)."""
    try:
        from flows import report as _report  # fails early without matplotlib
        from flows.evaluate import evaluate
    except ImportError as exc:  # matplotlib is the optional "report" extra
        raise click.ClickException(f"evaluate needs the report extra ({exc})") from exc

    settings = ctx.obj["settings"]
    if horizon_months is not None:
        settings = settings.model_copy(update={"horizon_months": horizon_months})
    outcomes = outcomes or feeds / "outcomes.jsonl"
    if not outcomes.exists():
        raise click.ClickException(f"no outcomes file: {outcomes} (pass --outcomes)")
    if not feed_files(feeds):
        raise click.ClickException(f"no feed files ({FEED_NAMING}) in {feeds}")
    if damaged(feeds, remedy=""):
        ctx.exit(EXIT_UNREADABLE_INPUT)
    log.info("evaluate.start", feeds=str(feeds), report=str(report),
             horizon_months=settings.horizon_months)
    metrics = evaluate(settings, feeds, report, outcomes=outcomes, workers=workers,
                       processes=processes)
    rows = {"monitor": metrics, **metrics["baselines"]}
    click.echo(json.dumps({name: {k: row[k] for k in _report.TABLE_KEYS}
                           for name, row in rows.items()}, indent=2))
    click.echo(f"report: {report / _report.REPORT}")
