"""``creditradar serve --background``: start the workspace as a process of its own, wait until
it answers, and say where it is and how to stop it (what ``make demo`` uses, so that the
command returns while the workspace keeps serving).

``serve.pid`` names the process with its start time, so that ``--stop`` signals only the
workspace this folder started: a process id left behind by one that ended may since belong
to any other process, which is never signalled (the stale file is removed).
"""

from __future__ import annotations

import json
import os
import signal
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
    terminal, its output in ``folder/serve.log``; return its process id once its
    ``/healthz`` answers (over HTTPS when ``https``: the probe of our own process on its
    port sends nothing and does not check the certificate, which names the host the desk
    uses rather than the address probed). The answer must name that process: another
    server on the port is no start. A workspace this folder started before is stopped
    first."""
    folder.mkdir(parents=True, exist_ok=True)
    stop(folder)
    with (folder / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from flows.cli import main; main()", *arguments],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    started = _started_at(process.pid)
    (folder / PID_FILE).write_text(f"{process.pid}\n{started or ''}\n")
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            (folder / PID_FILE).unlink(missing_ok=True)
            raise ConfigError(f"the workspace did not start; see {folder / LOG_FILE}")
        if _answering_pid(host, port, https) == process.pid:
            return process.pid
        time.sleep(0.3)
    process.terminate()
    (folder / PID_FILE).unlink(missing_ok=True)
    raise ConfigError(f"the workspace did not answer within {READY_SECONDS:.0f} s; see "
                      f"{folder / LOG_FILE}")


def _answering_pid(host: str, port: int, https: bool) -> int | None:
    """The process id the workspace's ``/healthz`` on ``host:port`` names; None while
    nothing answers there, or something that is no workspace."""
    scheme = "https" if https else "http"
    context = ssl._create_unverified_context() if https else None
    try:
        with urllib.request.urlopen(f"{scheme}://{host}:{port}/healthz", timeout=2,
                                    context=context) as answer:
            pid = json.loads(answer.read(4096)).get("pid")
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def stop(folder: Path) -> bool:
    """Stop the workspace started in the background for ``folder``; False when none runs.
    A ``serve.pid`` whose process is gone, or is not the one this folder started (its start
    time differs: the id was given to another process since), is removed unsignalled."""
    pid_file = folder / PID_FILE
    if not pid_file.exists():
        return False
    pid, started = _read_pid_file(pid_file)
    pid_file.unlink()
    if pid is None or started is None or _started_at(pid) != started:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _read_pid_file(path: Path) -> tuple[int | None, str | None]:
    """The process id and start time ``serve.pid`` holds (None for either it lacks: a file
    of an earlier version, or written by hand)."""
    lines = path.read_text(errors="replace").split("\n")
    pid = int(lines[0]) if lines[0].strip().isdigit() else None
    started = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    return pid, started


def _started_at(pid: int) -> str | None:
    """When process ``pid`` started, as the system tells it (clock ticks since boot from
    ``/proc``, else the time ``ps`` gives); None when there is no such process."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return fields[19] if len(fields) > 19 else None  # field 22 of stat: starttime
    try:
        done = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
