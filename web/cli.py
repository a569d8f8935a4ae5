"""``creditradar serve`` and ``creditradar users``: start the workspace on a run's output
folder, and manage its accounts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from config.errors import CreditRadarError
from config.settings import Settings
from web.roles import ROLES

if TYPE_CHECKING:
    from web.db import Store

_OUT = click.Path(file_okay=False, path_type=Path)
_PEM = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _settings(ctx: click.Context, state_dir: Path | None = None) -> Settings:
    settings: Settings = ctx.obj["settings"]
    if state_dir is not None:
        settings = settings.model_copy(update={"state_dir": state_dir})
    return settings


@click.command("serve")
@click.option("--out", type=_OUT, required=True,
              help="The monitor's output folder (running or finished).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--state-dir", type=_OUT, default=None,
              help="The notifier's state folder (acks and silences); default: the settings'.")
@click.option("--deliver/--no-deliver", default=True, show_default=True,
              help="Run a delivery worker for approved ERP actions (off when `creditradar "
                   "alerts deliver --daemon` runs beside it).")
@click.option("--background", is_flag=True,
              help="Start it as a process of its own, print its address and return "
                   "(stop it with `creditradar serve --out OUT --stop`).")
@click.option("--stop", "stop_it", is_flag=True,
              help="Stop the workspace that --background started for OUT.")
@click.option("--certfile", type=_PEM, default=None,
              help="Serve HTTPS with this PEM certificate (chain); needs --keyfile.")
@click.option("--keyfile", type=_PEM, default=None,
              help="The certificate's private key (PEM, not encrypted); needs --certfile.")
@click.pass_context
def serve_command(ctx: click.Context, out: Path, host: str, port: int,
                  state_dir: Path | None, deliver: bool, background: bool,
                  stop_it: bool, certfile: Path | None, keyfile: Path | None) -> None:
    """Start the risk desk's workspace on OUT: the live watchlist, customers, cases with
    four-eyes approval, the alert inbox, the portfolio and the auditor's view.

    \b
    Example:
      creditradar users add alice --role analyst --out out/
      creditradar serve --out out/ --port 8080
      creditradar serve --out out/ --background    (then: --stop)
      creditradar serve --out out/ --host 0.0.0.0 --certfile cert.pem --keyfile key.pem
    """
    from web.workspace import DATA, Workspace

    settings = _settings(ctx, state_dir)
    tls = _check_tls(certfile, keyfile) if not stop_it else False
    if tls and not settings.workspace.secure_cookies:
        # over HTTPS the cookies are always Secure: never send the session in the clear
        click.echo("serving HTTPS: cookies are marked Secure although "
                   "workspace.secure_cookies is off", err=True)
        workspace_settings = settings.workspace.model_copy(update={"secure_cookies": True})
        settings = settings.model_copy(update={"workspace": workspace_settings})
    if stop_it or background:
        _in_background(ctx, out, host, port, state_dir, deliver, stop_it,
                       settings.workspace.data_dir or out / DATA,
                       (certfile, keyfile) if tls else None)
        return
    try:
        workspace = Workspace.create(settings, out)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    if not workspace.store.all_users():
        click.echo("No accounts yet: add one with `creditradar users add NAME --role admin "
                   f"--out {out}`.", err=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.workspace.secure_cookies:
        raise click.ClickException("refusing to serve beyond this machine with "
                                   "workspace.secure_cookies off")
    scheme = "https" if tls else "http"
    click.echo(f"CreditRadar workspace on {scheme}://{host}:{port}/ (following {out}); "
               "stop it with Ctrl+C")
    import uvicorn

    from web.app import build_app

    # proxy_headers off: X-Forwarded-For from any client (a local one too) would otherwise
    # stand in for the address the sign-in limit counts and the audit log records
    config = uvicorn.Config(
        build_app(workspace, deliver=deliver), host=host, port=port, log_level="warning",
        timeout_graceful_shutdown=2, server_header=False, proxy_headers=False,
        ssl_certfile=str(certfile) if tls else None, ssl_keyfile=str(keyfile) if tls else None)
    server = uvicorn.Server(config)
    exit_as_uvicorn = server.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:
        """Asked to stop: the live pages' event streams end within a tick, rather than
        being cancelled after the graceful shutdown's timeout (a traceback in serve.log)."""
        workspace.closing = True
        exit_as_uvicorn(sig, frame)

    server.handle_exit = handle_exit  # type: ignore[method-assign]
    server.run()


