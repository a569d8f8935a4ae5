"""A folder run killed with SIGKILL and started again writes exactly what an uninterrupted
run writes: the sinks cut the repeated epoch, the state resumes from its snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.version import program_version
from connectors.simulator import simulate
from flows.run import DEADLETTER, RECOVERY_VERSION, WARNINGS, prepare_recovery, read_jsonl


def run(feeds: Path, out: Path, recovery: Path, **popen: Any) -> subprocess.Popen[Any]:
    env = {**os.environ, "CREDITRADAR_RECOVERY__DIRECTORY": str(recovery)}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--log-level", "error", "run", "--feeds", str(feeds),
         "--out", str(out), "--top", "0"],
        env=env, **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen},
    )


def test_killed_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    simulate(250, 18, 4, feeds)
    assert run(feeds, tmp_path / "whole", tmp_path / "rec-whole").wait(timeout=300) == 0

    child = run(feeds, tmp_path / "killed", tmp_path / "rec-killed")
    deadline = time.monotonic() + 120
    while not (tmp_path / "killed" / WARNINGS).exists() or not (
            tmp_path / "killed" / WARNINGS).stat().st_size:  # mid-stream: warnings flowing
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert run(feeds, tmp_path / "killed", tmp_path / "rec-killed").wait(timeout=300) == 0

    for name in (WARNINGS, DEADLETTER):
        whole, resumed = tmp_path / "whole" / name, tmp_path / "killed" / name
        assert read_jsonl(resumed) == read_jsonl(whole), name
    assert (tmp_path / "killed" / WARNINGS).read_bytes() == (tmp_path / "whole" / WARNINGS
                                                             ).read_bytes()


def test_a_recovery_directory_of_another_version_is_refused(tmp_path: Path) -> None:
    directory = prepare_recovery(tmp_path / "rec", 1)
    mark = directory / RECOVERY_VERSION
    assert mark.read_text().strip() == program_version()
    assert prepare_recovery(directory, 1) == directory  # the same program resumes

    mark.write_text("0.0.1+000000000000\n")
    with pytest.raises(ConfigError, match="written by creditradar 0.0.1"):
        prepare_recovery(directory, 1)


def test_the_cli_says_why_it_will_not_resume(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    simulate(5, 2, 4, feeds)
    mark = prepare_recovery(tmp_path / "rec", 1) / RECOVERY_VERSION
    mark.write_text("0.0.1+000000000000\n")
    child = run(feeds, tmp_path / "out", tmp_path / "rec", stderr=subprocess.PIPE, text=True)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 1
    assert "Traceback" not in stderr
    assert "written by creditradar 0.0.1+000000000000" in stderr
