"""A run whose outputs the disk refuses (full, or over a file-size limit) ends with one line
naming the file and exit status 1: before, bytewax closed the other outputs while it
unwound, a close failed the same way, and the process aborted without a word of why."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

LIMIT_BYTES = 64 * 1024
"""Far below what the book's audit log needs, and above every other file the run reads."""


def _limit_file_sizes() -> None:
    """In the child: files may grow to `LIMIT_BYTES`; a write beyond fails with EFBIG (the
    signal that would kill the process instead is ignored), as a full disk's ENOSPC does."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "feeds"
    subprocess.run([sys.executable, "-m", "flows.cli", "simulate", "--customers", "40",
                    "--months", "8", "--seed", "3", "--out", str(path)],
                   check=True, capture_output=True)
    return path


@pytest.mark.parametrize("processes", [1, 2])
def test_an_output_the_disk_refuses_ends_the_run_with_one_line_naming_it(
        feeds: Path, tmp_path: Path, processes: int) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--log-level", "error", "run", "--feeds",
         str(feeds), "--out", str(out), "--scores", "--top", "0", "--no-deliver",
         "--processes", str(processes)],
        capture_output=True, text=True, preexec_fn=_limit_file_sizes, timeout=300,
        env={"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"})
    assert result.returncode == 1, result.stderr[-2000:]
    said = [line for line in result.stderr.splitlines() if "File too large" in line
            and "cannot use " in line]
    assert said, result.stderr[-2000:]
    assert str(out) in said[0] and "segment-" in said[0]  # the file that hit the limit
    assert "Traceback" not in result.stderr, result.stderr[-2000:]  # (a peer: one line too)
    if processes == 1:
        assert said[0].startswith("Error: ")


def test_a_peers_end_is_one_line_and_a_bug_is_not() -> None:
    """(A unit test of one function: the panic bytewax raises in a process whose peer ended
    comes from its Rust threads, and when it comes is a race.)"""
    from flows.process import peer_ended

    class PanicException(BaseException):  # pyo3_runtime's, by name
        pass

    assert peer_ended(PanicException("Send thread panic: Any { .. }")) == (
        "stopped: another process of the cluster ended (its line says why)")
    assert peer_ended(PanicException("index out of bounds")) is None
    assert peer_ended(RuntimeError("Send thread panic")) is None
