"""``creditradar serve --background``: start the workspace as a process of its own, wait until
it answers, and say where it is and how to stop it (what ``make demo`` uses, so that the
command returns while the workspace keeps serving)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from config.errors import ConfigError

PID_FILE = "serve.pid"
LOG_FILE = "serve.log"
READY_SECONDS = 60.0


def start(arguments: list[str], folder: Path, host: str, port: int,
          https: bool = False) -> int:
    """Run ``creditradar`` with ``arguments`` (a ``serve`` command) detached from this
    terminal, its output in ``folder/serve.log``; return its process id once
    ``/healthz`` answers (over HTTPS when ``https``: the probe of our own process on its
    port sends nothing and does not check the certificate, which names the host the desk
    uses rather than the address probed). A workspace this folder started before is
    stopped first."""
    folder.mkdir(parents=True, exist_ok=True)
    stop(folder)
    with (folder / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from flows.cli import main; main()", *arguments],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    (folder / PID_FILE).write_text(f"{process.pid}\n")
    scheme = "https" if https else "http"
    context = ssl._create_unverified_context() if https else None
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"the workspace did not start; see {folder / LOG_FILE}")
        try:
            with urllib.request.urlopen(f"{scheme}://{host}:{port}/healthz", timeout=2,
                                        context=context):
                return process.pid
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    process.terminate()
    raise ConfigError(f"the workspace did not answer within {READY_SECONDS:.0f} s; see "
                      f"{folder / LOG_FILE}")


def stop(folder: Path) -> bool:
    """Stop the workspace started in the background for ``folder``; False when none runs."""
    pid_file = folder / PID_FILE
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip() or 0)
    pid_file.unlink()
    try:
        os.kill(pid, 15)
    except (ProcessLookupError, PermissionError):
        return False
    return True
