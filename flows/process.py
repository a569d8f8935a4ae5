"""One process of a monitor cluster: ``python -m flows.process`` (spawned by `flows.cluster`).

It builds the flow of the job in ``CREDITRADAR_JOB`` and runs it with bytewax's own
``cli_main``. ``get_flow`` is the same for ``python -m bytewax.run "flows.process:get_flow()"
-w W -i I -a "h1:p;h2:p" -r DIR -s 5`` on several machines (the job in the environment).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig
from bytewax.run import cli_main

from config.redact import error_line
from connectors.partition import take_source_errors
from connectors.sinks import raise_output_errors, take_output_errors
from flows.cluster import job_of_environment, recovery_of
from flows.job import Job
from flows.logs import configure_logging
from flows.run import check_recovery_version, tune_process
from flows.stop import RUN, STOPPED_EXIT, stopping_on

PR_SET_PDEATHSIG = 1
"""prctl(2)'s option that names the signal a process gets when its parent dies."""


def get_flow(recovery_directory: str | Path | None = None) -> Dataflow:
    """The flow of the job in the environment; ``recovery_directory`` (or the settings'
    ``recovery.directory``) says that bytewax keeps snapshots there."""
    return _flow(_job(recovery_directory))


def _job(recovery_directory: str | Path | None) -> Job:
    directory = Path(recovery_directory) if recovery_directory is not None else None
    return recovery_of(job_of_environment(), directory)


def _flow(job: Job) -> Dataflow:
    if job.settings.recovery.directory is not None:
        check_recovery_version(job.settings.recovery.directory, job.topology.buckets)
    configure_logging(job.settings.log_level, "auto")
    tune_process()
    return job.flow()


def main(argv: list[str] | None = None) -> None:
    """Run one process of the job's cluster. An error CreditRadar reports (a source plugin's,
    a bad setting), an output the disk refuses (full, or a file-size limit) or a peer that
    ended (`peer_ended`) ends it with one line, redacted as the command's own
    (`config.redact.error_line`: the plugin's option values hidden); a bug keeps its
    traceback. Stopped (`flows.stop`: by its parent, or a signal to the process group) with
    input left to read, it exits with `flows.stop.STOPPED_EXIT`."""
    with stopping_on(signal.SIGINT, signal.SIGTERM, escalate=False):
        _main(argv)
    if RUN.was_cut():
        sys.exit(STOPPED_EXIT)


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.process")
    parser.add_argument("-w", "--workers-per-process", type=int, default=1)
    parser.add_argument("-i", "--process-id", type=int, default=None)
    parser.add_argument("-a", "--addresses", default=None, help="host:port;host:port;...")
    parser.add_argument("-r", "--recovery-directory", type=Path, default=None)
    parser.add_argument("-s", "--snapshot-interval", type=float, default=5.0,
                        help="seconds between epochs (and recovery snapshots)")
    parser.add_argument("--parent", type=int, default=None,
                        help="the pid of the run that started this process, to end with it")
    args = parser.parse_args(argv)
    if args.parent is not None:
        end_with_parent(args.parent)
    hidden: tuple[str, ...] = ()
    try:
        job = _job(args.recovery_directory)
        hidden = job.option_values()
        cli_main(
            _flow(job),
            workers_per_process=args.workers_per_process,
            process_id=args.process_id,
            addresses=args.addresses.split(";") if args.addresses else None,
            epoch_interval=timedelta(seconds=args.snapshot_interval),
            recovery_config=(RecoveryConfig(str(args.recovery_directory))
                             if args.recovery_directory else None),
        )
        raise_output_errors()
    except KeyboardInterrupt:  # stopped at once (HARD_STOP): its outputs are closed
        sys.exit(f"creditradar process {args.process_id or 0}: stopped")
    except BaseException as exc:  # a worker's error reaches a cluster as bytewax's panic
        kept = take_output_errors() + take_source_errors()  # (an output's error first)
        line = (error_line(kept[0], hidden) if kept
                else error_line(exc, hidden) or peer_ended(exc))
        if line is None:
            raise
        sys.exit(f"creditradar process {args.process_id or 0}: {line}")


def end_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` (the run that spawned it) dies, and
    end at once if it is gone already: a run killed with SIGKILL left its processes running,
    and a run started again wrote into the same folder beside them (Linux; elsewhere the
    output folder's lock, `flows.folders.exclusive`, still refuses the second run)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def peer_ended(exc: BaseException) -> str | None:
    """The line of a process whose peer in the cluster ended (bytewax's communication threads
    panic when a peer's connection closes: ``Send thread panic``), where the peer's own line
    says why; None for any other error (a bug keeps its traceback)."""
    if type(exc).__name__ == "PanicException" and "thread panic" in str(exc):
        return "stopped: another process of the cluster ended (its line says why)"
    return None


if __name__ == "__main__":
    main()