def _check_tls(certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether to serve HTTPS: both files given (True) or neither (False). Loads them once, so
    that a wrong file is a usage error naming the option rather than a traceback at start-up;
    the messages name the files and OpenSSL's reason, never their contents."""
    import ssl

    if certfile is None and keyfile is None:
        return False
    if keyfile is None:
        raise click.BadOptionUsage("certfile", "--certfile needs --keyfile (the certificate's "
                                   "private key) to serve HTTPS")
    if certfile is None:
        raise click.BadOptionUsage("keyfile", "--keyfile needs --certfile (the certificate) "
                                   "to serve HTTPS")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_passphrase)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"the key in {keyfile} does not belong to the certificate in {certfile}"
        else:
            problem = (f"cannot use {certfile} as a PEM certificate with {keyfile} as its "
                       "PEM private key (not encrypted)"
                       + (f" ({exc.reason})" if exc.reason else ""))
        raise click.BadParameter(problem, param_hint="'--certfile' / '--keyfile'") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot read {exc.filename or certfile}: {exc.strerror}",
                                 param_hint="'--certfile' / '--keyfile'") from None
    return True


def _no_passphrase() -> bytes:
    # an encrypted key fails to load instead of prompting on the terminal for its passphrase
    return b""


def _in_background(ctx: click.Context, out: Path, host: str, port: int,
                   state_dir: Path | None, deliver: bool, stop_it: bool, folder: Path,
                   tls: tuple[Path, Path] | None) -> None:
    from web import background

    if stop_it:
        stopped = background.stop(folder)
        click.echo("workspace stopped" if stopped else f"no workspace runs for {out}")
        return
    config = ctx.find_root().params.get("config_path")
    arguments = [*(["--config", str(config)] if config else []), "serve", "--out", str(out),
                 "--host", host, "--port", str(port),
                 *(["--state-dir", str(state_dir)] if state_dir else []),
                 "--deliver" if deliver else "--no-deliver",
                 *(["--certfile", str(tls[0].resolve()), "--keyfile", str(tls[1].resolve())]
                   if tls else [])]
    try:
        pid = background.start(arguments, folder, host, port, https=tls is not None)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    scheme = "https" if tls else "http"
    click.echo(f"CreditRadar workspace on {scheme}://{host}:{port}/ (process {pid}, following "
               f"{out}); stop it with `creditradar serve --out {out} --stop`")


