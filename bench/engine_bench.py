"""How the monitor's cost grows with the events, the book and its history (`make bench`).

    .venv/bin/python bench/engine_bench.py [--rounds 2] [--customers 10000] [--cards 30000]

Every run is a child process over a feeds folder written by the simulator, timed on the wall
clock from start to end (start-up included); its peak memory is the child's own high-water
mark (``VmHWM``). Each figure is a ratio of runs made in this one invocation, so a shared,
busy machine slows both sides of it alike; with ``--rounds`` above one, runs of each kind
alternate and the median of the per-round ratios is reported.

- **monitor / passthrough**: the monitor's events/s over those of a flow with the same
  source (files read, records parsed and checked, put in event-time order) and nothing
  after it, on ``--customers`` x 24 months, one process.
- **2 processes / 1**: the monitor on the same book with two processes of one worker each.
- **customers kept**: events/s of ``--customers`` against 2,000 customers (24 months).
- **history kept** and **history memory**: 2,000 customers over 96 months against 24 months.
- **KB per added customer**: the slope of peak memory from 2,000 to ``--customers``.
- **sparse book**: the ``cards`` profile (10,000 accounts, 7 monthly tradelines each,
  starts spread over 8 years) against the 2,000-customer book's events/s.
- **cards 30,000**: the ``cards`` profile with 30,000 accounts, events/s and peak memory.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {
    "monitor / passthrough": (0.40, ">="),
    "2 processes / 1": (1.5, ">="),
    "customers kept": (0.80, ">="),
    "history kept": (0.80, ">="),
    "history memory": (1.25, "<="),
    "KB per added customer": (8.0, "<="),
    "sparse book vs 2,000": (0.50, ">="),
    "cards 30,000 events/s": (5800.0, ">="),
    "cards 30,000 peak MB": (1024.0, "<="),
}
"""Each figure's goal."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    events: int
    peak_kb: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def _child(argv: list[str]) -> None:
    """Run inside the child: the passthrough or the monitor's command line, then report
    the events read and this process's peak memory as one JSON line on stdout."""
    kind, feeds = argv[0], Path(argv[1])
    if kind == "passthrough":
        events = _passthrough(feeds)
    else:
        events = _monitor(feeds, Path(argv[2]), argv[3:])
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:"))
    print(json.dumps({"events": events, "peak_kb": peak}))


def _passthrough(feeds: Path) -> int:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.outputs import DynamicSink, StatelessSinkPartition
    from bytewax.testing import cluster_main

    from config.settings import Settings
    from connectors.files import FolderFeeds
    from flows.engine import feed_source
    from flows.run import epoch_of, tune_process
    from flows.topology import Topology

    counted = [0]

    class Count(StatelessSinkPartition[object]):
        def write_batch(self, items: list[object]) -> None:
            for item in items:
                if isinstance(item, tuple):
                    counted[0] += len(item[1].items)

    class Counted(DynamicSink[object]):
        def build(self, step_id: str, worker_index: int, worker_count: int) -> Count:
            return Count()

    settings = Settings()
    flow = Dataflow("passthrough")
    source = feed_source(settings, FolderFeeds(feeds), Topology(1, settings.engine.buckets))
    op.output("drop", op.input("feeds", flow, source), Counted())
    tune_process()
    cluster_main(flow, addresses=[], proc_id=0, worker_count_per_proc=1,
                 epoch_interval=epoch_of(settings))
    return counted[0]


def _monitor(feeds: Path, out: Path, options: list[str]) -> int:
    from flows.cli import cli
    from flows.run import summarize

    cli.main(["--log-level", "error", "run", "--feeds", str(feeds), "--out", str(out),
              "--top", "0", *options], standalone_mode=False)
    return summarize(out).read


def _timed(*args: str) -> Timed:
    started = time.monotonic()
    done = subprocess.run([sys.executable, __file__, "child", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Timed(seconds, report["events"], report["peak_kb"])


def _simulate(work: Path, name: str, customers: int, months: int,
              profile: str = "receivables") -> Path:
    out = work / name
    from connectors.simulator import simulate

    simulate(customers, months, 9090, out, profile=profile)
    return out


def _median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(a / b for a, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=30_000)
    args = parser.parse_args()

    figures: dict[str, float] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="creditradar-bench-") as tmp:
        work = Path(tmp)
        big = _simulate(work, "big", args.customers, 24)
        small = _simulate(work, "small", 2000, 24)
        long = _simulate(work, "long", 2000, 96)
        sparse = _simulate(work, "sparse", 10_000, 96, "cards")
        cards = _simulate(work, "cards", args.cards, 96, "cards")

        def monitor(feeds: Path, *options: str) -> Timed:
            return _timed("monitor", str(feeds), str(work / "out"), *options)

        passthrough, one, two, smalls = [], [], [], []
        for _ in range(args.rounds):
            passthrough.append(_timed("passthrough", str(big)))
            one.append(monitor(big))
            two.append(monitor(big, "--processes", "2"))
            smalls.append(monitor(small))
        figures["monitor / passthrough"] = _median_ratio(
            [(p.seconds, m.seconds) for p, m in zip(passthrough, one, strict=True)])
        figures["2 processes / 1"] = _median_ratio(
            [(m.seconds, t.seconds) for m, t in zip(one, two, strict=True)])
        figures["customers kept"] = _median_ratio(
            [(b.rate, s.rate) for b, s in zip(one, smalls, strict=True)])
        notes.append(f"{args.customers:,} customers x 24 months: {one[0].events:,} events, "
                     f"passthrough {statistics.median(p.rate for p in passthrough):,.0f}/s, "
                     f"monitor {statistics.median(m.rate for m in one):,.0f}/s, "
                     f"2 processes {statistics.median(t.rate for t in two):,.0f}/s; "
                     f"2,000 customers {statistics.median(s.rate for s in smalls):,.0f}/s")

        small_run = smalls[-1]
        long_run = monitor(long)
        figures["history kept"] = long_run.rate / small_run.rate
        figures["history memory"] = long_run.peak_kb / small_run.peak_kb
        figures["KB per added customer"] = (
            (statistics.median(m.peak_kb for m in one)
             - statistics.median(s.peak_kb for s in smalls)) / (args.customers - 2000))
        notes.append(f"2,000 customers x 96 months: {long_run.events:,} events, "
                     f"{long_run.rate:,.0f}/s, peak {long_run.peak_kb / 1024:,.0f} MB "
                     f"(24 months: {small_run.peak_kb / 1024:,.0f} MB)")

        sparse_run = monitor(sparse)
        figures["sparse book vs 2,000"] = sparse_run.rate / small_run.rate
        notes.append(f"sparse cards book, 10,000 accounts over 8 years: "
                     f"{sparse_run.events:,} events, {sparse_run.rate:,.0f}/s")

        cards_run = monitor(cards)
        figures["cards 30,000 events/s"] = cards_run.rate
        figures["cards 30,000 peak MB"] = cards_run.peak_kb / 1024
        notes.append(f"cards book, {args.cards:,} accounts: {cards_run.events:,} events in "
                     f"{cards_run.seconds:.1f} s")

    for name, value in figures.items():
        goal, op = TARGETS[name]
        met = value >= goal if op == ">=" else value <= goal
        print(f"{name:<24} {value:>10,.2f}   goal {op} {goal:,.2f}   "
              f"{'met' if met else 'SHORT'}")
    for note in notes:
        print(f"  {note}")
    print(f"  ({os.cpu_count()} cores; {args.rounds} rounds)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _child(sys.argv[2:])
    else:
        main()
