"""What bytewax alone costs the monitor's shape of flow in 1 and 2 processes (`make bench`).

    .venv/bin/python bench/epoch_floor.py [--items 142000] [--epochs 730] [--steps 6]

A flow with no logic: four source partitions emit ``--items`` tuples over ``--epochs``
batches (one epoch each, as the monitor runs one per event-time day), through ``--steps``
keyed stateful steps that only count, each keyed by customer: the best case for scaling out.
Each configuration runs as child processes to the end of input; the time is from the first
batch to the end (start-up and connecting excluded), the slowest process's, and next to it
the CPU time the processes used in that span. It is the
framework's floor under the monitor: bytewax lets a source start epoch ``e`` only when every
output has finished epoch ``e - 1``, so every epoch is a round trip between all processes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.cluster import free_ports  # noqa: E402

PARTITIONS = 4
CUSTOMERS = 1000


def _flow(items: int, epochs: int, steps: int, started: list[float]) -> Any:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
    from bytewax.outputs import DynamicSink, StatelessSinkPartition

    class Drop(StatelessSinkPartition[Any]):
        def write_batch(self, items: list[Any]) -> None:
            del items

    class DiscardSink(DynamicSink[Any]):
        def build(self, step_id: str, worker_index: int, worker_count: int) -> Drop:
            return Drop()

    per_batch = max(1, items // epochs // PARTITIONS)

    class Days(StatefulSourcePartition[tuple[str, int], None]):
        def __init__(self, index: int):
            self.index, self.day = index, 0

        def next_batch(self) -> list[tuple[str, int]]:
            if self.day == epochs:
                raise StopIteration
            if not started:
                started.extend((time.monotonic(), time.process_time()))
            self.day += 1
            return [(f"c{(self.index + PARTITIONS * k) % CUSTOMERS}", self.day)
                    for k in range(per_batch)]

        def snapshot(self) -> None:
            return None

    class Source(FixedPartitionedSource[tuple[str, int], None]):
        def list_parts(self) -> list[str]:
            return [str(i) for i in range(PARTITIONS)]

        def build_part(self, step_id: str, for_part: str, resume_state: None) -> Days:
            return Days(int(for_part))

    flow = Dataflow("epoch-floor")
    stream = op.input("in", flow, Source())
    for step in range(steps):
        keyed = op.key_on(f"key{step}", stream, lambda item: item[0])
        counted = op.stateful_map(f"count{step}", keyed,
                                  lambda seen, item: ((seen or 0) + 1, item))
        stream = op.map(f"unkey{step}", counted, lambda pair: pair[1])
    op.output("out", stream, DiscardSink())
    return flow


def _child(args: argparse.Namespace) -> None:
    from bytewax.testing import cluster_main

    addresses = args.addresses.split(";") if args.addresses else []
    started: list[float] = []
    cluster_main(_flow(args.items, args.epochs, args.steps, started), addresses,
                 args.process_id, worker_count_per_proc=1, epoch_interval=timedelta(0))
    print(time.monotonic() - started[0], time.process_time() - started[1])


def _run(args: argparse.Namespace, processes: int, epochs: int) -> tuple[float, float]:
    """Wall seconds of one run as ``processes`` child processes, first batch to end (the
    slowest process's), and the CPU seconds all of them used meanwhile."""
    addresses = ";".join(f"127.0.0.1:{port}" for port in free_ports(processes))
    children = [subprocess.Popen(
        [sys.executable, __file__, "--child", "--process-id", str(i), "--addresses",
         addresses if processes > 1 else "", "--items", str(args.items), "--epochs",
         str(epochs), "--steps", str(args.steps)], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True) for i in range(processes)]
    wall, cpu = 0.0, 0.0
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"{child.args} exited with {child.returncode}")
        child_wall, child_cpu = (float(word) for word in out.split()[-2:])
        wall, cpu = max(wall, child_wall), cpu + child_cpu
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=142_000)
    parser.add_argument("--epochs", type=int, default=730, help="one per event-time day")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--addresses", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    print(f"bytewax alone: items through {args.steps} keyed steps that do nothing")
    for epochs in (args.epochs // 10, args.epochs):
        items = max(1, args.items // epochs // PARTITIONS) * epochs * PARTITIONS
        (wall_1, cpu_1), (wall_2, cpu_2) = (_run(args, p, epochs) for p in (1, 2))
        print(f"  {items} items, {epochs:4d} epochs: 1 process {wall_1:4.1f}s "
              f"(CPU {cpu_1:4.1f}s), 2 processes {wall_2:4.1f}s (CPU {cpu_2:4.1f}s): "
              f"2 processes / 1 = {wall_1 / wall_2:.2f}x")


if __name__ == "__main__":
    main()
