"""``creditradar audit``: commands for auditors: ``verify`` the log, ``export`` a warning."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click

from connectors.audit import verify_log


def _key(ctx: click.Context, key_env: str | None) -> bytes | None:
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


def _log_option(**kwargs: object) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--log", "log_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="The audit log directory (one subdirectory per partition).", **kwargs,
    )


_key_env_option = click.option(
    "--key-env", default=None, metavar="NAME",
    help="Environment variable holding the anchor HMAC key, when the settings hold none.",
)


@click.group(name="audit")
def audit() -> None:
    """Check the tamper-evident audit log."""


@audit.command()
@_log_option(required=True)
@_key_env_option
@click.pass_context
def verify(ctx: click.Context, log_dir: Path, key_env: str | None) -> None:
    """Check every hash, link and anchor; exit 0 only when the log is intact."""
    report = verify_log(log_dir, _key(ctx, key_env))
    click.echo(report.verdict())
    if report.problem is not None:
        click.echo(f"first bad record: {report.problem}")
        ctx.exit(1)


@audit.command()
@click.argument("warning_id")
@_log_option(default=Path("out/audit"), show_default=True)
@_key_env_option
@click.pass_context
def export(ctx: click.Context, warning_id: str, log_dir: Path, key_env: str | None) -> None:
    """Print WARNING_ID with its evidence events, lineage, chain position and the log's
    verdict, as one JSON document."""
    import json

    from flows.explain import export_warning

    try:
        document = export_warning(log_dir, warning_id, _key(ctx, key_env))
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
