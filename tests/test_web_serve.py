"""``creditradar serve`` as the desk starts it: a real process in the background on a
finished run. Its ``--stop`` signals only the process it started, a background start on a
port another server holds fails, and a client's ``X-Forwarded-For`` header is not taken for
its address."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import Client, alive, csrf_of

from connectors.audit import read_log
from connectors.channels.loopback import free_port
from flows.cli import cli
from web.background import PID_FILE


@dataclass
class Background:
    """A workspace started with ``serve --background``: its port, process and data folder."""

    port: int
    pid: int
    data: Path
    command: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve_command(root: Path, out: Path, port: int) -> list[str]:
    """``creditradar serve`` on ``out`` and ``port``, with its data folder under ``root``."""
    config = root / "creditradar.toml"
    config.write_text(f'state_dir = {json.dumps(str(root / "state"))}\n\n[workspace]\n'
                      f'data_dir = {json.dumps(str(root / "data"))}\nsecure_cookies = false\n')
    return [sys.executable, "-c", "from flows.cli import main; main()", "--config",
            str(config), "serve", "--out", str(out), "--port", str(port), "--no-deliver"]


def start_background(root: Path, out: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*serve_command(root, out, port), "--background"],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def background(web_run: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Background]:
    root = tmp_path_factory.mktemp("ws-serve")
    port = free_port()
    started = start_background(root, web_run, port)
    assert started.returncode == 0, started.stderr
    pid = int(re.search(r"\(process (\d+),", started.stdout).group(1))
    served = Background(port, pid, root / "data", serve_command(root, web_run, port))
    try:
        yield served
    finally:
        subprocess.run([*served.command, "--stop"], capture_output=True, timeout=60)


def test_the_health_check_names_the_process_that_answers(background: Background) -> None:
    with urllib.request.urlopen(f"{background.url}/healthz", timeout=10) as answer:
        assert json.loads(answer.read())["pid"] == background.pid
    pid_file = (background.data / PID_FILE).read_text().split()
    assert int(pid_file[0]) == background.pid and len(pid_file) == 2  # and its start time


def test_a_forwarded_for_header_is_not_the_clients_address(background: Background) -> None:
    """A client that sends ``X-Forwarded-For`` is recorded (and rate-limited) under the
    address it connects from, not the one it names."""
    client = Client(background.url)
    try:
        token = csrf_of(client.get("/login").text)
        failed = client.post("/login", data={"csrf": token, "username": "mallory",
                                             "password": "not-the-password"},
                             headers={"x-forwarded-for": "203.0.113.9"})
    finally:
        client.close()
    assert failed.status_code == 401
    [record] = [r for r in read_log(background.data / "audit")
                if r.kind == "sign_in_failed" and r.body["username"] == "mallory"]
    assert record.body["client"] == "127.0.0.1"


def test_a_background_start_on_a_port_another_server_holds_fails(
        background: Background, web_run: Path, tmp_path: Path) -> None:
    """The server already on the port answers ``/healthz``, but it is not the process just
    started: the start fails naming that process's log, and leaves no ``serve.pid``."""
    second = start_background(tmp_path, web_run, background.port)
    log = tmp_path / "data" / "serve.log"
    assert second.returncode == 1, second.stdout
    assert f"did not start; see {log}" in second.stderr
    assert "address already in use" in log.read_text()
    assert not (tmp_path / "data" / PID_FILE).exists()
    with urllib.request.urlopen(f"{background.url}/healthz", timeout=10) as answer:
        assert json.loads(answer.read())["pid"] == background.pid  # the first still serves


@pytest.mark.parametrize("started", [None, "123"])
def test_stop_signals_no_process_a_stale_pid_file_names(tmp_path: Path,
                                                        started: str | None) -> None:
    """A ``serve.pid`` naming another process (its id alone, as written by hand or by an
    earlier version, or with another start time) is removed; the process lives on."""
    other = subprocess.Popen(["sleep", "300"])
    try:
        folder = tmp_path / "out" / "workspace"
        folder.mkdir(parents=True)
        (folder / PID_FILE).write_text(f"{other.pid}\n" + (f"{started}\n" if started else ""))
        done = CliRunner().invoke(cli, ["serve", "--out", str(tmp_path / "out"), "--stop"])
        assert done.exit_code == 0, done.output
        assert "no workspace runs" in done.output
        time.sleep(0.2)
        assert other.poll() is None and alive(other.pid)
        assert not (folder / PID_FILE).exists()
    finally:
        other.kill()
        other.wait(timeout=10)


def test_stop_ends_the_workspace_it_started(web_run: Path, tmp_path: Path) -> None:
    """Stopped while a live page's event stream was open, the server cancelled the stream
    after its graceful shutdown's timeout and logged the cancellation's traceback."""
    import threading

    port = free_port()
    command = serve_command(tmp_path, web_run, port)
    added = subprocess.run([*command[:command.index("serve")], "users", "add", "erin", "--role",
                            "analyst", "--out", str(web_run), "--password-stdin"],
                           input="a-long-password\n", capture_output=True, text=True,
                           timeout=120)
    assert added.returncode == 0, added.stderr
    started = start_background(tmp_path, web_run, port)
    assert started.returncode == 0, started.stderr
    pid = int(re.search(r"\(process (\d+),", started.stdout).group(1))
    client = Client(f"http://127.0.0.1:{port}")
    assert client.sign_in("erin", "a-long-password").status_code == 303
    streaming = threading.Event()

    def listen() -> None:
        with client.http.stream("GET", "/events", headers={"cookie": "; ".join(
                f"{k}={v}" for k, v in client.cookies.items())}) as events:
            for _ in events.iter_lines():
                streaming.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        assert streaming.wait(30)
        stopped = subprocess.run([*command, "--stop"], capture_output=True, text=True,
                                 timeout=60)
        assert "workspace stopped" in stopped.stdout
        deadline = time.monotonic() + 20
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
        listener.join(10)
    finally:
        client.close()
    assert not (tmp_path / "data" / PID_FILE).exists() and os.path.exists(tmp_path / "data")
    log = (tmp_path / "data" / "serve.log").read_text()
    assert "Traceback" not in log and "CancelledError" not in log, log[-2000:]
