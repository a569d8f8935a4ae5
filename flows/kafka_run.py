"""Run the monitor on Kafka: one process in-line, or a bytewax cluster of processes.

`run_kafka` builds the same `build_flow` as the folder run, with `KafkaFeedSource` and the
Kafka sinks. One process runs in this interpreter (``workers`` threads); several are spawned
as ``python -m flows.kafka_entry -w W -i I -a ADDRESSES`` on loopback (bytewax's own
``cli_main``, as ``python -m bytewax.run`` uses; docs/kafka.md shows that form for several
machines), with the job handed over in the ``CREDITRADAR_KAFKA_JOB`` environment variable.
Recovery (bytewax snapshots into a directory of SQLite partitions) is on when a recovery
directory is given.

Epochs: by default one epoch per source batch, i.e. per event-time day, as in the folder run
(`flows.run.EPOCH`): that lockstep is what makes a cluster decide exactly like one worker.
In bytewax the snapshot interval *is* the epoch interval, so with recovery on every day is a
snapshot; a ``snapshot_interval`` in seconds makes snapshots rarer but lets partitions on
different workers drift apart by up to that much wall time (fine with one source partition).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import bytewax.operators as op
import structlog
from bytewax.dataflow import Dataflow
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.recovery import RecoveryConfig
from bytewax.testing import cluster_main

from config.errors import ConfigError, ConnectorError
from config.settings import Settings
from connectors.kafka import (
    DeadLetterSink,
    KafkaFeedSource,
    Start,
    WarningsSink,
    broker_config,
    feed_topics,
    redact_config,
)
from connectors.sinks import JsonLinesSink
from detectors.clock import parse_time
from flows.monitor import Outputs, build_flow
from flows.run import EPOCH, STATS, WATCHLIST, prepare_recovery, tune_gc

log = structlog.get_logger(__name__)

JOB_ENV = "CREDITRADAR_KAFKA_JOB"
ENTRY_MODULE = "flows.kafka_entry"


@dataclass(frozen=True)
class KafkaJob:
    """Everything a process needs to build the Kafka flow (sent to spawned processes)."""

    settings: Settings
    bootstrap: str | None
    start: Start = "beginning"
    stop_at_end: bool = False
    out: Path | None = None
    passthrough: bool = False
    """Read the feeds and drop them (the benchmark's baseline), instead of monitoring."""

    def to_json(self) -> str:
        """The job as JSON, secrets included: only for a child process's environment."""
        data = self.settings.model_dump(mode="json")
        data["kafka"]["config"] = {k: v.get_secret_value()
                                   for k, v in self.settings.kafka.config.items()}
        start = self.start.isoformat() if isinstance(self.start, datetime) else self.start
        return json.dumps({"settings": data, "bootstrap": self.bootstrap, "start": start,
                           "stop_at_end": self.stop_at_end,
                           "out": str(self.out) if self.out else None,
                           "passthrough": self.passthrough})

    @classmethod
    def from_json(cls, text: str) -> KafkaJob:
        data = json.loads(text)
        return cls(Settings(**data["settings"]), data["bootstrap"], parse_start(data["start"]),
                   data["stop_at_end"], Path(data["out"]) if data["out"] else None,
                   data.get("passthrough", False))

    def flow(self) -> Dataflow:
        """The monitor flow wired to Kafka (and, with ``out``, watchlist/stats files), for
        this process to run (the passthrough baseline gets the same process settings)."""
        tune_gc()
        kafka = self.settings.kafka
        config = broker_config(self.bootstrap, kafka)
        source = KafkaFeedSource(feed_topics(kafka), config, start=self.start,
                                 stop_at_end=self.stop_at_end)
        if self.passthrough:
            flow = Dataflow("creditradar-passthrough")
            op.output("drop", op.input("feeds", flow, source), DiscardSink())
            return flow
        outputs = Outputs(
            warnings=WarningsSink(kafka.topics["warnings"], config),
            deadletter=DeadLetterSink(kafka.topics["deadletter"], config),
            watchlist=JsonLinesSink(self.out / WATCHLIST) if self.out else None,
            stats=JsonLinesSink(self.out / STATS) if self.out else None,
        )
        return build_flow(self.settings, source, outputs)


class _DropPartition(StatelessSinkPartition[Any]):
    def write_batch(self, items: list[Any]) -> None:
        del items


class DiscardSink(DynamicSink[Any]):
    """A sink that discards everything (Kafka -> bytewax -> nothing)."""

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _DropPartition:
        return _DropPartition()


def parse_start(text: str) -> Start:
    """``beginning``, ``end``, or an RFC 3339 time (a date means its midnight UTC)."""
    if text in ("beginning", "end"):
        return text  # type: ignore[return-value]
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ConfigError(f"--from {text!r} is not beginning, end or an RFC 3339 time") from exc


def run_kafka(
    settings: Settings,
    bootstrap: str | None,
    *,
    workers: int = 1,
    processes: int = 1,
    recovery_dir: Path | None = None,
    snapshot_interval: float | None = None,
    start: Start = "beginning",
    stop_at_end: bool = False,
    out: Path | None = None,
) -> None:
    """Monitor the feed topics until stopped (or, with ``stop_at_end``, to their end).

    ``recovery_dir`` (default ``settings.recovery.directory``) turns recovery on. Epochs (and
    so snapshots) close after every event-time day unless ``snapshot_interval`` (seconds)
    says otherwise; see the module docstring for why.
    ``out`` also writes the watchlist and input counts there (all processes must see it).
    """
    recovery_dir = recovery_dir or settings.recovery.directory
    job = KafkaJob(settings.with_recovery_directory(recovery_dir), bootstrap, start,
                   stop_at_end, out)
    snapshot_interval = snapshot_interval or settings.recovery.snapshot_interval_seconds
    epoch = EPOCH if snapshot_interval is None else timedelta(seconds=snapshot_interval)
    if recovery_dir is not None:
        prepare_recovery(recovery_dir, workers * processes)
    log.info("kafka_run.start", workers=workers, processes=processes,
             recovery_dir=str(recovery_dir) if recovery_dir else None, start=str(start),
             config=redact_config(broker_config(bootstrap, settings.kafka)))
    if processes == 1:
        recovery = RecoveryConfig(str(recovery_dir)) if recovery_dir else None
        cluster_main(job.flow(), [], 0, worker_count_per_proc=workers,
                     epoch_interval=epoch, recovery_config=recovery)
        return
    children = spawn(job, processes=processes, workers=workers, recovery_dir=recovery_dir,
                     snapshot_interval=epoch.total_seconds())
    wait_all(children)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while picked)."""
    import socket

    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def bytewax_command(*, workers: int, process_id: int | None = None,
                    addresses: list[str] | None = None, recovery_dir: Path | None = None,
                    snapshot_interval: float = 0.0) -> list[str]:
    """The command line of one process of the Kafka flow (see `flows.kafka_entry.main`)."""
    cmd = [sys.executable, "-m", ENTRY_MODULE, "-w", str(workers), "-s", str(snapshot_interval)]
    if addresses and len(addresses) > 1:
        cmd += ["-i", str(process_id), "-a", ";".join(addresses)]
    if recovery_dir is not None:
        cmd += ["-r", str(recovery_dir)]
    return cmd


def job_environment(job: KafkaJob) -> dict[str, str]:
    """The environment of a spawned process: ours, minus settings variables (the job already
    holds the effective settings), plus the job."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITRADAR_")}
    env[JOB_ENV] = job.to_json()
    return env


def spawn(job: KafkaJob, *, processes: int, workers: int, recovery_dir: Path | None = None,
          snapshot_interval: float = 0.0, **popen: Any) -> list[subprocess.Popen[bytes]]:
    """Start ``processes`` bytewax processes of the Kafka flow on loopback."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(processes)]
    env = job_environment(job)
    return [subprocess.Popen(
        bytewax_command(workers=workers, process_id=i, addresses=addresses,
                        recovery_dir=recovery_dir, snapshot_interval=snapshot_interval),
        env=env, **popen) for i in range(processes)]


def wait_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait for every process; if one fails, stop the others and raise."""
    try:
        pending = list(children)
        while pending:
            for child in list(pending):
                try:
                    code = child.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    continue
                pending.remove(child)
                if code != 0:
                    raise ConnectorError(f"bytewax process {child.args} exited with {code}")
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
                child.wait(timeout=30)
