"""A run's audit log is sealed by a signed manifest of its partitions: a deleted, added or
cut partition, or a removed or edited manifest, fails `audit verify`, and a replay of an
edited log is not "IDENTICAL" however its warnings come out."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connectors.audit.manifest import MANIFEST
from flows.cli import cli

KEY = "manifest-test-key-0123456789"


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "--log-level", "error", *args],
                              env={})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run of a small book with a signed log: its settings file and output folder."""
    root = tmp_path_factory.mktemp("sealed")
    config = root / "run.toml"
    config.write_text(f'state_dir = "{root / "state"}"\n[audit]\nhmac_key = "{KEY}"\n')
    assert invoke(config, "simulate", "--customers", "40", "--months", "8", "--seed", "5",
                  "--out", str(root / "feeds")).exit_code == 0
    result = invoke(config, "run", "--feeds", str(root / "feeds"), "--out", str(root / "out"),
                    "--top", "0", "--no-deliver")
    assert result.exit_code == 0, result.output
    return config, root / "out"


def _remove_warnings(log: Path) -> None:
    shutil.rmtree(log / "warnings")


def _remove_manifest(log: Path) -> None:
    (log / MANIFEST).unlink()


def _remove_warnings_and_manifest(log: Path) -> None:
    _remove_warnings(log)
    _remove_manifest(log)


def _understate_records(log: Path) -> None:
    manifest = json.loads((log / MANIFEST).read_text())
    manifest["partitions"]["warnings"]["records"] -= 1
    (log / MANIFEST).write_text(json.dumps(manifest))


def _add_partition(log: Path) -> None:
    shutil.copytree(log / "warnings", log / "warnings-2")


def test_a_finished_runs_log_verifies_with_its_manifest(run: tuple[Path, Path]) -> None:
    config, out = run
    manifest = json.loads((out / "audit" / MANIFEST).read_text())
    assert set(manifest["partitions"]) == {p.name for p in (out / "audit").iterdir()
                                           if p.is_dir()} and "mac" in manifest
    result = invoke(config, "audit", "verify", "--log", str(out / "audit"))
    assert result.exit_code == 0 and "anchor signatures checked" in result.output, result.output


@pytest.mark.parametrize(("damage", "said"), [
    (_remove_warnings, "deleted: partition 'warnings': the partition is missing"),
    (_remove_manifest, f"deleted: {MANIFEST}: missing"),
    (_remove_warnings_and_manifest, f"deleted: {MANIFEST}: missing"),
    (_understate_records, f"bad_anchor: {MANIFEST}: bad manifest signature"),
    (_add_partition, "inserted: partition 'warnings-2'"),
])
def test_a_partition_or_manifest_tampered_with_fails_verification(
        run: tuple[Path, Path], tmp_path: Path, damage: Callable[[Path], None],
        said: str) -> None:
    config, out = run
    log = tmp_path / "audit"
    shutil.copytree(out / "audit", log)
    damage(log)
    result = invoke(config, "audit", "verify", "--log", str(log))
    assert result.exit_code == 1 and said in result.output, result.output


def test_a_replay_of_an_edited_log_is_not_identical(run: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    """Reproducing the warnings from a log that fails verification proves nothing."""
    config, out = run
    log = tmp_path / "audit"
    shutil.copytree(out / "audit", log)
    _remove_manifest(log)
    result = invoke(config, "replay", "--log", str(log), "--out", str(tmp_path / "replay"))
    assert result.exit_code == 1 and result.output.startswith("LOG NOT INTACT"), result.output
    report = json.loads((tmp_path / "replay" / "replay-report.json").read_text())
    assert report["byte_identical"] and not report["log_intact"] and not report["ok"]


@pytest.mark.parametrize("where", ["missing", "a-file"])
def test_verify_of_no_log_is_an_error_not_the_unauthenticated_status(
        run: tuple[Path, Path], tmp_path: Path, where: str) -> None:
    config, _ = run
    path = tmp_path / where
    if where == "a-file":
        path.write_text("not a log\n")
    result = invoke(config, "audit", "verify", "--log", str(path))
    assert result.exit_code == 1 and "is not a directory" in result.output, result.output


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_run_stopped_by_a_signal_leaves_a_log_that_verifies(tmp_path: Path,
                                                              stop: signal.Signals) -> None:
    """Ctrl-C or SIGTERM (docker stop) is how a live run ends: bytewax closes the partitions
    (final anchors), and the log is sealed up to there, so an auditor can verify it (the
    default of SIGTERM ended the process in the middle of a write)."""
    config = tmp_path / "run.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[audit]\nhmac_key = "{KEY}"\n')
    assert invoke(config, "simulate", "--customers", "400", "--months", "24", "--seed", "9",
                  "--out", str(tmp_path / "feeds")).exit_code == 0
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--config", str(config), "--log-level", "error",
         "run", "--feeds", str(tmp_path / "feeds"), "--out", str(out), "--top", "0",
         "--no-deliver"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not any(out.glob("audit/ids-*/segment-*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    run.send_signal(stop)
    output, _ = run.communicate(timeout=120)
    assert run.returncode != 0, "the run ended before it could be interrupted"
    assert b"Traceback" not in output, output.decode()[-2000:]
    result = invoke(config, "audit", "verify", "--log", str(out / "audit"))
    assert result.exit_code == 0 and "anchor signatures checked" in result.output, result.output
