"""The ``alerts`` CLI group, run with click's CliRunner against a stand-in settings object and
a real JSON receiver on loopback; no command may print a password or token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_alerts_routing import SECRET, T0, TOKEN, warning

from config.alerts import AlertsSettings
from connectors.channels import Notifier
from connectors.channels.loopback import JsonReceiver, free_port
from flows.alerts_cli import alerts

# apprise imports the deprecated imghdr module while loading its plugins


@dataclass
class StandIn:
    """The two attributes of the main Settings the alerts CLI reads."""

    alerts: AlertsSettings
    state_dir: Path




def make_settings(tmp_path: Path, hook_port: int) -> StandIn:
    config = AlertsSettings.model_validate({
        "channels": {
            "mail": f"mailto://desk:{SECRET}@127.0.0.1:{free_port()}?to=risk@example.com"
                    "&from=radar@example.com",
            "hook": {"url": f"json://127.0.0.1:{hook_port}/{TOKEN}?apikey={TOKEN}",
                     "max_attempts": 1},
        },
        "receivers": {"credit": ["hook"], "mail-desk": ["mail"]},
        "route": {"receiver": "credit", "group_wait": "0s", "routes": [
            {"match": {"min_severity": "critical"}, "receiver": "mail-desk"}]},
    })
    return StandIn(alerts=config, state_dir=tmp_path)


def run(settings: StandIn, *args: str) -> Result:
    result = CliRunner().invoke(alerts, list(args), obj={"settings": settings})
    assert SECRET not in result.output and TOKEN not in result.output
    return result


def test_test_command_sends_a_sample_and_shows_the_url_redacted(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    settings = make_settings(tmp_path, port)
    result = run(settings, "test", f"json://127.0.0.1:{port}/{TOKEN}?token={TOKEN}",
                 "--format", "text")
    assert result.exit_code == 0, result.output
    assert f"json://127.0.0.1:{port}/***?token=***" in result.output
    [posted] = receiver.received
    assert posted["title"].startswith("[TEST] [warning] Credit warning: Sample Bau GmbH")
    assert "Reduce the credit limit" in posted["message"]
    assert run(settings, "test", "hook").exit_code == 0  # a configured channel by name
    assert len(receiver.received) == 2


def test_test_command_reports_a_failure_without_the_secret(tmp_path: Path) -> None:
    port = free_port()
    result = run(make_settings(tmp_path, port), "test",
                 f"json://admin:{SECRET}@127.0.0.1:{port}/{TOKEN}")
    assert result.exit_code == 1
    assert "delivery failed" in result.output


def test_check_config_prints_the_tree_and_each_sample_route(tmp_path: Path) -> None:
    result = run(make_settings(tmp_path, 1), "check-config")
    assert result.exit_code == 0, result.output
    assert "mail: mailto://***@127.0.0.1:" in result.output
    assert "  root/0 -> mail-desk" in result.output
    assert "sample-2 (critical, insolvency, grade E): root/0 -> mail-desk" in result.output
    assert "sample-1 (warning, payment_delay, grade C): root -> credit" in result.output
    assert result.output.rstrip().endswith("configuration OK")


def test_check_config_routes_warnings_from_a_file(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text(warning(5, severity="critical").model_dump_json() + "\n")
    result = run(make_settings(tmp_path, 1), "check-config", "--samples", str(samples))
    assert "w5 (critical, payment_delay, grade C): root/0 -> mail-desk" in result.output


def test_ack_history_and_silence_share_the_notifier_state(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    receiver, port = webhook
    settings = make_settings(tmp_path, port)
    notifier = Notifier(settings.alerts, tmp_path)
    notifier.submit(warning(1))
    notifier.deliver()
    notifier.close()

    acked = run(settings, "ack", "w1", "--by", "anna", "--comment", "limit cut")
    assert acked.exit_code == 0 and "acknowledged w1 by anna" in acked.output
    assert run(settings, "ack", "nope", "--by", "anna").exit_code == 1

    until = (T0 + timedelta(days=7)).isoformat()
    silenced = run(settings, "silence", "--customer", "C2", "--until", until, "--by", "anna")
    assert silenced.exit_code == 0, silenced.output
    assert run(settings, "silence", "--until", until).exit_code == 1
    notifier = Notifier(settings.alerts, tmp_path)
    assert notifier.submit(warning(2))[0].startswith("silenced by sil-")
    notifier.close()

    history = run(settings, "history")
    assert history.exit_code == 0
    assert "sent    hook" in history.output
    assert "acknowledged" in history.output and "anna: limit cut" in history.output
    only_w1 = run(settings, "history", "--warning", "w1").output.split("events:")[1]
    assert "w2" not in only_w1 and "w1" in only_w1


def test_history_shows_failed_deliveries_with_their_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, free_port())  # nothing listens on the hook port
    notifier = Notifier(settings.alerts, tmp_path)
    notifier.submit(warning(1))
    assert notifier.deliver().failed == 1
    notifier.close()
    result = run(settings, "history", "--status", "failed")
    assert "failed  hook" in result.output and "Connection error" in result.output


@pytest.mark.parametrize("url", [
    "webhook://127.0.0.1:notaport/hooks", "webhook:///hooks/x", "webhook://exa mple.com/hooks",
    "webhook://127.0.0.1:70000/hooks", "webhooks://u:pw@[::1/hooks", "json://127.0.0.1:99999/x",
])
def test_check_config_refuses_a_url_no_send_could_reach(tmp_path: Path, url: str) -> None:
    """Each passed as "configuration OK", and every send failed with InvalidURL."""
    settings = make_settings(tmp_path, 1)
    channels = {**settings.alerts.model_dump()["channels"], "erp": url}
    settings = StandIn(alerts=AlertsSettings.model_validate(
        {**settings.alerts.model_dump(), "channels": channels}), state_dir=tmp_path)
    result = run(settings, "check-config")
    assert result.exit_code != 0 and "configuration OK" not in result.output, result.output
    assert "a host and a port from 1 to 65535" in result.output, result.output


def test_check_config_says_a_chat_that_renders_markdown_gets_markdown(tmp_path: Path) -> None:
    chat = {"url": "mmost://127.0.0.1:8065/abcdefghijklmnopqrstuvwxyz", "body_format": "text"}
    settings = StandIn(alerts=AlertsSettings.model_validate(
        {"channels": {"chat": chat, "mail": {**chat, "url": "json://127.0.0.1:8066/x"}},
         "receivers": {"credit": ["chat", "mail"]}, "route": {"receiver": "credit"}}),
        state_dir=tmp_path)
    result = run(settings, "check-config")
    assert result.exit_code == 0, result.output
    said = {line.split(":")[0].strip(): line for line in result.output.splitlines()
            if line.startswith("  chat:") or line.startswith("  mail:")}
    assert "(sends markdown, not text: the service renders Markdown" in said["chat"]
    assert "sends" not in said["mail"]


def test_the_test_command_sends_in_a_configured_channels_own_format(
        tmp_path: Path, webhook: tuple[JsonReceiver, int]) -> None:
    """A channel configured with ``body_format = "text"`` got the sample in Markdown."""
    receiver, port = webhook
    settings = make_settings(tmp_path, port)
    channels = settings.alerts.model_dump()["channels"]
    channels["hook"] = {**channels["hook"], "body_format": "text"}
    settings = StandIn(alerts=AlertsSettings.model_validate(
        {**settings.alerts.model_dump(), "channels": channels}), state_dir=tmp_path)
    assert run(settings, "test", "hook").exit_code == 0
    [posted] = receiver.received[-1:]
    assert "###" not in posted["message"] and "\\(" not in posted["message"], posted["message"]
