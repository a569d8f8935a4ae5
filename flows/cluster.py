"""Run a job: in this process on its workers, or as a bytewax cluster of processes.

Several processes are spawned as ``python -m flows.process -w W -i I -a ADDRESSES`` on
loopback (bytewax's own ``cli_main``, as ``python -m bytewax.run`` uses; docs/kafka.md shows
that form across machines), each building the job handed over in ``CREDITRADAR_JOB``. With
``recovery.directory`` set, every process snapshots into it and a run started again resumes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
from bytewax.testing import cluster_main

from config.errors import ConnectorError
from flows.job import Job
from flows.run import (
    RunSummary,
    epoch_of,
    finish,
    mark_ended,
    prepared,
    running,
    tune_process,
)
from flows.stop import HARD_STOP, RUN, STOPPED_EXIT

log = structlog.get_logger(__name__)

JOB_ENV = "CREDITRADAR_JOB"
CHILDREN_UNWIND_SECONDS = 10.0
"""How long processes ended at once may take before they are killed: less than this run's
own `flows.stop.HARD_STOP_GRACE_SECONDS`, so that the run kills them and seals its log."""
ENTRY_MODULE = "flows.process"


def run_job(job: Job) -> RunSummary:
    """Run ``job`` to the end of its input and return the run's summary. The output folder
    is the run's alone while it runs, its processes' included (`flows.run.prepared`)."""
    directory = job.settings.recovery.directory
    with prepared(job.settings, job.out, lambda: job.feeds.partitions(),
                  job.workers * job.processes, job.topology.buckets) as (recovery, lock):
        log.info("run.start", source=job.source.kind, workers=job.workers,
                 processes=job.processes, buckets=job.topology.buckets,
                 recovery=str(directory) if directory else None)
        if job.processes == 1:
            tune_process()
            running(job.out, job.settings, lambda: cluster_main(
                job.flow(), [], 0, worker_count_per_proc=job.workers,
                epoch_interval=epoch_of(job.settings), recovery_config=recovery))
        else:  # (stopped, it stops the processes with SIGTERM and waits for them)
            running(job.out, job.settings, lambda: wait_all(spawn(job, pass_fds=(lock,))))
        mark_ended(directory)
        return finish(job.out, scores=job.scores, audit=job.settings.audit)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while picked)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def process_command(job: Job, process_id: int, addresses: list[str]) -> list[str]:
    """The command line of one process of ``job`` (see `flows.process.main`)."""
    cmd = [sys.executable, "-m", ENTRY_MODULE, "-w", str(job.workers),
           "-s", str(job.settings.recovery.snapshot_interval_seconds),
           "--parent", str(os.getpid())]
    if len(addresses) > 1:
        cmd += ["-i", str(process_id), "-a", ";".join(addresses)]
    directory = job.settings.recovery.directory
    if directory is not None:
        cmd += ["-r", str(directory)]
    return cmd


def job_environment(job: Job) -> dict[str, str]:
    """The environment of a spawned process: ours, minus settings variables (the job holds
    the effective settings), plus the job."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITRADAR_")}
    env[JOB_ENV] = job.to_json()
    return env


def spawn(job: Job, **popen: Any) -> list[subprocess.Popen[bytes]]:
    """Start the job's processes on loopback."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(job.processes)]
    env = job_environment(job)
    return [subprocess.Popen(process_command(job, i, addresses), env=env, **popen)
            for i in range(job.processes)]


def wait_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait for every process; if one fails, stop the others and raise. Asked to stop
    (`flows.stop`), or once a process stopped by itself, ask each process to stop with a
    SIGTERM and wait for them to finish their days (a process that fails meanwhile fails the
    run, as ever). Ended (a second signal, or a failure), the processes still running are
    ended at once (`flows.stop.HARD_STOP`), and killed if they have not ended
    `CHILDREN_UNWIND_SECONDS` later."""
    forwarded = False
    try:
        pending = list(children)
        while pending:
            if (RUN.requested() or RUN.was_cut()) and not forwarded:
                forwarded = True
                for child in pending:
                    child.terminate()
            for child in list(pending):
                try:
                    code = child.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    continue
                pending.remove(child)
                if code == STOPPED_EXIT or (forwarded and code == -signal.SIGTERM):
                    RUN.cut()  # (-SIGTERM: asked before it could take the request)
                elif code != 0:
                    raise ConnectorError(f"process {child.args} exited with {code}")
    finally:
        running = [child for child in children if child.poll() is None]
        for child in running:
            child.send_signal(HARD_STOP)
        deadline = time.monotonic() + CHILDREN_UNWIND_SECONDS
        for child in running:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def job_of_environment() -> Job:
    """The job a spawned process was handed."""
    text = os.environ.get(JOB_ENV)
    if not text:
        raise ConnectorError(f"no job in ${JOB_ENV}: start processes with `creditradar run`")
    return Job.from_json(text)


def recovery_of(job: Job, directory: Path | None) -> Job:
    """``job`` with recovery in ``directory`` (from a process's ``-r``), if given."""
    if directory is None:
        return job
    from dataclasses import replace

    return replace(job, settings=job.settings.with_recovery_directory(directory))
