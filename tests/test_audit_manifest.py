"""A run's audit log is sealed by a signed manifest of its partitions: a deleted, added or
cut partition, or a removed or edited manifest, fails `audit verify`, and a replay of an
edited log is not "IDENTICAL" however its warnings come out."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connectors.audit.manifest import MANIFEST
from detectors.clock import parse_time
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


def _rewrite_manifest(log: Path, change: Callable[[dict], None], indent: int | None) -> None:
    manifest = json.loads((log / MANIFEST).read_text())
    change(manifest)
    (log / MANIFEST).write_text(json.dumps(manifest, indent=indent))


def _approve_manifest(log: Path) -> None:
    _rewrite_manifest(log, lambda m: m.update(approved_by="Chief Auditor"), None)


def _reformat_manifest(log: Path) -> None:
    _rewrite_manifest(log, lambda m: None, 4)


def _overflow_manifest(log: Path) -> None:
    text = (log / MANIFEST).read_text()
    (log / MANIFEST).write_text(re.sub(r'"records":\d+', '"records":1e999', text, count=1))


def _cut_final_newline(log: Path) -> None:
    segment = sorted((log / "warnings").glob("segment-*.jsonl"))[-1]
    segment.write_bytes(segment.read_bytes()[:-1])


def _nest_a_record(log: Path) -> None:
    segment = sorted((log / "warnings").glob("segment-*.jsonl"))[0]
    lines = segment.read_bytes().split(b"\n")
    lines[1] = b"[" * 200_000 + b"]" * 200_000
    segment.write_bytes(b"\n".join(lines))


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
    (_approve_manifest, f"edited: {MANIFEST}: not a manifest of partitions"),
    (_reformat_manifest, f"edited: {MANIFEST}: not as written"),
    (_overflow_manifest, f"edited: {MANIFEST}: not a manifest of partitions"),
    (_cut_final_newline, "truncated: partition 'warnings'"),
    (_nest_a_record, "partition 'warnings', segment-000000.jsonl line 2"),
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


@pytest.mark.parametrize("command", [["audit", "verify"], ["audit", "export", "w-1"],
                                     ["replay", "--out", "OUT"], ["explain", "C1", "--as-of",
                                                                  "2021-06-30"]])
@pytest.mark.parametrize("where", ["missing", "a-file"])
def test_no_log_is_an_error_not_the_unauthenticated_status(
        run: tuple[Path, Path], tmp_path: Path, where: str, command: list[str]) -> None:
    """Exit status 2 is verify's for an intact log it could not authenticate: a script
    reading the auditors' table took a missing log for one."""
    config, _ = run
    path = tmp_path / where
    if where == "a-file":
        path.write_text("not a log\n")
    args = [str(tmp_path / "replay") if arg == "OUT" else arg for arg in command]
    result = invoke(config, *args, "--log", str(path))
    assert result.exit_code == 1 and "is not a directory" in result.output, result.output


@pytest.mark.parametrize("command", [["audit", "verify"], ["replay", "--out", "OUT"],
                                     ["explain", "C1", "--as-of", "2021-06-30"]])
def test_a_run_folder_or_a_partition_given_for_a_log_names_the_log(
        run: tuple[Path, Path], tmp_path: Path, command: list[str]) -> None:
    config, out = run
    args = [str(tmp_path / "replay") if arg == "OUT" else arg for arg in command]
    for given, said in ((out, f"is a run's output folder, not its audit log: give "
                              f"{out / 'audit'}"),
                        (out / "audit" / "warnings", "is one partition of an audit log: give "
                                                     f"the log, {out / 'audit'}")):
        result = invoke(config, *args, "--log", str(given))
        assert result.exit_code == 1 and said in result.output, result.output


def test_a_replay_until_a_months_last_day_compares_the_warnings_up_to_it(
        run: tuple[Path, Path], tmp_path: Path) -> None:
    """A month end's warnings come at the next month's first tick, after the last input: the
    replay issued them, and counted them as extra against the log cut at --until."""
    config, out = run
    ticks = sorted({w["event_time"] for w in map(json.loads, (out / "warnings.jsonl")
                                                  .read_text().splitlines())
                    if w["event_time"].endswith("-01T00:00:00Z")})
    assert ticks, "the book warns at a month end"
    day_before = (datetime.fromisoformat(ticks[0]) - timedelta(days=1)).date().isoformat()
    result = invoke(config, "replay", "--log", str(out / "audit"), "--out",
                    str(tmp_path / "replay"), "--until", day_before)
    assert result.exit_code == 0 and result.output.startswith("IDENTICAL"), result.output


