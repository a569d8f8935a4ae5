"""What an explanation as of a moment costs (`creditradar explain`, the workspace's "as of"
panel), against reading the audit log it replays, on two books (`make bench`).

    .venv/bin/python bench/explain_bench.py [--customers 500 2000] [--months 24] [--asked 5]

Simulates and runs each book once (with scores), then, in this process, times reading its
audit log (`flows.replay.logged_records`: the floor of any explanation, which reads the
whole log up to the moment) and explaining ``--asked`` customers as of the middle of the
period. Prints per book the seconds of each, their ratio, and how both grow from the first
book to the last: an explanation parses and replays only the records that concern its
customer, so beyond the log's reading its cost should not follow the book.
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


def measure(customers: int, months: int, asked: int, root: Path) -> tuple[float, float]:
    """Seconds to read the book's log to its middle, and per explanation there."""
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
    for customer_id in warned[:asked]:
        started = time.perf_counter()
        explain(customer_id, middle, out / AUDIT, settings)
        each.append(time.perf_counter() - started)
    return read, statistics.median(each)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--asked", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = {n: measure(n, args.months, args.asked, Path(folder))
                   for n in args.customers}
    for n, (read, each) in figures.items():
        print(f"{n:>7,} customers: log read {read:6.2f} s, an explanation {each:6.2f} s "
              f"({each / read:.2f}x the read)")
    (small, (read0, each0)), (large, (read1, each1)) = (
        list(figures.items())[0], list(figures.items())[-1])
    print(f"{small:,} -> {large:,} customers ({large / small:.1f}x): log read {read1 / read0:.1f}x,"
          f" an explanation {each1 / each0:.1f}x")


if __name__ == "__main__":
    main()
