"""What an explanation as of a moment costs (`creditradar explain`, the workspace's "as of"
panel), against reading the audit log whole, on two books (`make bench`).

    .venv/bin/python bench/explain_bench.py [--customers 500 2000] [--months 24] [--asked 5]

Simulates and runs each book once (with scores), then, in this process, times reading its
audit log (`flows.replay.logged_records`: what an explanation cost before it had an index,
and still a floor of the first one, which builds the index) and explaining ``--asked``
customers as of the middle of the period: the first explanation (it builds the index,
`flows.explain_index`) and the median of the later ones. Prints per book the seconds of
each and how they grow from the first book to the last: a later explanation parses and
replays only the lines that concern its customer, found through the index, so it should
grow far less than the log.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import Settings  # noqa: E402
from connectors.simulator import simulate  # noqa: E402
from detectors.clock import parse_time  # noqa: E402
from flows.explain import explain  # noqa: E402
from flows.replay import logged_records  # noqa: E402
from flows.run import AUDIT, WARNINGS, read_jsonl, run_folder  # noqa: E402


def measure(customers: int, months: int, asked: int, root: Path) -> tuple[float, float, float]:
    """Seconds to read the book's log to its middle, for the first explanation there (the
    index built) and per later explanation."""
    settings = Settings()
    feeds, out = root / f"feeds-{customers}", root / f"out-{customers}"
    simulate(customers=customers, months=months, seed=5, out=feeds)
    run_folder(settings, feeds, out, scores=True, notify=False)
    warned = list(dict.fromkeys(w["customer_id"] for w in read_jsonl(out / WARNINGS)))
    middle = parse_time("2021-01-01") + timedelta(days=months * 30 // 2)
    started = time.perf_counter()
    logged_records(out / AUDIT, middle)
    read = time.perf_counter() - started
    each = []
    for customer_id in warned[:asked + 1]:
        started = time.perf_counter()
        explain(customer_id, middle, out / AUDIT, settings)
        each.append(time.perf_counter() - started)
    return read, each[0], statistics.median(each[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--asked", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = {n: measure(n, args.months, args.asked, Path(folder))
                   for n in args.customers}
    for n, (read, first, later) in figures.items():
        print(f"{n:>7,} customers: log read {read:6.2f} s, the first explanation {first:6.2f} s"
              f" (index built), a later one {later:6.2f} s ({later / read:.2f}x the read)")
    (small, (read0, first0, later0)), (large, (read1, first1, later1)) = (
        list(figures.items())[0], list(figures.items())[-1])
    print(f"{small:,} -> {large:,} customers ({large / small:.1f}x): log read {read1 / read0:.1f}x,"
          f" the first explanation {first1 / first0:.1f}x, a later one {later1 / later0:.1f}x")


if __name__ == "__main__":
    main()
