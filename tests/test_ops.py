"""The operations surface: ``/metrics`` scraped over HTTP and parsed with the Prometheus text
parser agrees with the run's own outputs; ``/healthz`` and ``/readyz`` answer."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from feedkit import write_feeds
from prometheus_client.parser import text_string_to_metric_families
from test_monitor_flow import deteriorating_portfolio

from config.settings import Settings
from connectors.channels.loopback import JsonReceiver, free_port
from flows.ops import OpsServer, registry_for
from flows.run import DEADLETTER, WARNINGS, read_jsonl, run_folder


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_scrape_matches_the_run_and_probes_answer(tmp_path: Path) -> None:
    book = deteriorating_portfolio()
    book["payments"].append({"event_id": "bad-1", "customer_id": "GOOD", "type": "invoice"})
    feeds = write_feeds(tmp_path / "feeds", book)
    with (feeds / "payments.jsonl").open("a") as out:
        out.write("not json\n")
    receiver = JsonReceiver(free_port())
    settings = Settings(state_dir=tmp_path / "state", alerts={
        "channels": {"hook": f"json://127.0.0.1:{receiver.port}/x"},
        "receivers": {"desk": ["hook"]},
        "route": {"receiver": "desk", "group_wait": "0s"}})
    ready = {"now": False}
    ops = OpsServer("127.0.0.1", 0, registry_for(settings.state_dir),
                    ready=lambda: ready["now"]).start()
    try:
        assert get(ops.port, "/healthz")[0] == 200
        assert get(ops.port, "/readyz")[0] == 503
        summary = run_folder(settings, feeds, tmp_path / "out")
        ready["now"] = True
        assert get(ops.port, "/readyz")[0] == 200
        status, text = get(ops.port, "/metrics")
        assert get(ops.port, "/nothing")[0] == 404
    finally:
        ops.stop()
        receiver.stop()
    assert status == 200
    found = samples(text)
    rejected = Counter(d["reason"] for d in read_jsonl(tmp_path / "out" / DEADLETTER))
    assert rejected["invalid_json"] == 1 and rejected["schema"] == 1
    for reason, count in rejected.items():
        assert found[("creditradar_events_rejected_total", (("reason", reason),))] == count
    kinds = Counter(w["kind"] for w in read_jsonl(tmp_path / "out" / WARNINGS))
    assert kinds, "the deteriorating customer is warned"
    for kind, count in kinds.items():
        assert found[("creditradar_warnings_total", (("kind", kind),))] == count
    assert sum(v for (name, _), v in found.items()
               if name == "creditradar_events_read_total") == summary.read
    assert found[("creditradar_events_accepted_total", ())] == summary.accepted
    logged = found[("creditradar_events_logged_total", ())]
    assert summary.accepted <= logged <= summary.read
    assert found[("creditradar_lag_seconds", ())] > 0
    [version] = [dict(labels)["model_version"] for (name, labels) in found
                 if name == "creditradar_model_info"]
    versioned = [w for w in read_jsonl(tmp_path / "out" / WARNINGS) if w["model_version"]]
    assert version == versioned[-1]["model_version"], "the latest model's version"
    assert ("creditradar_model_refit_event_time_seconds", ()) in found
    delivered = {dict(labels)["status"]: v for (name, labels), v in found.items()
                 if name == "creditradar_deliveries"}
    assert summary.deliveries is not None
    assert delivered.get("sent", 0) == summary.deliveries["sent"] > 0


def test_the_delivery_daemon_sends_serves_its_probes_and_stops_on_sigterm(
        tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from test_alerts_routing import warning

    from connectors.channels import Notifier

    receiver = JsonReceiver(free_port())
    config = tmp_path / "c.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[alerts.channels]\n'
                      f'hook = "json://127.0.0.1:{receiver.port}/x"\n[alerts.receivers]\n'
                      'desk = ["hook"]\n[alerts.route]\nreceiver = "desk"\ngroup_wait = "0s"\n')
    settings = Settings(state_dir=tmp_path / "state", alerts={
        "channels": {"hook": f"json://127.0.0.1:{receiver.port}/x"},
        "receivers": {"desk": ["hook"]}, "route": {"receiver": "desk", "group_wait": "0s"}})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITRADAR_")}
    daemon = subprocess.Popen([sys.executable, "-m", "flows.cli", "--config", str(config),
                               "alerts", "deliver", "--daemon", "--ops-port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(port, "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert get(port, "/readyz")[0] == 200
        notifier = Notifier(settings.alerts, settings.state_dir)  # what a run's sink does
        notifier.submit(warning(1))
        notifier.close()
        sent = ("creditradar_deliveries", (("channel", "hook"), ("status", "sent")))
        deadline = time.monotonic() + 60  # the send is marked in the outbox after its answer
        while time.monotonic() < deadline and sent not in samples(get(port, "/metrics")[1]):
            time.sleep(0.2)
        assert len(receiver.received) == 1
        assert samples(get(port, "/metrics")[1])[sent] == 1
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=30)
        assert daemon.returncode == 0
        assert b"delivered 1  pending 0  failed 0" in output
    finally:  # reaped and its pipe closed, even when the test failed
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate(timeout=30)
        receiver.stop()
