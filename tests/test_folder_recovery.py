"""A folder run killed with SIGKILL and started again writes exactly what an uninterrupted
run writes: the sinks cut the repeated epoch, the state resumes from its snapshot."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.version import program_version
from connectors.simulator import simulate
from flows.run import (
    DEADLETTER,
    RECOVERY_VERSION,
    SCORES,
    WARNINGS,
    WATCHLIST,
    prepare_recovery,
)


def run(feeds: Path, out: Path, recovery: Path, *args: str,
        **popen: Any) -> subprocess.Popen[Any]:
    env = {**os.environ, "CREDITRADAR_RECOVERY__DIRECTORY": str(recovery),
           "CREDITRADAR_RECOVERY__SNAPSHOT_INTERVAL_SECONDS": "0.3"}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--log-level", "error", "run", "--feeds", str(feeds),
         "--out", str(out), "--top", "0", "--scores", *args],
        env=env, **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen},
    )


OUTPUTS = (WARNINGS, DEADLETTER, SCORES, WATCHLIST, "audit/warnings/segment-000000.jsonl")
"""What a run writes, the audit log's warnings partition included: each day's warnings are
recorded in one order, whatever the processes, the recovery or the epochs."""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("recovery")
    simulate(250, 18, 4, base / "feeds")
    assert run(base / "feeds", base / "whole", base / "rec-whole").wait(timeout=300) == 0
    return base / "feeds", base / "whole"


def test_a_cluster_writes_the_uninterrupted_runs_bytes(
        uninterrupted: tuple[Path, Path], tmp_path: Path) -> None:
    """The log's warnings partition was recorded in the order warnings arrived from the
    desks' workers: one process, two, and two with recovery gave three orders."""
    feeds, whole = uninterrupted
    assert run(feeds, tmp_path / "cluster", tmp_path / "rec", "--processes", "2").wait(
        timeout=300) == 0
    for name in OUTPUTS:
        assert (tmp_path / "cluster" / name).read_bytes() == (whole / name).read_bytes(), name


@pytest.mark.parametrize("processes", [1, 2])
def test_killed_twice_and_resumed_equals_uninterrupted(
        uninterrupted: tuple[Path, Path], tmp_path: Path, processes: int) -> None:
    feeds, whole = uninterrupted
    extra = ("--processes", str(processes))
    for wait in random.Random(processes).sample([0.5, 1.5, 2.5, 3.5], 2):
        child = run(feeds, tmp_path / "killed", tmp_path / "rec", *extra,
                    start_new_session=True)
        time.sleep(wait)
        if child.poll() is None:  # the whole process group: a cluster's children too
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert run(feeds, tmp_path / "killed", tmp_path / "rec", *extra).wait(timeout=300) == 0
    for name in OUTPUTS:
        assert (tmp_path / "killed" / name).read_bytes() == (whole / name).read_bytes(), name


