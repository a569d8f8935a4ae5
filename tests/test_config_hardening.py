"""Hardening of the configuration: secrets in URLs stay masked wherever they are shown, and
values that would overflow, allocate without bound or corrupt output are refused."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from config.alerts import MAX_DURATION
from config.errors import ConfigError
from config.redact import redact_text, redact_url, scrub
from config.settings import load_settings
from flows.cli import cli

SECRET = "SECRETss42"


@pytest.mark.parametrize(("url", "secret", "host"), [
    (f"mailtos://alerts:pa#{SECRET}@smtp.example.com?to=desk@example.com", SECRET,
     "smtp.example.com"),
    (f"mailtos://alerts:pa?{SECRET}@smtp.example.com", SECRET, "smtp.example.com"),
    (f"mailtos://alerts:pa?{SECRET}@smtp.example.com?to=desk@example.com", SECRET,
     "smtp.example.com"),
    (f"mailto://alerts:p@a?{SECRET}@smtp.example.com", SECRET, "smtp.example.com"),
    (f"mailto://alerts:pa/{SECRET}@smtp.example.com/desk", SECRET, "smtp.example.com"),
    (f"mailto://alerts:{SECRET}@smtp.example.com/desk@example.com", SECRET, "smtp.example.com"),
    (f"SASL_SSL://kuser:{SECRET}@broker.example.com:9093", SECRET, "broker.example.com"),
    ("json://127.0.0.1/hooks/abcdefsecretlower", "abcdefsecretlower", "127.0.0.1"),
    (f'json://alerts:pa"{SECRET}@hooks.example.com/x', SECRET, "hooks.example.com"),
    (f"json://alerts:pa<{SECRET}@hooks.example.com/x", SECRET, "hooks.example.com"),
])
def test_a_password_with_url_delimiters_is_masked_in_urls_logs_and_errors(
        url: str, secret: str, host: str) -> None:
    shown = redact_url(url)
    assert secret not in shown and host in shown, shown
    logged = redact_text(f"POST {url} failed")
    assert secret not in logged and logged.startswith("POST ") and host in logged, logged
    assert secret not in scrub(f"could not reach {url}", url)


def test_plain_path_words_and_query_addresses_stay_readable() -> None:
    url = "mailto://smtp.example.com/v1/hooks/credit-desk/{warning_id}?to=risk@example.com"
    assert redact_url(url) == url


def test_check_config_masks_a_password_holding_a_hash(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[alerts.channels]\n'
                      f'desk = "mailtos://alerts:pa#{SECRET}@smtp.example.com?to=d@example.com"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts", "check-config"], env={})
    assert "desk: mailtos://***@smtp.example.com" in result.output, result.output
    assert SECRET not in result.output


def test_config_show_masks_credentials_in_the_kafka_bootstrap_and_link_template(
        tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[kafka]\nbootstrap = "SASL_SSL://kuser:{SECRET}@broker.example.com:9093"\n'
                      f'[alerts]\nlink_template = "https://lu:{SECRET}@desk.example.com/w/'
                      '{warning_id}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "show"], env={})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    shown = json.loads(result.output)
    assert shown["kafka"]["bootstrap"] == "SASL_SSL://***@broker.example.com:9093"
    assert shown["alerts"]["link_template"] == "https://***@desk.example.com/w/{warning_id}"


@pytest.mark.parametrize("rate", ["nan", "inf", "-inf", "-1.17", "0.0", "1e-320", "1e10"])
def test_an_fx_rate_must_be_finite_and_within_its_bounds(tmp_path: Path, rate: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"fx_rates = {{ EUR = 1.0, SEK = {rate} }}\n")
    with pytest.raises(ConfigError, match=r"fx_rates\.SEK") as raised:
        load_settings(config)
    assert "EUR" not in str(raised.value)


@pytest.mark.parametrize(("text", "where"), [
    ('[policy]\nwarn_from_grade = "Z"\n', "policy.warn_from_grade"),
    ('[policy]\nresolve_below_grade = "c"\n', "policy.resolve_below_grade"),
    ('reporting_currency = "eur"\n', "reporting_currency"),
    ("fx_rates = { EUR = 1.0, FOOD = 2.0 }\n", "fx_rates.FOOD"),
    ('reporting_currency = "EUX"\n', "reporting_currency"),
    ("fx_rates = { EUR = 1.0, XXX = 2.0 }\n", "fx_rates.XXX"),
])
def test_a_grade_or_currency_the_monitor_cannot_use_is_refused_on_load(
        tmp_path: Path, text: str, where: str) -> None:
    """A grade out of A-E passed `config show` and stopped `run` with a traceback; a currency
    in lower case, or one ISO 4217 does not list, matched no record's."""
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(where)):
        load_settings(config)


