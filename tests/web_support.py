"""Real parts for the workspace's tests: a PostgreSQL server and a headless Chromium from
Debian's packages (installed by the test session when missing, as the Kafka harness fetches
its broker), the workspace served by uvicorn on loopback, an ERP endpoint that records what
it is sent, and an HTTP client that signs in like a browser.

PostgreSQL refuses to run as root, so :class:`PostgresServer` runs ``initdb`` and ``pg_ctl``
as the ``postgres`` system user the package creates, in a fresh folder, on a free loopback
port, with the socket in that folder; it is stopped and removed at the end of the session.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from connectors.channels.loopback import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
APT_TIMEOUT_S = 900
_apt_updated = False


class HarnessError(RuntimeError):
    """A real part of the test set-up could not be installed or started."""


def ensure_package(path_glob: str, package: str) -> str:
    """The first file matching ``path_glob``, installing Debian's ``package`` when none does."""
    global _apt_updated
    found = sorted(glob.glob(path_glob))
    if found:
        return found[-1]
    if shutil.which("apt-get") is None:
        raise HarnessError(f"{package} is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env,
                       timeout=APT_TIMEOUT_S, capture_output=True)
        _apt_updated = True
    done = subprocess.run(["apt-get", "install", "-y", "-q", package], env=env,
                          timeout=APT_TIMEOUT_S, capture_output=True, text=True)
    found = sorted(glob.glob(path_glob))
    if done.returncode != 0 or not found:
        raise HarnessError(f"apt-get install {package} failed: {done.stderr[-2000:]}")
    return found[-1]


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1."""

    def __init__(self) -> None:
        initdb = ensure_package("/usr/lib/postgresql/*/bin/initdb", "postgresql")
        self.bin = Path(initdb).parent
        self.root = Path(tempfile.mkdtemp(prefix="creditradar-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C"])
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                   "-t", "60", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} "
                   "-c fsync=off -c full_page_writes=off", "start"])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def database(self, name: str) -> str:
        """A new, empty database on the server; its URL."""
        self._run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", "postgres", name])
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.data.exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                       "-w", "stop"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, command: list[str], check: bool = True) -> None:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=self.root)
        if check and done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise HarnessError(f"{' '.join(command)} failed: {done.stderr[-2000:]}\n{log}")


class ServedWorkspace:
    """The workspace's ASGI application served by uvicorn on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=1, lifespan="on",
                                proxy_headers=False)  # as `creditradar serve` runs it
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise HarnessError("the workspace server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ErpReceiver:
    """An HTTP endpoint on loopback that records each posted action (a CloudEvent) with its
    headers and raw body, and answers ``status`` (200 unless a test changes it)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers["Content-Length"])
                raw = self.rfile.read(length)
                receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                          "raw": raw.decode("utf-8"),
                                          "body": json.loads(raw)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Keep the output quiet."""

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Client:
    """An HTTP client that keeps cookies as a browser on 127.0.0.1 does (Secure ones too)
    and reads the CSRF token off the pages."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = dict(options.pop("headers", {}) or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **options)
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)

    def csrf(self, path: str = "/watchlist") -> str:
        """The CSRF token of the signed-in session, read from a page's forms."""
        return csrf_of(self.get(path).text)

    def sign_in(self, username: str, password: str) -> httpx.Response:
        token = csrf_of(self.get("/login").text)
        return self.post("/login", data={"csrf": token, "username": username,
                                         "password": password, "next": "/watchlist"})

    def close(self) -> None:
        self.http.close()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise AssertionError("the page has no form with a CSRF token")
    return found.group(1)


# ---------------------------------------------------------------------------- a hostile book

ISSUE_HOSTILE = ('<svg onload=alert(1)>', '<img src=x onerror="alert(1)">',
                 'javascript:alert(1)', '<a href="javascript:alert(1)">x</a>', "\u2028",
                 "\u202eevil", "\u001b[2J\u001b]0;pwned\u0007", "</title><script>alert(1)//")
"""Hostile text beyond `mutations.hostile_book`'s dress: markup, script links, a line
separator, a right-to-left override and terminal escapes."""
POSING_TAG = 'x", "corporate'
"""A tag whose text holds another desk's tag as the JSON list of tags spells it: every third
customer of the sme desk carries it, and is no customer of the corporate desk for that."""
BOOK_CUSTOMERS, BOOK_MONTHS, BOOK_SEED = 120, 24, 5
SECRETS = {"channel": "chan-SECRET-pw", "erp": "erp-SECRET-token", "hmac": "audit-SECRET-key",
           "signing": "whsec_V2ViU0VDUkVUc2lnbmluZ2tleTEyMzQ1Njc4"}
"""Secrets the tests' configuration holds; no page may ever show one."""


def hostile_feeds(root: Path) -> Path:
    """A small simulated book whose every customer name and news text is hostile, and some
    of whose customers carry a tag posing as another desk's (`POSING_TAG`)."""
    from mutations import hostile_book

    from connectors.simulator import simulate

    clean, feeds = root / "clean", root / "feeds"
    simulate(BOOK_CUSTOMERS, BOOK_MONTHS, BOOK_SEED, clean)
    hostile_book(clean, feeds, seed=BOOK_SEED)
    renamed: dict[str, str] = {}

    def customer(record: dict[str, Any]) -> None:
        number = int(re.sub(r"\D", "", record["customer_id"]) or 0)
        dressed = record["name"] + " " + ISSUE_HOSTILE[number % len(ISSUE_HOSTILE)]
        renamed[record["name"]] = record["name"] = dressed
        if "sme" in record.get("tags", []) and number % 3 == 0:
            record["tags"] = [*record["tags"], POSING_TAG]

    def news(record: dict[str, Any]) -> None:  # news names its company as the customer is
        if record.get("company_name") in renamed:
            record["company_name"] = renamed[record["company_name"]]

    for name, dress in (("customers.jsonl", customer), ("news.jsonl", news)):
        path = feeds / name
        lines = []
        for line in path.read_bytes().split(b"\n"):  # LF only: names hold U+2028
            if line.strip():
                record = json.loads(line)
                dress(record)
                lines.append(json.dumps(record, ensure_ascii=False))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return feeds


def web_settings(state_dir: Path, erp_port: int, **workspace: Any) -> Any:
    """Settings with two desks routed by portfolio tags (sme, corporate), an ERP action
    endpoint on ``erp_port`` (a signed webhook), secrets in the channel URLs, the signing
    secret and the audit key, and the workspace's own options."""
    from config.settings import Settings

    url = f"json://desk:{SECRETS['channel']}@127.0.0.1:9/hook"
    return Settings.model_validate({
        "state_dir": state_dir,
        "audit": {"hmac_key": SECRETS["hmac"]},
        "alerts": {
            "channels": {
                "sme-mail": url, "corp-mail": url,
                "erp": {"url": f"webhook://127.0.0.1:{erp_port}/actions/{SECRETS['erp']}",
                        "signing_secret": SECRETS["signing"], "backoff_seconds": 0.2,
                        "backoff_max_seconds": 0.5, "timeout_seconds": 5, "max_attempts": 20}},
            "actions": {"endpoints": ["erp"], "from_warnings": False},
            "receivers": {"sme-desk": ["sme-mail"], "corporate-desk": ["corp-mail"]},
            "route": {"routes": [
                {"match": {"tags": ["sme"]}, "receiver": "sme-desk"},
                {"match": {"tags": ["corporate"]}, "receiver": "corporate-desk"}]},
        },
        "workspace": {"poll_seconds": 0.2, **workspace},
    })


PEOPLE = {"alice": ("analyst", "sme-desk"), "bob": ("approver", "sme-desk"),
          "carol": ("analyst", "corporate-desk"), "dave": ("analyst", "sme-desk"),
          "audrey": ("auditor", None), "root": ("admin", None)}


def password_of(username: str) -> str:
    return f"pw-{username}-long-enough"


def add_people(store: Any) -> None:
    from web.auth import add_user

    for name, (role, desk) in PEOPLE.items():
        add_user(store, name, password_of(name), role, desk)


@pytest.fixture(scope="session")
def web_feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile book's feed files (shared by the workspace's test modules)."""
    return hostile_feeds(tmp_path_factory.mktemp("web-book"))


@pytest.fixture(scope="session")
def web_run(web_feeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the hostile book with scores and its audit log: its output folder."""
    from flows.run import run_folder

    out = tmp_path_factory.mktemp("web-run") / "out"
    settings = web_settings(out.parent / "state", free_port())
    run_folder(settings, web_feeds, out, scores=True, notify=False)
    return out


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server from Debian's packages, for the session."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()
