"""``creditradar demo`` replaces what its folder holds: an earlier demo's book and outputs,
never a folder of other work."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

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
