"""One process of the Kafka monitor: ``python -m flows.kafka_entry`` or ``bytewax.run``.

``get_flow`` is the module-level flow getter for
``python -m bytewax.run "flows.kafka_entry:get_flow('DIR')" -i I -a "h1:p;h2:p" -r DIR -s 0 -b 0``
(name the recovery directory to both, or set ``recovery.directory``: the steps must know that
their snapshots are kept).
bytewax.run imports a module and calls a function to get the dataflow, so the job (settings,
bootstrap, start, stop-at-end) comes from the environment: ``CREDITRADAR_KAFKA_JOB`` (set by
`flows.kafka_run.spawn`) or, for a hand-started process, the usual settings (a file named by
``CREDITRADAR_CONFIG``, ``CREDITRADAR_*`` variables such as ``CREDITRADAR_KAFKA__BOOTSTRAP``).

``main`` is the same with our own argument parsing: bytewax.run cannot set a zero epoch
interval without recovery (it falls back to 10 s), and one epoch per event-time day is what
keeps a cluster deterministic (`flows.kafka_run`).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig
from bytewax.run import cli_main

from config.settings import load_settings
from flows.kafka_run import JOB_ENV, KafkaJob
from flows.logs import configure_logging
from flows.run import check_recovery_version


def get_flow(recovery_directory: str | Path | None = None) -> Dataflow:
    """The Kafka monitor flow of the job in the environment; ``recovery_directory`` (or the
    settings' ``recovery.directory``) says that bytewax keeps snapshots."""
    text = os.environ.get(JOB_ENV)
    if text:
        job = KafkaJob.from_json(text)
    else:
        config = os.environ.get("CREDITRADAR_CONFIG")
        job = KafkaJob(load_settings(Path(config) if config else None), None)
    if recovery_directory is not None:
        check_recovery_version(Path(recovery_directory))
        job = replace(job, settings=job.settings.with_recovery_directory(Path(recovery_directory)))
    configure_logging(job.settings.log_level, "auto")
    return job.flow()


def main(argv: list[str] | None = None) -> None:
    """Run one process of the Kafka flow (``-i``/``-a`` for a cluster of processes)."""
    parser = argparse.ArgumentParser(prog="python -m flows.kafka_entry")
    parser.add_argument("-w", "--workers-per-process", type=int, default=1)
    parser.add_argument("-i", "--process-id", type=int, default=None)
    parser.add_argument("-a", "--addresses", default=None, help="host:port;host:port;...")
    parser.add_argument("-r", "--recovery-directory", type=Path, default=None)
    parser.add_argument("-s", "--snapshot-interval", type=float, default=0.0,
                        help="epoch (and snapshot) interval in seconds; 0: one per batch")
    args = parser.parse_args(argv)
    cli_main(
        get_flow(args.recovery_directory),
        workers_per_process=args.workers_per_process,
        process_id=args.process_id,
        addresses=args.addresses.split(";") if args.addresses else None,
        epoch_interval=timedelta(seconds=args.snapshot_interval),
        recovery_config=(RecoveryConfig(str(args.recovery_directory))
                         if args.recovery_directory else None),
    )


if __name__ == "__main__":
    main()
