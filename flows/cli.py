"""The ``creditradar`` command line: simulate, run, backtest, demo, config, and the alerts,
audit, replay and explain commands of the desks and auditors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import click
import structlog
from click.core import ParameterSource
from tqdm import tqdm

from config.errors import ConfigError
from config.redact import error_line
from config.settings import Settings, load_settings, redacted
from config.version import program_version
from connectors.files import FEED_NAMING, feed_files, ignored_entries
from detectors.book import BookSettings
from detectors.clock import to_seconds, within_years
from flows.alerts_cli import alerts
from flows.audit_cli import audit
from flows.auditor_cli import explain_command, replay_command
from flows.check_cli import check_command
from flows.collections_cli import collections_command
from flows.evaluate_cli import evaluate_command
from flows.limits_cli import limits_command
from flows.logs import configure_logging
from flows.news_cli import evaluate_news_command, learn_news_command
from flows.params import FiniteRange
from flows.preflight import EXIT_UNREADABLE_INPUT, damaged
from flows.rates_cli import rates_command
from web.cli import serve_command, users

log = structlog.get_logger("creditradar")

STOPPED = 130
"""The exit status of a run stopped (Ctrl-C, SIGTERM) before its input ended, as a shell
gives a command Ctrl-C stopped; a live run, which only a stop ends, exits 0."""
CONTEXT = {"help_option_names": ["-h", "--help"]}
EXIT_ALL_REJECTED = 3
"""Exit status of a run whose every record was rejected."""
EXIT_DELIVERY_FAILED = 4
"""Exit status of a run with failed deliveries (with --fail-on-delivery-failure)."""


@contextmanager
def _progress(total: int | None, unit: str, desc: str) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on a terminal; silent otherwise (logs carry the outcome)."""
    bar = tqdm(total=total, unit=unit, desc=desc, unit_scale=True, disable=not sys.stderr.isatty(),
               file=sys.stderr)
    try:
        yield bar.update
    finally:
        bar.close()


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


class Commands(click.Group):
    """The command group whose every command reports an error CreditRadar raises on purpose
    (a missing file, a bad setting), or one of the operating system's (a folder that cannot
    be made, a port in use), as one line and exit status 1, not a traceback. Anything else
    (a bug, Ctrl-C) keeps its traceback or click's handling."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the group and its command; a `CreditRadarError` or an OSError, or an error
        that carries one as its cause (bytewax wraps what a source or sink raises), becomes
        click's error, redacted (a plugin's message may hold a URL with its password)."""
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            line = error_line(exc)
            if line is None:
                raise
            raise click.ClickException(line) from None


@click.group(cls=Commands, context_settings=CONTEXT)
@click.version_option(program_version(), "-V", "--version", prog_name="creditradar",
                      message="%(prog)s %(version)s")
@click.option("--config", "config_path", type=click.Path(dir_okay=False,
              path_type=Path), envvar="CREDITRADAR_CONFIG", help="TOML or YAML settings file.")
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="auto")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"],
              case_sensitive=False), default=None, help="Default: the settings' log_level.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, log_format: str, log_level: str | None):
    """CreditRadar: streaming credit early warnings from payment, news and registry feeds.

    \b
    Examples:
      creditradar simulate --out feeds/
      creditradar run --feeds feeds/ --out out/
      creditradar --config creditradar.toml alerts check-config
      creditradar COMMAND -h            (help and examples of one command)
    """
    try:
        settings = load_settings(config_path)
        BookSettings.from_settings(settings)  # what only the detectors check (news categories)
    except ConfigError as exc:
        if ctx.get_parameter_source("config_path") is ParameterSource.ENVIRONMENT:
            raise ConfigError(f"{exc} (named by CREDITRADAR_CONFIG)") from None
        raise
    if log_level is not None:  # (the settings carry it to a run's processes)
        settings = settings.model_copy(update={"log_level": log_level.lower()})
    configure_logging(settings.log_level, log_format)
    ctx.ensure_object(dict)
    ctx.obj["settings"] = settings


@cli.command()
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--months", type=click.IntRange(1, 1200), default=36, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2021-01-01",
              show_default=True, help="The first day of the book's first month.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--profile", default="receivables", show_default=True, metavar="NAME",
              help="Shape of book: receivables (B2B ledger, tradelines, news, registry), cards "
                   "(card accounts: 6-7 monthly tradelines, default the month after), "
                   "monthly-status (monthly days-past-due buckets for up to 5 years) or "
                   "statements (one set of filed accounts a year, bankruptcies).")