@pytest.mark.parametrize("text", ["- a\n- b\n", "hello\n", "- [horizon_months, 6]\n", "[]\n"])
def test_a_yaml_file_must_hold_a_mapping_at_the_top(tmp_path: Path, text: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=f"settings file {config} must hold a mapping"):
        load_settings(config)


def test_an_empty_yaml_file_sets_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("# nothing yet\n")
    assert load_settings(config) == load_settings()


def _weeks(duration: timedelta) -> int:
    return duration // timedelta(weeks=1)


@pytest.mark.parametrize("value", [
    '"99999999999w"', f'"{_weeks(MAX_DURATION) + 1}w"', '"P9999W"', "1e20", "-5",
])
def test_a_route_duration_beyond_ten_years_or_negative_is_refused(
        tmp_path: Path, value: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[alerts.route]\ngroup_wait = {value}\n")
    with pytest.raises(ConfigError, match="group_wait: .*between 0 and 10 years"):
        load_settings(config)


def test_a_duration_from_the_environment_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITRADAR_ALERTS__ROUTE__REPEAT_INTERVAL", "9999999999999d")
    with pytest.raises(ConfigError, match="repeat_interval: .*between 0 and 10 years"):
        load_settings()


def test_a_duration_up_to_ten_years_is_kept(tmp_path: Path) -> None:
    weeks = _weeks(MAX_DURATION)
    config = tmp_path / "c.toml"
    config.write_text(f'[alerts.route]\ngroup_wait = "{weeks}w"\n')
    assert load_settings(config).alerts.route.group_wait == timedelta(weeks=weeks)


@pytest.mark.parametrize("template", [
    "https://desk.example.com/{warning_id:>5}",
    "https://desk.example.com/{warning_id:>99999999999}",
    "https://desk.example.com/{customer_id!r}",
    "https://desk.example.com/{warning_id.upper}",
    "https://desk.example.com/{}",
    "https://desk.example.com/{warning_id",
])
def test_a_link_template_takes_bare_fields_only(tmp_path: Path, template: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[alerts]\nlink_template = {json.dumps(template)}\n")
    with pytest.raises(ConfigError, match="link_template may use only"):
        load_settings(config)


def test_a_link_template_with_both_fields_is_kept(tmp_path: Path) -> None:
    template = "https://desk.example.com/c/{customer_id}/w/{warning_id}?x={{literal}}"
    config = tmp_path / "c.toml"
    config.write_text(f"[alerts]\nlink_template = {json.dumps(template)}\n")
    assert load_settings(config).alerts.link_template == template


def test_a_kafka_bootstrap_url_logged_with_the_clients_config_shows_no_credentials() -> None:
    from connectors.kafka._config import redact_config

    logged = redact_config({"bootstrap.servers": f"SASL_SSL://kuser:{SECRET}@k.example.com:9093",
                            "sasl.password": SECRET})
    assert SECRET not in repr(logged) and "k.example.com:9093" in logged["bootstrap.servers"]


@pytest.mark.parametrize("servers", [f"SASL_SSL://kuser:{SECRET}@k.example.com:9093",
                                     f"kuser:{SECRET}@k.example.com:9093"])
def test_a_kafka_bootstrap_with_credentials_is_refused_without_them(servers: str) -> None:
    """librdkafka takes user:password@host for a host name and prints it in every line it
    logs about failing to reach it (394 times in 30 seconds)."""
    from config.settings import KafkaSettings
    from connectors.kafka._config import broker_config

    with pytest.raises(ConfigError, match="sasl.username and sasl.password") as raised:
        broker_config(servers, KafkaSettings())
    assert SECRET not in str(raised.value)


def test_librdkafkas_own_log_lines_are_json_and_few(capfd: pytest.CaptureFixture[str]) -> None:
    """Without a logger, librdkafka printed raw lines (``%3|...|FAIL|...``) between the JSON
    lines of stderr, hundreds a minute while a broker was away."""
    import time

    from confluent_kafka import Consumer

    from config.settings import KafkaSettings
    from connectors.kafka._config import broker_config
    from flows.logs import configure_logging

    configure_logging("info", "json")
    consumer = Consumer({**broker_config("127.0.0.1:1", KafkaSettings()),
                         "group.id": "t", "reconnect.backoff.ms": 10,
                         "reconnect.backoff.max.ms": 10})
    try:
        until = time.monotonic() + 3
        while time.monotonic() < until:
            consumer.consume(10, 0.2)  # (serves the log queue)
    finally:
        consumer.close()
    lines = capfd.readouterr().err.splitlines()
    logged = [json.loads(line) for line in lines]  # every line is JSON
    client = [line for line in logged if line["event"] == "kafka.client_log"]
    assert client and all("127.0.0.1:1" in line["message"] for line in client)
    assert len(client) <= 4, client  # each facility once in 10 seconds


def test_an_invalid_setting_names_where_it_came_from(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable's error was said to be in the settings file, which did not hold the key."""
    config = tmp_path / "c.toml"
    config.write_text('[policy]\nbudget_per_1000 = 30\n')
    monkeypatch.setenv("CREDITRADAR_KAFKA__CONFIG", '{"sasl.password": ["x"]}')
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value).startswith(
        "invalid settings in $CREDITRADAR_KAFKA__CONFIG: kafka.config.sasl.password")
    config.write_text('[policy]\nwarn_from_grade = "Z"\n')
    monkeypatch.setenv("CREDITRADAR_POLICY__BUDGET_PER_1000", "20")  # valid, same section
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value).startswith(f"invalid settings in {config} and "
                                        "$CREDITRADAR_KAFKA__CONFIG: ")
    monkeypatch.delenv("CREDITRADAR_KAFKA__CONFIG")
    monkeypatch.setenv("CREDITRADAR_POLICY", '{"budget": 5}')  # the section, not the key
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value).startswith(f"invalid settings in {config}: policy.warn_from_grade")


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("name", ["c.toml", "c.yaml"])
def test_a_settings_file_may_start_with_a_byte_order_mark(tmp_path: Path, name: str) -> None:
    config = tmp_path / name
    config.write_bytes(BOM + (b"horizon_months = 6\n" if name.endswith(".toml")
                              else b"horizon_months: 6\n"))
    assert load_settings(config).horizon_months == 6


