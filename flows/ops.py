"""The operations surface: Prometheus metrics, ``/healthz``, ``/readyz``, and the endpoint
on which an ERP confirms the actions it applied.

``creditradar run --ops-port P`` and ``creditradar alerts deliver --daemon --ops-port P``
serve it. Flow metrics are counted as the run's outputs are written (`FlowMetrics`, fed by
``flows.run.file_outputs``); delivery metrics are read from the outbox on each scrape.

| metric | meaning |
|---|---|
| ``creditradar_events_read_total{input}`` | records an input read, once it reached its end |
| ``creditradar_events_accepted_total`` | records accepted, once every input ended |
| ``creditradar_events_logged_total`` | records that passed the door (contract, clock), live |
| ``creditradar_events_rejected_total{reason}`` | dead letters by reason (``duplicate`` too), live |
| ``creditradar_event_time_seconds`` | latest event time that passed the door |
| ``creditradar_lag_seconds`` | wall clock minus that event time |
| ``creditradar_warnings_total{kind}`` | warnings written, by kind |
| ``creditradar_model_info{model_version}`` | 1 for the model version of the latest warning |
| ``creditradar_model_refit_event_time_seconds`` | event time of the first warning of that version |
| ``creditradar_deliveries{channel,status}`` | outbox rows by channel and status |
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import ValidationError

from config.alerts import AlertsSettings
from config.audit import AuditSettings
from config.errors import CreditRadarError
from connectors.channels.actions import ActionConfirmation, ActionDesk
from connectors.channels.outbox import Outbox
from connectors.channels.store import DB_NAME, Store
from connectors.channels.webhook import verify
from detectors.clock import parse_time

log = structlog.get_logger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_BODY = 64 * 1024


class FlowMetrics(Collector):
    """Counts of one run's outputs, kept as they are written (thread-safe, resettable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the counts (a new run in this process)."""
        with self._lock:
            self.read: dict[str, int] = {}
            self.accepted: dict[str, int] = {}
            self.rejected: dict[str, int] = {}
            self.warnings: dict[str, int] = {}
            self.logged = 0
            self.latest_event: float | None = None
            self.model_version: str | None = None
            self.refit_at: float | None = None
            self.started = time.time()

    def dead_letter(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def warning(self, kind: str, model_version: str, event_time: str) -> None:
        with self._lock:
            self.warnings[kind] = self.warnings.get(kind, 0) + 1
            if model_version and model_version != self.model_version:
                self.model_version = model_version
                self.refit_at = parse_time(event_time).timestamp()

    def stats(self, row: Mapping[str, Any]) -> None:
        """A stats row: an input's records read, or a bucket's records accepted."""
        with self._lock:
            if "records" in row:
                self.read[str(row["input"])] = int(row["records"])
            elif "count" in row:
                self.accepted[str(row["bucket"])] = int(row["count"])

    def logged_inputs(self, count: int, latest_event_time: str | None) -> None:
        with self._lock:
            self.logged += count
            if latest_event_time is not None:
                moment = parse_time(latest_event_time).timestamp()
                if self.latest_event is None or moment > self.latest_event:
                    self.latest_event = moment

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            read = CounterMetricFamily("creditradar_events_read", "Records an input read "
                                       "(set when the input ends).", labels=["input"])
            for name, value in sorted(self.read.items()):
                read.add_metric([name], value)
            rejected = CounterMetricFamily("creditradar_events_rejected",
                                           "Records rejected, by dead-letter reason.",
                                           labels=["reason"])
            for reason, value in sorted(self.rejected.items()):
                rejected.add_metric([reason], value)
            warnings = CounterMetricFamily("creditradar_warnings", "Warnings written, by kind.",
                                           labels=["kind"])
            for kind, value in sorted(self.warnings.items()):
                warnings.add_metric([kind], value)
            yield read
            yield CounterMetricFamily("creditradar_events_accepted", "Records accepted (set "
                                      "when every input ended).",
                                      value=sum(self.accepted.values()))
            yield CounterMetricFamily("creditradar_events_logged", "Records that passed the "
                                      "door (contract and clock checks).", value=self.logged)
            yield rejected
            yield warnings
            if self.latest_event is not None:
                yield GaugeMetricFamily("creditradar_event_time_seconds", "Latest event time "
                                        "that passed the door.", value=self.latest_event)
                yield GaugeMetricFamily("creditradar_lag_seconds", "Wall clock minus the "
                                        "latest event time.",
                                        value=time.time() - self.latest_event)
            if self.model_version is not None:
                info = GaugeMetricFamily("creditradar_model_info", "The model version of the "
                                         "latest warning.", labels=["model_version"])
                info.add_metric([self.model_version], 1)
                yield info
            if self.refit_at is not None:
                yield GaugeMetricFamily("creditradar_model_refit_event_time_seconds",
                                        "Event time of the first warning of the current "
                                        "model version.", value=self.refit_at)


FLOW = FlowMetrics()
"""This process's flow metrics (a process runs one flow at a time)."""


class DeliveryMetrics(Collector):
    """Outbox rows by channel and status, read from ``state_dir`` on each scrape."""

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = Path(state_dir)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("creditradar_deliveries", "Outbox deliveries by channel "
                                   "and status (pending, sent, failed).",
                                   labels=["channel", "status"])
        if (self._state_dir / DB_NAME).exists():
            store = Store(self._state_dir)
            try:
                for (channel, status), count in sorted(Outbox(store).counts_by_channel()
                                                       .items()):
                    family.add_metric([channel, status], count)
            finally:
                store.close()
        yield family


def registry_for(state_dir: Path | None, flow: bool = True) -> CollectorRegistry:
    """A registry with the flow metrics (``flow``) and the deliveries of ``state_dir``."""
    registry = CollectorRegistry(auto_describe=True)
    if flow:
        registry.register(FLOW)
    if state_dir is not None:
        registry.register(DeliveryMetrics(state_dir))
    return registry


class OpsServer:
    """Serves ``/metrics``, ``/healthz``, ``/readyz`` and ``POST /actions/confirmations``
    on a background thread.

    ``ready`` answers whether the service can do its work now (``/readyz`` is 503 until it
    does); ``/healthz`` only says the process answers. Confirmations need a valid Standard
    Webhooks signature made with the signing secret of an action endpoint.
    """

    def __init__(self, host: str, port: int, registry: CollectorRegistry,
                 ready: Callable[[], bool], alerts: AlertsSettings | None = None,
                 state_dir: Path | None = None, audit: AuditSettings | None = None) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._get(self)

            def do_POST(self) -> None:  # noqa: N802
                server._post(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Requests are not logged (scrapes come every few seconds)."""

        self._registry = registry
        self._ready = ready
        self._alerts = alerts
        self._state_dir = state_dir
        self._audit = audit
        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, name="ops",
                                        daemon=True)

    def start(self) -> OpsServer:
        self._thread.start()
        log.info("ops.started", port=self.port)
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path == "/metrics":
            _answer(request, 200, generate_latest(self._registry), CONTENT_TYPE)
        elif path == "/healthz":
            _answer(request, 200, b"ok\n")
        elif path == "/readyz":
            ready = _safely(self._ready)
            _answer(request, 200 if ready else 503, b"ready\n" if ready else b"not ready\n")
        else:
            _answer(request, 404, b"not found\n")

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        if request.path.split("?", 1)[0] != "/actions/confirmations":
            _answer(request, 404, b"not found\n")
            return
        length = int(request.headers.get("content-length") or 0)
        if length <= 0 or length > MAX_BODY:
            _answer(request, 400, b"a JSON body of at most 64 KiB is expected\n")
            return
        body = request.rfile.read(length).decode("utf-8", errors="replace")
        status, text = self.confirm(body, dict(request.headers.items()))
        _answer(request, status, text.encode() + b"\n")

    def confirm(self, body: str, headers: Mapping[str, str]) -> tuple[int, str]:
        """Check the signature, then record the confirmation; an HTTP status and a reason."""
        if self._alerts is None or self._state_dir is None:
            return 404, "no action endpoints here"
        secrets = [cfg.signing_secret.get_secret_value()
                   for name, cfg in self._alerts.channels.items()
                   if name in self._alerts.actions.endpoints and cfg.signing_secret]
        if not any(verify(secret, dict(headers), body) for secret in secrets):
            return 401, "missing or invalid webhook signature"
        try:
            confirmation = ActionConfirmation.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            return 400, "not an action confirmation"
        desk = ActionDesk(self._alerts, self._state_dir, audit=self._audit)
        try:
            desk.confirm(confirmation)
        except CreditRadarError:
            return 404, "unknown idempotency key"
        finally:
            desk.close()
        return 200, "recorded"


def _safely(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    # a failing probe means "not ready", whatever failed
    except Exception:
        return False


def _answer(request: BaseHTTPRequestHandler, status: int, body: bytes,
            content_type: str = "text/plain; charset=utf-8") -> None:
    request.send_response(status)
    request.send_header("content-type", content_type)
    request.send_header("content-length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def outbox_ready(state_dir: Path) -> Callable[[], bool]:
    """A readiness check: the outbox of ``state_dir`` opens and answers a query."""
    def check() -> bool:
        store = Store(Path(state_dir))
        try:
            Outbox(store).counts()
            return True
        finally:
            store.close()
    return check