def simulate(customers: int, months: int, seed: int, start: Any, out: Path,
             profile: str) -> None:
    """Write a simulated book as feed files (and its outcomes): a B2B receivables portfolio
    by default, or another shape with --profile (docs/simulator.md describes each).

    \b
    Example:
      creditradar simulate --profile cards --customers 30000 --months 96 --out feeds-cards
    """
    from connectors.simulator import PROFILE_NAMES
    from connectors.simulator import simulate as run_simulation

    if profile not in PROFILE_NAMES:
        raise click.BadParameter(f"{profile!r} is not one of {', '.join(PROFILE_NAMES)}",
                                 param_hint="--profile")
    if start.day != 1:
        raise click.BadParameter(f"the book runs in calendar months: give the first of a month "
                                 f"({start:%Y-%m}-01)", param_hint="--start")
    last_month = start.year * 12 + start.month - 1 + months + 12  # (a year after the book)
    if not (within_years(to_seconds(start.replace(tzinfo=UTC))) and last_month < 9999 * 12):
        raise click.BadParameter("the book's months (and a year after them) must lie from "
                                 "1900 to before 9999", param_hint="--start")
    with _progress(customers, "customers", "simulate") as progress:
        try:
            summary = run_simulation(customers, months, seed, out, start=start.date(),
                                     progress=progress, profile=profile)
        except ValueError as exc:  # a horizon too short for the profile
            raise click.UsageError(str(exc)) from exc
    log.info("simulate.done", out=str(out), **summary.to_json())
    click.echo(json.dumps(summary.to_json(), indent=2))


