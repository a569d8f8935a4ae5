"""``creditradar audit``: ``init`` the anchor key, ``verify`` the log, ``export`` a warning,
and list the ``models`` that held the book.

Exit status of ``verify``: 0 intact (and authenticated, unless ``--allow-unauthenticated``),
1 not intact, 2 intact but the anchors could not be authenticated (no key).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from config.audit import create_key_file, default_key_file
from config.errors import CreditRadarError
from connectors.audit import verify_log
from connectors.audit.verify import check_log_directory
from connectors.channels.escape import for_json, for_terminal

EXIT_NOT_INTACT = 1
EXIT_UNAUTHENTICATED = 2


def anchor_key(ctx: click.Context, key_env: str | None) -> bytes | None:
    """The anchor key: from the loaded settings when they hold one, else from ``key_env``."""
    settings = (ctx.obj or {}).get("settings")
    audit = getattr(settings, "audit", None)
    key = None if audit is None else audit.key_bytes()
    if key is not None or key_env is None:
        return key
    value = os.environ.get(key_env)
    if not value:
        raise click.ClickException(f"environment variable {key_env} holding the audit key "
                                   "is not set")
    return value.encode("utf-8")


@contextmanager
def reading(log: Path) -> Iterator[None]:
    """Read the audit log at ``log`` in the block: a record edited to hold a field of the
    wrong type breaks a reader anywhere in it, so such an error is the log's verdict, one
    line, not a traceback (on an intact log it stays what it is: a bug)."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        if isinstance(exc, CreditRadarError):
            raise
        problem = verify_log(log, None).problem
        if problem is None:
            raise
        raise click.ClickException(f"the audit log {log} is not intact: {problem} (creditradar "
                                   "audit verify)") from None


LOG_PATH = click.Path(path_type=Path, readable=False)
"""An audit log's directory, checked by the command that reads it: one that is missing,
unreadable or a file is the reader's error, exit status 1, not click's usage error 2."""


def _log_option(**kwargs: object) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--log`` (`LOG_PATH`: exit status 2 is `verify`'s for an intact but unauthenticated
    log)."""
    return click.option(
        "--log", "log_dir", type=LOG_PATH,
        help="The audit log directory (one subdirectory per partition).", **kwargs,
    )


key_env_option = click.option(
    "--key-env", default=None, metavar="NAME",
    help="Environment variable holding the anchor HMAC key, when the settings hold none.",
)


@click.group(name="audit")
def audit() -> None:
    """Create the anchor key, check the tamper-evident audit log, export a warning, and
    list which model scored when.

    \b
    Examples:
      creditradar audit init
      creditradar audit verify --log out/audit
      creditradar audit models --log out/audit
    """


@audit.command()
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the key (default: STATE_DIR/audit.key, which runs use "
                   "without further configuration).")
@click.pass_context
def init(ctx: click.Context, key_file: Path | None) -> None:
    """Create a random anchor key, readable by its owner only (mode 0600); runs sign their
    anchors with it from now on. An existing key file is never replaced.

    \b
    Examples:
      creditradar audit init
      creditradar audit init --key-file /run/secrets/creditradar-audit.key
    """
    settings = (ctx.obj or {}).get("settings")
    path = key_file or default_key_file(Path(getattr(settings, "state_dir", ".creditradar")))
    try:
        create_key_file(path)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from None
    hint = "" if key_file is None else f" (set audit.key_file = \"{path}\" for runs to use it)"
    click.echo(f"created the audit anchor key {path}{hint}; keep a copy where the auditors "
               "can reach it")


@audit.command()
@_log_option(required=True)
@key_env_option
@click.option("--allow-unauthenticated", is_flag=True,
              help="Exit 0 for an intact log even when no key authenticates the anchors.")
@click.pass_context
def verify(ctx: click.Context, log_dir: Path, key_env: str | None,
           allow_unauthenticated: bool) -> None:
    """Check every hash, link and anchor. Exit status 0 only when the log is intact and its
    anchors were authenticated with the key; 1 when it is not intact; 2 when it is intact
    but no key was given (a forger could have rewritten it and its digests).

    \b
    Examples:
      creditradar audit verify --log out/audit
      creditradar audit verify --log out/audit --key-env CREDITRADAR_AUDIT_KEY
    """
    report = verify_log(log_dir, anchor_key(ctx, key_env))
    click.echo(report.verdict())
    if report.problem is not None:
        click.echo(f"first bad record: {report.problem}")
        ctx.exit(EXIT_NOT_INTACT)
    if not report.authenticated and not allow_unauthenticated:
        click.echo("the anchors are not authenticated: give the key (audit.hmac_key, "
                   "audit.key_file, STATE_DIR/audit.key or --key-env), or pass "
                   "--allow-unauthenticated to accept that", err=True)
        ctx.exit(EXIT_UNAUTHENTICATED)


@audit.command()
@click.argument("warning_id")
@_log_option(default=Path("out/audit"), show_default=True)
@key_env_option
@click.pass_context
def export(ctx: click.Context, warning_id: str, log_dir: Path, key_env: str | None) -> None:
    """Print WARNING_ID with its evidence events, lineage, chain position and the log's
    verdict, as one JSON document.

    \b
    Example:
      creditradar audit export w-0b6d9f8b75f76830564e --log out/audit > warning.json
    """
    from flows.explain import export_warning
    from flows.jsonl import json_document

    with reading(log_dir):
        try:
            document = export_warning(log_dir, warning_id, anchor_key(ctx, key_env),
                                      ctx.obj["settings"])
        except KeyError as exc:  # no such warning: said as it is, on any log
            raise click.ClickException(for_terminal(str(exc.args[0]))) from exc
    click.echo(json_document(document))


@audit.command()
@_log_option(default=Path("out/audit"), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the champions as JSON.")
def models(log_dir: Path, as_json: bool) -> None:
    """Which model held the book when, and why: each champion of the run, from the month
    end it took the book, with the comparison that handed it over and its latest choice,
    read from the run's models.jsonl beside the log.

    \b
    Example:
      creditradar audit models --log out/audit
    """
    import json

    from flows.choices import MODEL_CHOICES, UNREADABLE, describe, load_choices, timeline

    check_log_directory(log_dir)
    path = log_dir.parent / MODEL_CHOICES
    try:
        champions = timeline(load_choices(path))
        if as_json:  # strict JSON: a NaN of a damaged file is refused, naming the file
            click.echo(for_json(json.dumps(champions, indent=2, ensure_ascii=False,
                                           allow_nan=False)))
            return
    except UNREADABLE as exc:
        raise click.ClickException(f"{path} cannot be read: {exc!r}"[:300]) from exc
    if not path.exists():
        click.echo(f"no {path}: a run too short for any label writes none (the prior "
                   "scorecard scored it throughout); otherwise the file is missing")
    elif not champions:
        click.echo(f"no choice of model in {path}: the prior scorecard scored throughout")
    else:
        click.echo(f"champions of the run, from {path}:")
        click.echo("\n".join(f"  {for_terminal(describe(champion))}" for champion in champions))