@pytest.mark.parametrize(("processes", "group"), [(1, False), (2, False), (2, True)])
def test_stopped_and_started_again_equals_uninterrupted(
        uninterrupted: tuple[Path, Path], tmp_path: Path, processes: int, group: bool) -> None:
    """SIGTERM (Ctrl-C alike) stops a run with its days complete: started again, it goes on
    from there. A cluster's processes each stop, asked by the run, or signalled with it as
    a process group (systemd's way), where each process's second SIGTERM ended it at once
    and the run failed with its audit log unsealed."""
    feeds, whole = uninterrupted
    out, recovery, extra = tmp_path / "out", tmp_path / "rec", ("--processes", str(processes))
    first = run(feeds, out, recovery, *extra, start_new_session=group)
    assert _wait_for(lambda: any(out.glob("audit/ids-*/segment-*.jsonl"))), "nothing logged"
    if group:
        os.killpg(first.pid, signal.SIGTERM)
    else:
        first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 130, "the run ended before it was stopped"
    assert (out / "audit" / "manifest.json").exists(), "the stopped run's log is not sealed"
    assert not (out / WATCHLIST).exists(), "a stopped run wrote its watchlist"
    assert run(feeds, out, recovery, *extra).wait(timeout=300) == 0
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_clusters_processes_end_with_its_run(uninterrupted: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """The run alone killed with SIGKILL (not its process group) left its processes
    running; started again, it wrote into the folder beside them: the audit log held copies
    of records and the scores lost rows."""
    feeds, whole = uninterrupted
    out, recovery = tmp_path / "out", tmp_path / "rec"
    first = run(feeds, out, recovery, "--processes", "2")
    try:
        assert _wait_for(lambda: len(_processes_of(first.pid)) == 2), "no processes started"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert _wait_for(lambda: not _processes_of(first.pid)), "the killed run's processes run on"
    assert run(feeds, out, recovery, "--processes", "2").wait(timeout=300) == 0
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_folder_in_use_takes_no_other_run(uninterrupted: tuple[Path, Path], tmp_path: Path,
                                            command: str) -> None:
    """Another run or replay into a folder in use wrote beside the first (a replay emptied
    it first)."""
    from flows.folders import exclusive

    feeds, whole = uninterrupted
    out = tmp_path / "out"
    args = (["run", "--feeds", str(feeds)] if command == "run" else
            ["replay", "--log", str(whole / "audit")])
    with exclusive(out):
        (out / "kept").write_text("the first run's\n")
        refused = subprocess.run(
            [sys.executable, "-m", "flows.cli", *args, "--out", str(out)],
            capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert f"{out} is the output of a run still going on" in refused.stderr
    assert [path.name for path in out.iterdir()] == ["kept"]


def test_a_file_added_after_the_run_ended_is_refused_with_its_state(tmp_path: Path) -> None:
    """A run that read its input to the end cannot take an input more: resumed with a file
    added, it wrote its watchlist a second time and dead-lettered the new file's records as
    implausible (after the end of time). Its directory says so, and it is refused."""
    feeds, out, recovery = tmp_path / "feeds", tmp_path / "out", tmp_path / "rec"
    simulate(40, 8, 2, feeds)
    assert run(feeds, out, recovery).wait(timeout=300) == 0
    before = {name: (out / name).read_bytes() for name in (WATCHLIST, WARNINGS, DEADLETTER)}
    news = (feeds / "news.jsonl").read_text().splitlines()[:3]
    (feeds / "news-late.jsonl").write_text("".join(
        line.replace('"event_id":"', '"event_id":"late-') + "\n" for line in news))
    again = run(feeds, out, recovery, stderr=subprocess.PIPE, text=True)
    _, said = again.communicate(timeout=300)
    assert again.returncode == 1, said
    assert "holds a run that read its input to the end: inputs it did not have (1: " \
           "'news-late.jsonl')" in said
    assert {name: (out / name).read_bytes() for name in before} == before


def _processes_of(run_pid: int) -> list[str]:
    """The pids of the processes a run spawned that still run."""
    found = subprocess.run(["pgrep", "-f", f"flows.process .*--parent {run_pid}( |$)"],
                           capture_output=True, text=True)
    return found.stdout.split()


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_finished_run_started_again_writes_nothing_twice(
        uninterrupted: tuple[Path, Path], tmp_path: Path) -> None:
    """Started again with its recovery directory, a finished run resumes from its last
    snapshot, taken after the end of input: bytewax ends every step again, and the final
    outputs (the watchlist) must not be written a second time."""
    feeds, whole = uninterrupted
    for _ in range(2):
        assert run(feeds, tmp_path / "again", tmp_path / "rec").wait(timeout=300) == 0
    for name in OUTPUTS:
        assert (tmp_path / "again" / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_recovery_directory_of_another_version_is_refused(tmp_path: Path) -> None:
    directory = prepare_recovery(tmp_path / "rec", 1, 1)
    mark = directory / RECOVERY_VERSION
    assert mark.read_text().strip() == f"{program_version()} buckets=1"
    assert prepare_recovery(directory, 1, 1) == directory  # the same program resumes

    mark.write_text("0.0.1+000000000000 buckets=1\n")
    with pytest.raises(ConfigError, match="written by creditradar 0.0.1"):
        prepare_recovery(directory, 1, 1)


def test_the_cli_says_why_it_will_not_resume(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    simulate(5, 2, 4, feeds)
    mark = prepare_recovery(tmp_path / "rec", 1, 1) / RECOVERY_VERSION
    mark.write_text("0.0.1+000000000000\n")
    child = run(feeds, tmp_path / "out", tmp_path / "rec", stderr=subprocess.PIPE, text=True)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 1
    assert "Traceback" not in stderr
    assert "written by creditradar 0.0.1+000000000000" in stderr
