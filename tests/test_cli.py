"""The command line: configuration, redaction, and a run over a folder."""

from __future__ import annotations

import json
from pathlib import Path

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


def _outcomes(tmp_path: Path) -> Path:
    path = tmp_path / "outcomes.jsonl"
    path.write_text('{"customer_id": "BAD", "default_date": "2024-08-20", "kind": "insolvency"}\n'
                    '{"customer_id": "GOOD", "default_date": null}\n')
    return path