def test_a_replay_into_a_folder_of_other_files_is_refused_and_leaves_it(
        run: tuple[Path, Path], tmp_path: Path) -> None:
    config, out = run
    folder = tmp_path / "project"
    (folder / "feeds").mkdir(parents=True)
    (folder / "feeds" / "README.txt").write_text("notes\n")
    result = invoke(config, "replay", "--log", str(out / "audit"), "--out", str(folder))
    assert result.exit_code == 1 and "holds files that are no replay's" in result.output, \
        result.output
    assert (folder / "feeds" / "README.txt").read_text() == "notes\n"
    again = tmp_path / "replay"
    (again / "feeds").mkdir(parents=True)  # a replay stopped half-way, its mark written first
    (again / ".creditradar-replay").write_text("")
    for _ in range(2):  # a replay's own folder may be replayed into again
        result = invoke(config, "replay", "--log", str(out / "audit"), "--out", str(again))
        assert result.exit_code == 0, result.output


def test_a_replay_authenticates_the_log_with_the_key_in_the_environment(
        run: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = run
    keyless = tmp_path / "keyless.toml"
    keyless.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    args = ["replay", "--log", str(out / "audit"), "--out", str(tmp_path / "replay")]
    result = CliRunner().invoke(cli, ["--config", str(keyless), "--log-level", "error", *args,
                                      "--key-env", "AUDITOR_KEY"], env={"AUDITOR_KEY": KEY})
    assert result.exit_code == 0 and "anchor signatures checked" in result.output, \
        result.output
    wrong = CliRunner().invoke(cli, ["--config", str(keyless), "--log-level", "error", *args,
                                     "--key-env", "AUDITOR_KEY"], env={"AUDITOR_KEY": "x" * 32})
    assert wrong.exit_code == 1 and "bad_anchor" in wrong.output, wrong.output


def _stopped_run(tmp_path: Path, *signals: signal.Signals) -> tuple[Path, Path, str]:
    """A run of a 400 x 24 book sent ``signals`` once it has logged inputs: its settings,
    output folder and what it printed."""
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
    for stop in signals:
        run.send_signal(stop)
    output, _ = run.communicate(timeout=120)
    text = output.decode()
    assert run.returncode == 130, text[-2000:]  # (0: it ended before the signal)
    assert "Traceback" not in text, text[-2000:]
    assert "stopped: " in text and "without --recovery-dir, the same command starts" in text
    return config, out, text


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_replays_to_the_same_warnings(tmp_path: Path,
                                                     stop: signal.Signals) -> None:
    """Ctrl-C or SIGTERM (docker stop) is how a live run ends. The run stops with its days
    complete, its log sealed (it verifies) and saying through which day, and a replay stops
    there too. Before, the steps stopped wherever the signal found them, and a replay, which
    went to the end of the logged inputs, could warn past that (a default 90 days past due
    that the run had not reached)."""
    config, out, _ = _stopped_run(tmp_path, stop)
    result = invoke(config, "audit", "verify", "--log", str(out / "audit"))
    assert result.exit_code == 0 and "anchor signatures checked" in result.output, result.output
    replayed = invoke(config, "replay", "--log", str(out / "audit"), "--out",
                      str(tmp_path / "replay"))
    assert replayed.exit_code == 0 and "IDENTICAL" in replayed.output, replayed.output
    stopped = re.search(r"stopped with its days complete through (\S+);", replayed.output)
    assert stopped, replayed.output
    last_warned = max((parse_time(json.loads(line)["event_time"]) for line in
                       (out / "warnings.jsonl").read_text().splitlines()), default=None)
    day_after = parse_time(stopped.group(1)) + timedelta(days=1)  # (a month end's warnings
    assert last_warned is None or last_warned <= day_after  # come at the next day's tick)


def test_a_second_signal_ends_the_run_at_once_and_its_log_still_verifies(
        tmp_path: Path) -> None:
    config, out, _ = _stopped_run(tmp_path, signal.SIGTERM, signal.SIGTERM)
    result = invoke(config, "audit", "verify", "--log", str(out / "audit"))
    assert result.exit_code == 0 and "anchor signatures checked" in result.output, result.output
