"""``creditradar demo`` replaces what its folder holds: an earlier demo's book and outputs,
never a folder of other work."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from web_support import alive

from flows.cli import cli


def demo(out: Path, env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, ["--log-level", "error", "demo", "--out", str(out),
                                    "--customers", "30", "--months", "8", "--seed", "3"],
                              env=env)


def test_a_demo_replaces_an_earlier_demo_and_refuses_a_folder_of_other_work(
        tmp_path: Path) -> None:
    env = {"CREDITRADAR_STATE_DIR": str(tmp_path / "state")}
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.txt").write_text("two years of it\n")
    refused = demo(work, env)
    assert refused.exit_code == 1 and "holds files that are no demo's" in refused.output
    assert sorted(p.name for p in work.iterdir()) == ["thesis.txt"]

    (tmp_path / "real").mkdir()
    out = tmp_path / "demo"
    out.symlink_to(tmp_path / "real")  # a folder that cannot be removed, as `--out .` is
    for _ in range(2):  # the second demo replaces the first
        result = demo(out, env)
        assert result.exit_code == 0, result.output
        assert "read " in result.output and (out / "warnings.jsonl").exists()
    assert out.is_symlink()


def test_a_demo_stops_the_workspace_the_last_demo_started(tmp_path: Path) -> None:
    """`make demo` twice: the second emptied the folder, the first's workspace pid file with
    it, and its own workspace found the port taken."""
    import subprocess
    import sys
    import time

    from connectors.channels.loopback import free_port
    from web.background import PID_FILE

    env = {"CREDITRADAR_STATE_DIR": str(tmp_path / "state")}
    out = tmp_path / "demo"
    assert demo(out, env).exit_code == 0
    started = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve", "--out", str(out), "--port",
         str(free_port()), "--no-deliver", "--background"],
        capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    pid = int((out / "workspace" / PID_FILE).read_text().split()[0])
    try:
        assert demo(out, env).exit_code == 0
        deadline = time.monotonic() + 20
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid), "the first demo's workspace still serves"
    finally:
        if alive(pid):
            subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--out", str(out),
                            "--stop"], capture_output=True, timeout=60)
