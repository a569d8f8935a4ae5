"""A channel whose receiver hangs never holds the process open: `creditradar alerts deliver`
and `creditradar run` exit once their time for delivery is up, not when the channel's
timeout ends, and the message stays queued for the next worker. Run as real processes
against a receiver on loopback that accepts connections and never answers (the threads
that outlive a command only show at the interpreter's exit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from receivers import HungReceiver
from test_alerts_routing import warning

from config.alerts import AlertsSettings
from connectors.channels import Notifier
from connectors.channels.worker import delivery_counts
from connectors.simulator import simulate

TIMEOUT = 30
"""The hung channel's timeout_seconds: what a command would wait if a send held it open."""
BOUND = 15
"""A command must end well before TIMEOUT (start-up on a loaded machine included)."""


@pytest.fixture
def hung() -> Iterator[HungReceiver]:
    receiver = HungReceiver()
    yield receiver
    receiver.stop()


def config_file(folder: Path, port: int) -> Path:
    """Settings with one apprise channel (JSON) to the hung receiver."""
    path = folder / "creditradar.toml"
    path.write_text(f"""state_dir = "{folder / 'state'}"
[alerts]
deliver_wait_seconds = 1
[alerts.channels]
hook = {{ url = "json://127.0.0.1:{port}/x", timeout_seconds = {TIMEOUT} }}
[alerts.receivers]
credit = ["hook"]
[alerts.route]
receiver = "credit"
group_wait = "0s"
""")
    return path


def creditradar(config: Path, *args: str) -> tuple[float, list[dict[str, Any]]]:
    """Run the command; the seconds it took to exit, and its log events."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITRADAR_")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "--config", str(config),
                           "--log-format", "json", *args], env=env,
                          capture_output=True, text=True, timeout=4 * TIMEOUT, check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return elapsed, [json.loads(line) for line in done.stderr.splitlines()
                     if line.startswith("{")]


def test_alerts_deliver_ends_at_max_seconds_with_a_hung_apprise_channel(
        tmp_path: Path, hung: HungReceiver) -> None:
    config = config_file(tmp_path, hung.port)
    settings = AlertsSettings.model_validate({
        "channels": {"hook": f"json://127.0.0.1:{hung.port}/x"},
        "receivers": {"credit": ["hook"]}, "route": {"receiver": "credit", "group_wait": "0s"},
    })
    notifier = Notifier(settings, tmp_path / "state")
    notifier.submit(warning(1))
    notifier.close()

    elapsed, logs = creditradar(config, "alerts", "deliver", "--max-seconds", "1")
    assert hung.accepted >= 1, "the worker did try to send"
    assert elapsed < BOUND, f"{elapsed:.1f} s for --max-seconds 1"
    assert delivery_counts(tmp_path / "state") == {"pending": 1, "sent": 0, "failed": 0}
    [stopped] = [event for event in logs if event["event"] == "delivery.stopped"]
    assert stopped["pending"] == 1, "the worker's report says what it left queued"


def test_a_run_ends_after_its_deliver_wait_with_a_hung_apprise_channel(
        tmp_path: Path, hung: HungReceiver) -> None:
    feeds = tmp_path / "feeds"
    simulate(60, 12, 4, feeds)
    config = config_file(tmp_path, hung.port)

    elapsed, _ = creditradar(config, "--log-level", "warning", "run", "--feeds", str(feeds),
                             "--out", str(tmp_path / "out"))
    assert hung.accepted >= 1, "the worker did try to send"
    assert elapsed < BOUND, f"{elapsed:.1f} s for a run with --deliver-wait 1"
    counts = delivery_counts(tmp_path / "state")
    assert counts["pending"] >= 1 and counts["sent"] == 0 and counts["failed"] == 0