def test_a_toml_syntax_error_after_a_byte_order_mark_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes(BOM + b'horizon_months = 6\n[kafka]\nbootstrap = "x\n')
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*\(at line 3, column"):
        load_settings(config)


@pytest.mark.parametrize(("text", "key", "line"), [
    ("engine:\n  buckets: 2\nengine:\n  idle_input_seconds: 9\n", "engine", 3),
    ("detectors:\n  read_ahead: 5\n  max_gap_days: 40\n  read_ahead: 7\n", "read_ahead", 4),
    (f"kafka:\n  config:\n    sasl.password: {SECRET}\n    sasl.password: {SECRET}2\n",
     "sasl.password", 4),
])
def test_a_key_given_twice_in_a_yaml_mapping_is_refused(
        tmp_path: Path, text: str, key: str, line: int) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=f"not valid YAML at line {line}, column \\d+: "
                                          f"duplicate key '{key}'") as raised:
        load_settings(config)
    assert SECRET not in str(raised.value)


def test_a_yaml_merge_key_may_be_overridden(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("kafka:\n  topics: &topics\n    fx: a.fx\n    news: a.news\n"
                      "  config:\n    <<: *topics\n    fx: b.fx\n")
    config_values = load_settings(config).kafka.config
    assert {k: v.get_secret_value() for k, v in config_values.items()} == {
        "fx": "b.fx", "news": "a.news"}


@pytest.mark.parametrize("text", ["[detectors]\nread_ahead = 5\nread_ahead = 7\n",
                                  "[engine]\nbuckets = 5\n[engine]\nbuckets = 2\n"])
def test_a_key_given_twice_in_toml_is_refused(tmp_path: Path, text: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="is not valid TOML: .*at line 3"):
        load_settings(config)


@pytest.mark.parametrize(("name", "text"), [
    ("c.yaml", "detectors:\n  read_aheed: 5\n"),
    ("c.toml", "[engine]\nidle_input_second = 1\n"),
    ("c.toml", "[news]\nmatch_att = 0.5\n"),
    ("c.toml", "[[policy.tiers]]\nname = 'a'\nmin_expected_loss = 0\nreview_days = 9\n"
               "reveiw = 1\n"),
])
def test_a_misspelt_name_within_a_section_is_refused(tmp_path: Path, name: str,
                                                     text: str) -> None:
    """It was silently ignored, leaving the default in its place."""
    config = tmp_path / name
    config.write_text(text)
    with pytest.raises(ConfigError, match="extra inputs are not permitted"):
        load_settings(config)


@pytest.mark.parametrize(("name", "nearest"), [
    ("CREDITRADAR_ENGNE__BUCKETS", "CREDITRADAR_ENGINE__BUCKETS"),
    ("CREDITRADAR_DETECTRS__READ_AHEAD", "CREDITRADAR_DETECTORS__READ_AHEAD"),
    ("CREDITRADAR_DETECTORS__READ_AHAED", "CREDITRADAR_DETECTORS__READ_AHEAD"),
    ("CREDITRADAR_HORIZON_MONHTS", "CREDITRADAR_HORIZON_MONTHS"),
    ("creditradar_policy__loss_budjet", "CREDITRADAR_POLICY__LOSS_BUDGET"),
    ("CREDITRADAR_HORIZON_MONTHS__DAYS", "CREDITRADAR_HORIZON_MONTHS"),
])
def test_a_misspelt_environment_variable_is_refused_without_its_value(
        monkeypatch: pytest.MonkeyPatch, name: str, nearest: str) -> None:
    monkeypatch.setenv(name, SECRET)
    with pytest.raises(ConfigError, match=f"environment variable {name} names no setting "
                                          f"\\(did you mean {nearest}\\?\\)") as raised:
        load_settings()
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(("name", "value"), [
    ("CREDITRADAR_CONFIG", "elsewhere.toml"),  # the settings file's path (flows.cli)
    ("CREDITRADAR_JOB", "{}"),  # a spawned process's job (flows.cluster)
    ("CREDITRADAR_AUDIT_KEY", SECRET),  # docs/audit.md's --key-env example
    ("CREDITRADAR_POLICY__RESOLVE_AFTER_SNAPSHOTS", "6"),  # an alias
    ("CREDITRADAR_ALERTS__ROUTE__CONTINUE", "true"),  # an alias, three levels down
    ("creditradar_detectors__read_ahead", "5"),  # names match regardless of case
    ("CREDITRADAR_KAFKA__TOPICS__FX", "my.fx"),  # any key of a mapping
    ("CREDITRADAR_ALERTS__CHANNELS__DESK", "json://127.0.0.1/hook"),
])
def test_settings_and_other_creditradar_variables_are_accepted(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    load_settings()


@pytest.mark.parametrize(("text", "key"), [
    ("[policy]\nloss_budget = inf\n", "policy.loss_budget"),
    ("[workspace]\nsession_hours = inf\n", "workspace.session_hours"),
    ("[alerts]\ndeliver_wait_seconds = inf\n", "alerts.deliver_wait_seconds"),
    ("[alerts.route.match]\nmin_exposure = -inf\n", "alerts.route.match.min_exposure"),
    ("[alerts.route.match]\nmax_exposure = nan\n", "alerts.route.match.max_exposure"),
])
def test_a_float_setting_in_a_file_must_be_finite(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=f"{key}: input should be a finite number"):
        load_settings(config)


@pytest.mark.parametrize(("name", "key"), [
    ("CREDITRADAR_MODEL__LEARNING_RATE", "model.learning_rate"),
    ("CREDITRADAR_RECOVERY__SNAPSHOT_INTERVAL_SECONDS", "recovery.snapshot_interval_seconds"),
    ("CREDITRADAR_WORKSPACE__POLL_SECONDS", "workspace.poll_seconds"),
])
def test_a_float_setting_from_the_environment_must_be_finite(
        monkeypatch: pytest.MonkeyPatch, name: str, key: str) -> None:
    monkeypatch.setenv(name, "inf")
    with pytest.raises(ConfigError, match=f"{key}: input should be a finite number"):
        load_settings()


@pytest.mark.parametrize("named_by", ["option", "environment"])
def test_a_missing_settings_file_is_one_line_naming_where_it_was_named(
        tmp_path: Path, named_by: str) -> None:
    """It was click's usage text, blaming --config even when CREDITRADAR_CONFIG named it."""
    missing = str(tmp_path / "creditradar.toml")
    args, env = ((["--config", missing], {}) if named_by == "option"
                 else ([], {"CREDITRADAR_CONFIG": missing}))
    result = CliRunner().invoke(cli, [*args, "config", "show"], env=env)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: cannot read settings file {missing}: it does not exist"
        + (" (named by CREDITRADAR_CONFIG)" if named_by == "environment" else "")]


def test_a_hard_news_category_the_contract_does_not_know_is_refused_by_every_command(
        tmp_path: Path) -> None:
    """It was found only when a run built its books: `config show` and `alerts check-config`
    passed a setting that would never warn."""
    config = tmp_path / "c.toml"
    config.write_text('[detectors]\nhard_news_categories = ["insolvency", "bankruptcy"]\n')
    for command in (["config", "show"], ["alerts", "check-config"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command], env={})
        assert result.exit_code == 1, result.output
        assert "detectors.hard_news_categories: bankruptcy is no news category" in result.output