@click.group("users")
def users() -> None:
    """Accounts of the workspace (stored in its database)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="analyst, approver, auditor (read-only) or admin.")
@click.option("--desk", default=None,
              help="The desk (a receiver of the alert routing) whose portfolio the user "
                   "sees; without it, the whole book.")
@click.option("--out", type=_OUT, required=True,
              help="The run's output folder the workspace serves (its data is kept there).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of asking for it.")
@click.pass_context
def add_command(ctx: click.Context, username: str, role: str, desk: str | None, out: Path,
                password_stdin: bool) -> None:
    """Add an account, or reset its password, role and desk (its sessions end).

    \b
    Example:
      creditradar users add bob --role approver --desk credit-desk --out out/
      printf '%s\\n' "$PASSWORD" | creditradar users add ci --role auditor --out out/ \\
          --password-stdin
    """
    settings = _settings(ctx)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from web.auth import add_user
    from web.desks import check_desk
    from web.workspace import open_store

    try:
        check_desk(settings.alerts, desk)
        store = open_store(settings, out)
        try:
            existed = store.user(username) is not None
            add_user(store, username, password, role, desk)
        finally:
            store.close()
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit_account(settings, out, "account_changed" if existed else "account_added", username,
                   {"role": role, "desk": desk, "password_set": True})
    click.echo(f"{username}: {role}" + (f" on desk {desk}" if desk else " (whole book)"))


def _audit_account(settings: Settings, out: Path, kind: str, username: str,
                   body: dict[str, object]) -> None:
    """Record an account change in the workspace's audit log (never a password or hash),
    by the operating-system user who ran the command."""
    import getpass

    from web.workspace import open_trail

    open_trail(settings, out).record(kind, username, {"username": username, **body},
                                     by=f"cli:{getpass.getuser()}")


@users.command("disable")
@click.argument("username")
@click.option("--out", type=_OUT, required=True)
@click.pass_context
def disable_command(ctx: click.Context, username: str, out: Path) -> None:
    """Disable an account: it can no longer sign in, and its sessions end.

    \b
    Example:
      creditradar users disable bob --out out/
    """
    _set_disabled(ctx, username, out, True)


@users.command("enable")
@click.argument("username")
@click.option("--out", type=_OUT, required=True)
@click.pass_context
def enable_command(ctx: click.Context, username: str, out: Path) -> None:
    """Enable a disabled account again.

    \b
    Example:
      creditradar users enable bob --out out/
    """
    _set_disabled(ctx, username, out, False)


def _set_disabled(ctx: click.Context, username: str, out: Path, disabled: bool) -> None:
    from web.auth import set_disabled

    settings = _settings(ctx)
    try:
        store = _existing_store(settings, out)
        try:
            set_disabled(store, username, disabled)
        finally:
            store.close()
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit_account(settings, out, "account_disabled" if disabled else "account_enabled",
                   username, {})
    click.echo(f"{username}: {'disabled' if disabled else 'enabled'}")


@users.command("list")
@click.option("--out", type=_OUT, required=True)
@click.pass_context
def list_command(ctx: click.Context, out: Path) -> None:
    """List the accounts (never their password hashes)."""
    try:
        store = _existing_store(_settings(ctx), out)
    except CreditRadarError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        for row in store.all_users():
            state = " (disabled)" if row["disabled"] else ""
            click.echo(f"{row['username']:<20} {row['role']:<9} "
                       f"{row['desk'] or 'whole book'}{state}")
    finally:
        store.close()


def _existing_store(settings: Settings, out: Path) -> Store:
    """The workspace's database for a command that only reads or changes accounts; refuses
    where no workspace was made yet, since opening the default SQLite database creates it:
    a mistyped ``--out`` would silently leave a new, empty workspace behind. Only ``users
    add``, ``users demo`` and ``serve`` make one.

    A configured database (``workspace.database``) is not in the folder and is opened as
    it is: its accounts are the same whatever ``--out`` says.
    """
    from web.workspace import DB_FILE, data_dir, open_store

    database = data_dir(settings, out) / DB_FILE
    if settings.workspace.database is None and not database.is_file():
        raise click.ClickException(
            f"no workspace in {out} yet ({database} does not exist): `creditradar users add` "
            "or `users demo` makes one, as does `creditradar serve`")
    return open_store(settings, out)


@users.command("demo")
@click.option("--out", type=_OUT, required=True)
@click.pass_context
def demo_accounts(ctx: click.Context, out: Path) -> None:
    """Create (or reset) three demo accounts with fresh random passwords, and print them:
    demo-analyst, demo-approver and demo-auditor, each seeing the whole book.

    \b
    Example:
      creditradar users demo --out out/
    """
    import secrets

    from web.auth import add_user
    from web.workspace import open_store

    store = open_store(_settings(ctx), out)
    try:
        for role in ("analyst", "approver", "auditor"):
            password = secrets.token_urlsafe(12)
            add_user(store, f"demo-{role}", password, role)
            click.echo(f"  sign in as demo-{role:<9} password {password}")
    finally:
        store.close()
