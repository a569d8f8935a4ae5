"""End-to-end throughput of the monitor on Kafka, next to a passthrough flow on the same data.

    .venv/bin/python bench/kafka_bench.py [--customers 1000] [--months 24] [--partitions 4]

Simulates a portfolio, publishes it to fresh topics (``--partitions`` each) on the broker in
``KAFKA_BOOTSTRAP`` or on a broker started by the test harness, then runs, each as child
processes reading the topics from the beginning to their end: the passthrough flow (Kafka ->
bytewax -> nothing, the same `KafkaFeedSource`) and the full monitor, with 1 and with 2
processes. It prints events per second (wall time of the whole run, start-up included), the
ratios against the targets. Each kind runs ``--rounds`` times, interleaved; rates are medians,
and each ratio is the median of the ratios within a round (runs next to each other in time):
the machines here are shared, and one busy spell should not make the figure.

State per customer is measured apart, as the slope of the monitor's peak memory between a
portfolio and one four times larger (same months), each run from a folder in a child
process: fixed costs (libraries, models, buffers) cancel, what grows with customers stays.
The child reports its own high-water mark (``VmHWM``): a child's ``ru_maxrss`` would include
this process's memory from before the child's ``exec``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kafka_broker import KafkaBroker, create_topic  # noqa: E402 (the harness lives in tests/)

from config.settings import KafkaSettings, Settings  # noqa: E402
from connectors.contracts import FEEDS  # noqa: E402
from connectors.kafka import produce_folder  # noqa: E402
from connectors.simulator import simulate  # noqa: E402
from flows.kafka_run import DiscardSink, KafkaJob, spawn  # noqa: E402


def _run(job: KafkaJob, processes: int) -> float:
    """Wall seconds of one run to the end of the topics."""
    started = time.monotonic()
    children = spawn(job, processes=processes, workers=1, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    for child in children:
        if child.wait() != 0:
            raise SystemExit(f"{child.args} exited with {child.returncode}")
    return time.monotonic() - started


def _state_per_customer(work: Path, customers: int, months: int, seed: int) -> float:
    """Bytes of peak memory each extra customer adds to the monitor (see the docstring)."""
    peaks = []
    for n in (customers, 4 * customers):
        feeds = work / f"state-{n}"
        simulate(n, months, seed, feeds)
        report = subprocess.run([sys.executable, __file__, "--monitor-folder", str(feeds)],
                                check=True, capture_output=True, text=True).stdout
        peaks.append(int(report.split()[-1]))
    return (peaks[1] - peaks[0]) / (3 * customers)


def _monitor_folder(feeds: Path) -> None:
    """The child of `_state_per_customer`: the whole monitor, its outputs discarded."""
    from bytewax.testing import run_main

    from connectors.files import FeedFolderSource
    from flows.monitor import Outputs, build_flow
    from flows.run import EPOCH, tune_gc

    drop = DiscardSink()
    flow = build_flow(Settings(), FeedFolderSource(feeds),
                      Outputs(warnings=drop, deadletter=drop, watchlist=drop, stats=drop))
    tune_gc()
    run_main(flow, epoch_interval=EPOCH)
    status = Path("/proc/self/status").read_text()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)  # kB -> bytes


def _check_read_everything(out: Path, events: int) -> None:
    """A fast run that skipped input would be a false result: count what the monitor read."""
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    read = sum(row.get("records", 0) for row in rows)
    if read != events:
        raise SystemExit(f"the monitor read {read} of {events} events: the figure is void")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each kind; the figures are their medians")
    parser.add_argument("--state-customers", type=int, default=500,
                        help="the smaller portfolio of the state measurement (and 4x that)")
    parser.add_argument("--monitor-folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.monitor_folder:
        return _monitor_folder(args.monitor_folder)

    work = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        broker = KafkaBroker(work / "broker").start()
        bootstrap = broker.bootstrap
    try:
        feeds = work / "feeds"
        summary = simulate(args.customers, args.months, args.seed, feeds)
        tag = uuid.uuid4().hex[:8]
        topics = {n: f"bench-{tag}.{n}" for n in (*FEEDS, "warnings", "deadletter")}
        for topic in topics.values():
            create_topic(bootstrap, topic, args.partitions)
        started = time.monotonic()
        counts = produce_folder({"bootstrap.servers": bootstrap}, feeds, topics)
        events = sum(counts.values())
        print(f"published {events} events of {args.customers} customers x {args.months} months"
              f" ({summary.records}) in {time.monotonic() - started:.1f}s, "
              f"{args.partitions} partitions per topic")
        settings = Settings(kafka=KafkaSettings(topics=topics))
        runs: dict[tuple[str, int], list[float]] = {}
        for round_ in range(1, args.rounds + 1):  # interleaved: a busy spell hits every kind
            for processes in (1, 2):
                for kind in ("passthrough", "monitor"):
                    out = work / f"{kind}-{processes}-{round_}"
                    job = KafkaJob(settings, bootstrap, stop_at_end=True,
                                   passthrough=kind == "passthrough",
                                   out=out if kind == "monitor" else None)
                    seconds = _run(job, processes)
                    if kind == "monitor":
                        _check_read_everything(out, events)
                    runs.setdefault((kind, processes), []).append(events / seconds)
                    print(f"round {round_}: {kind:<11} {processes} process(es): {seconds:7.1f}s "
                          f"{events / seconds:9.0f} events/s")
        rates = {key: statistics.median(values) for key, values in runs.items()}
        for (kind, processes), rate in rates.items():
            print(f"median of {args.rounds}: {kind:<11} {processes} process(es): "
                  f"{rate:9.0f} events/s")
        # Ratios pair runs of the same round (next to each other in time), then take the median.
        ratio_1 = statistics.median(m / p for m, p in zip(runs["monitor", 1],
                                                          runs["passthrough", 1], strict=True))
        scale = statistics.median(m2 / m1 for m2, m1 in zip(runs["monitor", 2],
                                                            runs["monitor", 1], strict=True))
        state = _state_per_customer(work, args.state_customers, args.months, args.seed)
        print(f"monitor / passthrough, 1 process: {ratio_1:.2f} (target >= 0.40)")
        print(f"monitor 2 processes / 1 process: {scale:.2f}x (target >= 1.7x)")
        print(f"peak memory of state: {state:,.0f} bytes per customer, "
              f"{state * 100_000 / 2**20:,.0f} MiB per 100,000 customers (target < 4 KB each; "
              f"slope between {args.state_customers:,} and {4 * args.state_customers:,} "
              f"customers x {args.months} months)")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