@cli.command()
@click.option("--feeds", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of feed files (JSON Lines, optionally gzip): the embedded default.")
@click.option("--source", "source_name", default=None,
              help="A source plugin (entry point group creditradar.sources) instead of --feeds.")
@click.option("-o", "--source-option", "source_options", multiple=True, metavar="KEY=VALUE",
              help="An option for the source plugin; repeat as needed.")
@click.option("--kafka", "bootstrap", default=None, metavar="BOOTSTRAP",
              help="Read the feed topics of this Kafka cluster (host:port,...) and also write "
                   "the warnings and dead-letter topics; runs until stopped.")
@click.option("--from", "start", default=None,
              help="With --kafka: beginning, end, or an RFC 3339 time to backfill from "
                   "(default: beginning).")
@click.option("--stop-at-end", is_flag=True,
              help="With --kafka: stop once the topics' current end is reached.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: warnings, dead letters, watchlist, stats, audit log.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Workers (threads) per process.")
@click.option("--processes", type=click.IntRange(1), default=1, show_default=True,
              help="bytewax processes on this machine (a cluster on loopback).")
@click.option("--recovery-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Snapshot state here; a run started again with it resumes after a crash.")
@click.option("--read-damaged", is_flag=True,
              help="With --feeds: run even if a feed file cannot be read whole (a gzip file "
                   "cut short), reading it up to where it breaks.")
@click.option("--horizon-months", type=click.IntRange(1, 36), default=None)
@click.option("--scores", is_flag=True, help="Also write every snapshot's score.")
@click.option("--top", type=click.IntRange(0), default=15, show_default=True,
              help="Rows of the watchlist to print.")
@click.option("--no-deliver", is_flag=True,
              help="Only queue alerts; a separate `creditradar alerts deliver` sends them.")
@click.option("--deliver-wait", type=FiniteRange(0), default=None, metavar="SECONDS",
              help="After the input ends, keep sending what is due this long (default: "
                   "alerts.deliver_wait_seconds, 2); the rest stays queued.")
@click.option("--fail-on-delivery-failure", is_flag=True,
              help=f"Exit {EXIT_DELIVERY_FAILED} when any delivery has failed.")
@click.option("--ops-port", type=click.IntRange(0, 65535), default=None,
              help="Serve /metrics, /healthz and /readyz on this port while running.")
@click.option("--ops-host", default="127.0.0.1", show_default=True)
@click.pass_context
def run(ctx: click.Context, feeds: Path | None, source_name: str | None,
        source_options: tuple[str, ...], bootstrap: str | None, start: str | None,
        stop_at_end: bool, out: Path, workers: int, processes: int,
        recovery_dir: Path | None, read_damaged: bool, horizon_months: int | None, scores: bool,
        top: int, no_deliver: bool, deliver_wait: float | None,
        fail_on_delivery_failure: bool, ops_port: int | None, ops_host: str) -> None:
    """Run the monitor over a feeds folder, a source plugin or Kafka topics; write
    warnings.jsonl, the dead letters, the watchlist, the stats and the audit log under OUT.

    \b
    Alerts are queued durably and sent by a delivery worker beside the flow (never inside
    it); the summary says how many are sent, pending and failed. Exit status 3 when every
    record was rejected; 5, before anything runs, when a feed file cannot be read whole
    (unless --read-damaged).

    \b
    Examples:
      creditradar run --feeds feeds/ --out out/
      creditradar run --feeds feeds/ --out out/ --processes 2 --recovery-dir state/
      creditradar run --kafka localhost:9092 --out out/ --stop-at-end
      creditradar run --kafka kafka:9092 --out out/ --no-deliver --ops-port 9464
    """
    from flows.cluster import run_job
    from flows.job import Job, SourceSpec
    from flows.run import format_concentration, watchlist, with_deliveries

    settings = _settings(ctx)
    alerts_update: dict[str, Any] = {}
    if no_deliver:
        alerts_update["deliver_during_run"] = False
    if deliver_wait is not None:
        alerts_update["deliver_wait_seconds"] = deliver_wait
    if alerts_update:
        settings = settings.model_copy(
            update={"alerts": settings.alerts.model_copy(update=alerts_update)})
    if horizon_months is not None:
        settings = settings.model_copy(update={"horizon_months": horizon_months})
    if recovery_dir is not None:
        settings = settings.with_recovery_directory(recovery_dir)
    chosen = [name for name, given in (("--feeds", feeds), ("--source", source_name),
                                       ("--kafka", bootstrap)) if given]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --feeds DIR, --source NAME or --kafka HOST")
    _refuse_options_of_other_sources(chosen[0], start=start, stop_at_end=stop_at_end,
                                     source_options=source_options, read_damaged=read_damaged)
    if bootstrap is not None:
        source = SourceSpec("kafka", {"bootstrap": bootstrap, "start": start or "beginning",
                                      "stop_at_end": stop_at_end})
    elif source_name is not None:
        options = _options(source_options)
        source = SourceSpec("plugin", {"name": source_name, "options": options})
    else:
        if not feed_files(feeds):  # type: ignore[arg-type]
            raise click.ClickException(f"no feed files ({FEED_NAMING}) in {feeds}")
        for name, why in ignored_entries(feeds):  # type: ignore[arg-type]
            log.warning("run.unknown_file", file=name, why=why)
            click.echo(f"ignored {name}: {why}", err=True)
        if not read_damaged and damaged(feeds, remedy=(  # type: ignore[arg-type]
                ", or pass --read-damaged to read what can be read (the outputs would lack "
                "its later records)")):
            ctx.exit(EXIT_UNREADABLE_INPUT)
        source = SourceSpec("folder", {"path": str(feeds)})
    job = Job(settings, source, out, scores=scores, workers=workers, processes=processes)
    ops = _start_ops(settings, ops_host, ops_port)
    try:
        try:
            ran = run_job(job)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the end of a live run
            live = bootstrap is not None and not stop_at_end
            log.info("run.stopped", out=str(out), live=live)
            click.echo(_stopped(out, settings), err=True)
            ctx.exit(0 if live else STOPPED)
        summary = with_deliveries(ran, settings)
    except Exception as exc:  # a plugin's error may quote its options: they are hidden
        line = error_line(exc, hidden=job.option_values())
        if line is None:
            raise
        raise click.ClickException(line) from None
    finally:
        if ops is not None:
            ops.stop()
    log.info("run.done", **summary.to_json())
    click.echo(format_summary(summary.to_json()))
    if top:
        click.echo(format_watchlist(watchlist(out, top)))
        click.echo(format_concentration(out))
    if summary.read and not summary.accepted:
        click.echo(f"every record was rejected: see {out / 'deadletter.jsonl'}", err=True)
        ctx.exit(EXIT_ALL_REJECTED)
    if summary.rejected_by_reason.get("unreadable_file"):
        click.echo(f"{summary.rejected_by_reason['unreadable_file']} input(s) could not be "
                   f"read whole (unreadable_file, see {out / 'deadletter.jsonl'}): the "
                   "outputs lack their records after the break, and open invoices may have "
                   "aged without their payments; repair the input and run again", err=True)
        ctx.exit(EXIT_UNREADABLE_INPUT)
    if fail_on_delivery_failure and summary.deliveries and summary.deliveries["failed"]:
        click.echo(f"{summary.deliveries['failed']} deliveries failed: see `creditradar "
                   "alerts status` and `alerts deliver --retry-failed`", err=True)
        ctx.exit(EXIT_DELIVERY_FAILED)


def _refuse_options_of_other_sources(source: str, *, start: str | None, stop_at_end: bool,
                                     source_options: tuple[str, ...],
                                     read_damaged: bool) -> None:
    """Options that only one source reads are refused with the others, where they would be
    silently ignored (a run of a folder given ``--from 2023-01-01`` would read it all)."""
    given = {"--kafka": [name for name, value in (("--from", start is not None),
                                                   ("--stop-at-end", stop_at_end)) if value],
             "--source": ["--source-option"] if source_options else [],
             "--feeds": ["--read-damaged"] if read_damaged else []}
    for owner, names in given.items():
        if names and source != owner:
            verb = "apply" if len(names) > 1 else "applies"
            raise click.UsageError(f"{' and '.join(names)} {verb} to {owner} only, not to "
                                   f"{source}")


def _stopped(out: Path, settings: Settings) -> str:
    """What a stopped run leaves, in one line."""
    sealed = ", its audit log sealed there" if settings.audit.enabled else ""
    again = ("; the same command goes on from there" if settings.recovery.directory else
             "; without --recovery-dir, the same command starts afresh")
    return (f"stopped: {out} holds what the run wrote up to where it stopped{sealed} (the "
            f"watchlist and the files' final order come when a run ends){again}")


def _start_ops(settings: Settings, host: str, port: int | None) -> Any:
    """The operations server of a run, when a port is given."""
    if port is None:
        return None
    from flows.alerts_cli import serve_ops
    from flows.ops import registry_for

    alerts = settings.alerts if settings.alerts.channels else None
    state = settings.state_dir if alerts else None
    return serve_ops(host, port, registry_for(state), ready=lambda: True, alerts=alerts,
                     state_dir=state, audit=settings.audit)


def _options(texts: tuple[str, ...]) -> dict[str, str]:
    """The ``-o KEY=VALUE`` options of a source plugin; a key given twice is refused (the
    last would silently win)."""
    options: dict[str, str] = {}
    for key, value in map(_option, texts):
        if key in options:
            raise click.BadParameter(f"{key} is given twice", param_hint="--source-option")
        options[key] = value
    return options


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--source-option")
    return key, value


@cli.command()
@click.option("--out", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Output folder of a finished run.")
@click.option("--outcomes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True)
def backtest(out: Path, outcomes: Path) -> None:
    """How many defaulters a finished run warned, how early, and how many false alarms.

    \b
    Example:
      creditradar backtest --out out/ --outcomes feeds/outcomes.jsonl
    """
    from flows.backtest import backtest as score_run
    from flows.jsonl import BACKTEST, require_outputs
    from flows.run import WARNINGS, WATCHLIST

    require_outputs(out, WARNINGS, WATCHLIST)
    result = score_run(out, outcomes)
    click.echo("\n".join(result.lines()))
    (out / BACKTEST).write_text(json.dumps(result.to_json(), indent=2) + "\n")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="demo-output",
              show_default=True)
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--months", type=click.IntRange(1, 1200), default=36, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=7, show_default=True)
@click.pass_context
def demo(ctx: click.Context, out: Path, customers: int, months: int, seed: int) -> None:
    """Simulate a portfolio and monitor it end to end, delivering to loopback channels.

    \b
    Example:
      creditradar demo --customers 500 --months 24
    """
    from flows.demo import run_demo

    def simulating(total: int) -> Any:
        return _progress(total, "customers", "simulate")

    summary = run_demo(_settings(ctx), out, customers, months, seed, simulating)
    click.echo(f"\n{format_summary(summary.to_json())}")


@cli.group("config")
def config_group() -> None:
    """Inspect the effective configuration.

    \b
    Example:
      creditradar --config creditradar.toml config show
    """


@config_group.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective settings (defaults, file, environment) with secrets redacted.

    \b
    Example:
      CREDITRADAR_HORIZON_MONTHS=6 creditradar --config creditradar.toml config show
    """
    click.echo(json.dumps(redacted(_settings(ctx)), indent=2, default=str))


def format_summary(summary: dict[str, Any]) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in summary["rejected_by_reason"].items()) or "none"
    check = "counts add up" if summary["balanced"] else "COUNTS DO NOT ADD UP"
    text = (
        f"read {summary['read']}  accepted {summary['accepted']}  rejected {summary['rejected']}"
        f"  duplicates {summary['duplicates']}  warnings {summary['warnings']}"
        f"  defaults seen {summary['defaults_seen']}  ({check})\nrejected by reason: {reasons}"
    )
    deliveries = summary.get("deliveries")
    if deliveries is not None:
        text += (f"\nalerts: delivered {deliveries['sent']}  pending {deliveries['pending']}"
                 f"  failed {deliveries['failed']}")
        if deliveries["pending"]:
            text += "  (`creditradar alerts deliver` sends the pending)"
        if deliveries["failed"]:
            text += "  (`creditradar alerts deliver --retry-failed` tries the failed again)"
    return text


def format_watchlist(rows: list[dict[str, Any]]) -> str:
    """The watchlist as a fixed-width table, the top reason by its plain-language label; ids
    and names come from feeds, so they are escaped for the terminal."""
    from connectors.channels.escape import for_terminal
    from detectors.features import label

    header = f"{'rank':>4}  {'customer':<12} {'name':<32} {'grade':<5} {'pd':>7}  top reason"
    lines = [header, "-" * len(header)]
    for row in rows:
        reason = row["top_reason"]
        lines.append(
            f"{row['rank']:>4}  {for_terminal(row['customer_id']):<12} "
            f"{for_terminal(row['name'] or '')[:32]:<32} "
            f"{row['grade']:<5} {row['pd']:>7.2%}  {label(reason) if reason else ''}"
        )
    return "\n".join(lines)


@cli.group("schema")
def schema_group() -> None:
    """The published JSON Schemas: every feed of the contract and the warning record.

    \b
    Example:
      creditradar schema export --out schemas/
    """


@schema_group.command("export")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for one <name>.schema.json per feed and record.")
def schema_export(out: Path) -> None:
    """Write JSON Schema (draft 2020-12) for every feed of the contract,
    the warning record, and the ERP action command, generated from the models the monitor
    validates with.

    \b
    Example:
      creditradar schema export --out schemas/
    """
    from flows.schemas import export_schemas

    for path in export_schemas(out):
        click.echo(str(path))


_EXAMPLES = {
    replay_command: ["creditradar replay --log out/audit --out replay/",
                     "creditradar replay --log out/audit --out replay/ --until 2022-03-15"],
    explain_command: ["creditradar explain C000053 --as-of 2021-06-10 --log out/audit"],
    evaluate_command: ["creditradar evaluate --feeds feeds/ --report report/"],
    check_command: ["creditradar check C000034 --amount 25000 --terms 60 --out out/"],
    limits_command: ["creditradar limits --out out/ --terms 60 --top 20"],
    rates_command: ["creditradar rates eurofxref-hist.csv --out feeds/fx.jsonl"],
    collections_command: ["creditradar collections --out out/ --top 20"],
    users: ["creditradar users add anna --role analyst --out out/",
            "creditradar users list --out out/"],
    users.commands["list"]: ["creditradar users list --out out/"],
}
"""Examples of commands whose help is written elsewhere, shown under their help."""
for _command, _lines in _EXAMPLES.items():
    _command.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in _lines)

cli.add_command(alerts)
cli.add_command(audit)
cli.add_command(replay_command)
cli.add_command(explain_command)
cli.add_command(evaluate_command)
cli.add_command(check_command)
cli.add_command(limits_command)
cli.add_command(collections_command)
cli.add_command(rates_command)
cli.add_command(evaluate_news_command)
cli.add_command(learn_news_command)
cli.add_command(serve_command)
cli.add_command(users)


def _short_help_everywhere(command: click.Command) -> None:
    """``-h`` on every command, also when one is invoked on its own (click keeps the help
    option a command built first)."""
    command.context_settings.setdefault("help_option_names", CONTEXT["help_option_names"])
    for sub in getattr(command, "commands", {}).values():
        _short_help_everywhere(sub)


_short_help_everywhere(cli)


def main() -> None:
    """Entry point of the ``creditradar`` script."""
    cli(obj={})


if __name__ == "__main__":
    main()
