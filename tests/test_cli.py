"""The command line: configuration, redaction, and a run over a folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from feedkit import write_feeds
from test_monitor_flow import deteriorating_portfolio

from config.errors import ConfigError
from config.settings import load_settings
from flows.cli import cli

SECRET = "pa55-w0rd-xyz"


def invoke(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_config_show_layers_file_and_environment_and_hides_secrets(tmp_path: Path) -> None:
    config = tmp_path / "creditradar.toml"
    config.write_text(f"""
horizon_months = 6
[kafka.config]
"sasl.password" = "{SECRET}"
[audit]
hmac_key = "{SECRET}"
[alerts.channels]
desk = "mailto://desk:{SECRET}@mail.example.com?to=risk@example.com"
""")
    out = invoke("--config", str(config), "config", "show",
                 env={"CREDITRADAR_POLICY__TOP_SHARE": "0.05"})
    shown = json.loads(out)
    assert shown["horizon_months"] == 6
    assert shown["policy"]["top_share"] == 0.05
    assert SECRET not in out


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("horizon_months: 6\n")
    monkeypatch.setenv("CREDITRADAR_HORIZON_MONTHS", "4")
    assert load_settings(config).horizon_months == 4


def test_bad_settings_are_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("horizon_months = 'soon'\n")
    with pytest.raises(ConfigError, match="horizon_months"):
        load_settings(config)
    config.write_text("[policy]\ngrade_bounds = [0.5, 0.1, 0.2, 0.3]\n")
    with pytest.raises(ConfigError, match="increasing"):
        load_settings(config)


def test_run_prints_the_summary_and_watchlist(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    out = invoke("--log-format", "json", "run", "--feeds", str(feeds), "--out",
                 str(tmp_path / "out"), "--scores")
    assert "counts add up" in out and "rank  customer" in out
    assert (tmp_path / "out" / "scores.jsonl").exists()
    backtest = invoke("backtest", "--out", str(tmp_path / "out"), "--outcomes",
                      str(_outcomes(tmp_path)))
    assert "defaulters warned before default: 1/1" in backtest


@pytest.mark.parametrize(("line", "reason"), [
    (b"not json", "JSONDecodeError"), (b'{"default_date": null}', "KeyError"),
    (b'{"customer_id": "X", "default_date": "soon"}', "Invalid isoformat"),
    (b'{"customer_id": 7, "default_date": null}', "customer_id is not text"),
    (b'{"customer_id": "\xff"}', "UnicodeDecodeError")])
def test_a_damaged_outcome_is_an_error_naming_its_line_before_anything_runs(
        tmp_path: Path, line: bytes, reason: str) -> None:
    """``evaluate`` reads the outcomes before the run (a big book's run takes minutes), and
    ``backtest`` reads them alike: the error names the file and line, and is one line."""
    from connectors.simulator import simulate

    feeds = tmp_path / "feeds"
    simulate(20, 3, 1, feeds)
    outcomes = feeds / "outcomes.jsonl"
    outcomes.write_bytes(outcomes.read_bytes() + b"\n" + line + b"\n")
    number = len(outcomes.read_bytes().splitlines())
    evaluated = CliRunner().invoke(cli, ["--log-level", "error", "evaluate", "--feeds", str(feeds),
                                         "--report", str(tmp_path / "report")])
    (tmp_path / "out").mkdir()
    for name in ("warnings.jsonl", "watchlist.jsonl"):  # what every finished run has
        (tmp_path / "out" / name).touch()
    backtested = CliRunner().invoke(cli, ["backtest", "--out", str(tmp_path / "out"),
                                          "--outcomes", str(outcomes)])
    for result in (evaluated, backtested):
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {outcomes}, line {number}: not an outcome")
        assert reason in result.output and len(result.output.splitlines()) == 1
    assert not (tmp_path / "report" / "run").exists()


def _outcomes(tmp_path: Path) -> Path:
    path = tmp_path / "outcomes.jsonl"
    path.write_text('{"customer_id": "BAD", "default_date": "2024-08-20", "kind": "insolvency"}\n'
                    '{"customer_id": "GOOD", "default_date": null}\n')
    return path


def test_version_short_help_and_an_example_in_every_help() -> None:
    assert invoke("--version").startswith("creditradar 0.1.0+")
    runner = CliRunner()
    pending: list[tuple[list[str], click.Command]] = [([], cli)]
    seen = 0
    while pending:
        path, command = pending.pop()
        result = runner.invoke(cli, [*path, "-h"], env={})
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, f"no example in `creditradar {' '.join(path)} -h`"
        seen += 1
        if isinstance(command, click.Group):
            pending += [([*path, name], sub) for name, sub in command.commands.items()]
    assert seen > 20


def test_a_bad_log_level_is_a_usage_error_not_a_traceback() -> None:
    result = CliRunner().invoke(cli, ["--log-level", "verbose", "config", "show"], env={})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'verbose' is not one of" in result.output


@pytest.mark.parametrize(("name", "text", "key"), [
    ("c.yaml", f"alerts:\n  channels:\n    desk: mailto://u:{SECRET}@h\n    bad: [x\n",
     "line 5"),
    ("c.toml", f'[audit]\nhmac_kye = "{SECRET}"\n', "audit.hmac_kye"),
    ("c.toml", f'[audit]\nhmac_key = ["{SECRET}"]\n', "audit.hmac_key"),
    ("c.toml", f'[alerts.channels.desk]\nurl = "{SECRET}"\n', "alerts.channels.desk.url"),
    ("c.toml", f'horizon_months = 6\nurl = "mailto://u:{SECRET}\n', "line 2"),
])
def test_configuration_errors_are_one_sentence_naming_the_key_without_secrets(
        tmp_path: Path, name: str, text: str, key: str) -> None:
    config = tmp_path / name
    config.write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "show"], env={})
    assert result.exit_code == 1
    message = result.output.strip()
    assert key in message and SECRET not in message, message
    assert message.count("\n") == 0 and "Traceback" not in message


def test_check_config_refuses_urls_apprise_does_not_accept(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"""
[alerts.channels]
teams = "msteams://{SECRET}"
odd = "foo://x"
fine = "json://127.0.0.1:9/hook"
[alerts.receivers]
desk = ["teams", "odd", "fine"]
""")
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts", "check-config"],
                                env={})
    assert result.exit_code == 1 and "2 channel URL(s) refused" in result.output
    assert "teams: msteams://***  REFUSED" in result.output
    assert "odd: foo://***  REFUSED" in result.output and "fine: json://" in result.output
    assert SECRET not in result.output


def test_unknown_files_are_reported_and_an_all_rejected_run_fails(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "customers.jsonl").write_text("not json\n{\"also\": \"bad\"}\n")
    (feeds / "payment.jsonl").write_text("{}\n")
    (feeds / "payments-2022.jsonl").mkdir()
    (feeds / "news.jsonl").symlink_to(tmp_path / "gone.jsonl")
    # A name that is no UTF-8 ended the run with a traceback (it names the input in every
    # output): the file is named, and left unread.
    (feeds / os.fsdecode(b"payments-\xff.jsonl")).write_text("{}\n")
    result = CliRunner().invoke(cli, ["run", "--feeds", str(feeds), "--out",
                                      str(tmp_path / "out")], env={})
    assert "ignored payments-\\xff.jsonl: its name is not UTF-8" in result.output
    assert "ignored payment.jsonl: not a feed file (fx, country_risk, " in result.output
    assert "ignored payments-2022.jsonl: not a file that can be read" in result.output
    assert "ignored news.jsonl: not a file that can be read" in result.output
    assert result.exit_code == 3 and "every record was rejected" in result.output


def test_an_input_cut_short_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    """A payments file cut in half gave one dead letter and exit status 0, while the rest
    of the book aged the invoices it held no payments for into defaults, and warned (and
    alerted) about them. The run now refuses to start; read anyway, it exits 5."""
    import gzip

    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    payments = feeds / "payments.jsonl"
    lines = payments.read_bytes().count(b"\n")
    packed = gzip.compress(payments.read_bytes())
    (feeds / "payments.jsonl.gz").write_bytes(packed[:len(packed) // 2])
    payments.unlink()

    refused = CliRunner().invoke(cli, ["run", "--feeds", str(feeds), "--out",
                                       str(tmp_path / "refused"), "--no-deliver"], env={})
    assert refused.exit_code == 5, refused.output
    assert "payments.jsonl.gz is damaged after line " in refused.output
    broken_at = int(refused.output.split("is damaged after line ")[1].split()[0])
    assert 0 < broken_at < lines
    assert "nothing was run" in refused.output and not (tmp_path / "refused").exists()
    (tmp_path / "outcomes.jsonl").write_text("")
    evaluated = CliRunner().invoke(cli, ["evaluate", "--feeds", str(feeds), "--report",
                                         str(tmp_path / "report"), "--outcomes",
                                         str(tmp_path / "outcomes.jsonl")], env={})
    assert evaluated.exit_code == 5, evaluated.output
    assert f"is damaged after line {broken_at} " in evaluated.output
    assert not (tmp_path / "report").exists()

    read = CliRunner().invoke(cli, ["run", "--feeds", str(feeds), "--out",
                                    str(tmp_path / "out"), "--no-deliver", "--read-damaged"],
                              env={})
    assert read.exit_code == 5, read.output
    assert "1 input(s) could not be read whole (unreadable_file" in read.output
    dead = [json.loads(line) for line in
            (tmp_path / "out" / "deadletter.jsonl").read_text().splitlines()]
    assert [row["origin"]["line"] for row in dead
            if row["reason"] == "unreadable_file"] == [broken_at + 1]


def test_a_run_keeps_the_previous_audit_log_and_private_state(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", deteriorating_portfolio())
    config = tmp_path / "c.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[alerts.channels]\n'
                      'hook = "json://127.0.0.1:9/x"\n[alerts.receivers]\ndesk = ["hook"]\n'
                      '[alerts.route]\nreceiver = "desk"\n')
    out = tmp_path / "out"
    assert "created the audit anchor key" in invoke("--config", str(config), "audit", "init")
    key = tmp_path / "state" / "audit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert CliRunner().invoke(cli, ["--config", str(config), "audit", "init"],
                              env={}).exit_code == 1, "an existing key is never replaced"
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--config", str(config), "run", "--feeds",
                                          str(feeds), "--out", str(out), "--top", "0",
                                          "--deliver-wait", "0"], env={})
        assert result.exit_code == 0, result.output
        assert "alerts: delivered 0  pending" in result.output
    assert (out / "audit").is_dir() and (out / "audit.1").is_dir()
    for log in (out / "audit", out / "audit.1"):
        verified = invoke("--config", str(config), "audit", "verify", "--log", str(log))
        assert "anchor signatures checked" in verified, "runs sign with the init key"
    unkeyed = CliRunner().invoke(cli, ["audit", "verify", "--log", str(out / "audit")],
                                 env={})
    assert unkeyed.exit_code == 2 and "NOT authenticated" in unkeyed.output
    assert invoke("audit", "verify", "--log", str(out / "audit"), "--allow-unauthenticated")
    private = [tmp_path / "state" / "alerts.sqlite3",
               *(out / "audit").rglob("segment-*.jsonl"), *(tmp_path / "state").rglob("*.jsonl")]
    assert len(private) > 2
    for path in private:
        assert path.stat().st_mode & 0o077 == 0, path
    failed = CliRunner().invoke(cli, ["--config", str(config), "run", "--feeds", str(feeds),
                                      "--out", str(tmp_path / "again"), "--top", "0",
                                      "--deliver-wait", "0", "--fail-on-delivery-failure"],
                                env={})
    assert failed.exit_code == 0, "nothing has failed yet: the hook is only pending"
    status = CliRunner().invoke(cli, ["--config", str(config), "alerts", "status"], env={})
    assert status.exit_code == 0 and "pending" in status.output


def test_the_log_level_given_reaches_a_runs_processes(tmp_path: Path) -> None:
    """``--log-level warning`` quieted the run's own process only: each process of
    ``--processes 2`` logged at the settings' level, a line for every rejected record."""
    import subprocess
    import sys

    feeds = tmp_path / "feeds"
    invoke("simulate", "--customers", "30", "--months", "4", "--seed", "3", "--out",
           str(feeds))
    with (feeds / "payments.jsonl").open("a") as handle:
        handle.write("not json\n")
    ran = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--log-format", "json", "--log-level", "warning",
         "run", "--feeds", str(feeds), "--out", str(tmp_path / "out"), "--top", "0",
         "--no-deliver", "--processes", "2"], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    levels = {json.loads(line)["level"] for line in ran.stderr.splitlines()
              if line.startswith("{")}
    assert levels <= {"warning", "error"}, ran.stderr[-2000:]
    assert "rejected 1" in ran.stdout
