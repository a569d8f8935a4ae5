"""One month end of a large book, step by step, with the time of each (`make bench`).

    .venv/bin/python bench/month_end.py [--customers 100000] [--seed 3]

Builds a book of ``--customers`` customers in one process with the monitor's own steps (no
dataflow around them): each customer gets its master record, an invoice a month and, for
most, the payment of it, over two months with some paid late, some not at all. Then the
second month end is made and timed step by step: the book's snapshots and labels
(`CustomerBook.advance`), the learner's month end, scoring (`Scorer`), ranking (`Ranker`)
and the warning decisions (`WarningDesk`). The time to apply the events is printed too, for
scale; the month end's cost should grow with the book linearly, a vectorised batch.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import Settings  # noqa: E402
from detectors import events as ev  # noqa: E402
from detectors.book import BookSettings, CustomerBook  # noqa: E402
from detectors.clock import DAY  # noqa: E402
from detectors.desk import DeskSettings, WarningDesk  # noqa: E402
from detectors.events import Envelope, Origin  # noqa: E402
from detectors.learning import LearnerStage  # noqa: E402
from detectors.models.learner import Learner  # noqa: E402
from detectors.records import Warning  # noqa: E402
from detectors.scoring import Ranker, Scorer  # noqa: E402
from detectors.stage import Send  # noqa: E402

BUCKET = "bucket-0"
LEARNER, RANKER = "learner", "ranker"


def _day(year: int, month: int, day: int) -> int:
    return (date(year, month, day) - date(1970, 1, 1)).days


def book_events(customers: int, seed: int) -> dict[int, list[Envelope]]:
    """Two months of a plain trade book, by the day each event is applied on."""
    rng = random.Random(seed)
    days: dict[int, list[Envelope]] = defaultdict(list)
    start = _day(2024, 1, 1)
    position = 0

    def add(day: int, event: ev.Event) -> None:
        nonlocal position
        position += 1
        days[day].append(Envelope(event, b"", Origin("file", "bench", position), day))

    for i in range(customers):
        cid = f"C{i:06d}"
        add(start, ev.CustomerRecord(f"{cid}-m", start * DAY, cid, f"Customer {i} Ltd",
                                     "DE", currency="EUR", credit_limit=20_000.0))
        habit = rng.random()
        for month in (1, 2):
            issued = _day(2024, month, 1 + rng.randrange(20))
            due = issued + 30
            invoice = f"{cid}-{month}"
            add(issued, ev.Invoice(f"i-{invoice}", issued * DAY, cid, invoice,
                                   float(rng.randrange(500, 9000)), "EUR", issued, due))
            if habit < 0.9 and month == 1:
                paid = due - 5 + (rng.randrange(40) if habit > 0.7 else 0)
                add(paid, ev.Payment(f"p-{invoice}", paid * DAY, cid, invoice,
                                     float(rng.randrange(500, 9000)), "EUR"))
    return dict(sorted(days.items()))


class Steps:
    """The monitor's steps for one bucket, wired in process."""

    def __init__(self, settings: Settings) -> None:
        learner = Learner(settings.model, settings.horizon_months)
        self.book = CustomerBook(BUCKET, BookSettings.from_settings(settings))
        self.learner = LearnerStage(learner, (BUCKET,))
        self.scorer = Scorer(BUCKET, learner.initial(), settings.policy.grade_bounds,
                             settings.policy.warn_from_grade)
        self.ranker = Ranker()
        self.desk = WarningDesk(BUCKET, DeskSettings.from_settings(settings),
                                {"config_digest": "bench", "program_version": "bench"})
        self.warnings = 0

    def run(self, day: int, book_out: list[Any], timings: dict[str, float] | None) -> None:
        """Carry one day's book outputs through the learner, scorer, ranker and desk."""
        clock = _Clock(timings)
        to_learner = [s.item for s in _sends(book_out) if s.to == LEARNER]
        to_scorer = [s.item for s in _sends(book_out) if s.to == BUCKET]
        with clock("learner"):
            self.learner.day(day, to_learner)
            models = [s.item for s in _sends(self.learner.advance(day))]
        with clock("scorer"):
            scored = _sends(self.scorer.day(day, to_scorer + models))
        with clock("ranker"):
            ranks = _sends(self.ranker.day(day, [s.item for s in scored if s.to == RANKER]))
        with clock("desk"):
            desk_in = [s.item for s in scored if s.to == BUCKET] + [s.item for s in ranks]
            out = self.desk.day(day, desk_in)
        self.warnings += sum(isinstance(item, Warning) for item in out)


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Span:
        return _Span(self.timings, name)


class _Span:
    def __init__(self, timings: dict[str, float] | None, name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        if self.timings is not None:
            self.timings[self.name] = time.perf_counter() - self.started


def _sends(out: list[Any]) -> list[Send]:
    return [item for item in out if isinstance(item, Send)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    days = book_events(args.customers, args.seed)
    steps = Steps(Settings())
    month_end = _day(2024, 2, 29)
    applied = time.perf_counter()
    events = 0
    for day, envelopes in days.items():
        if day > month_end:
            break
        events += len(envelopes)
        steps.run(day, steps.book.day(day, envelopes), None)
        if day < month_end:
            steps.run(day, steps.book.advance(day), None)
    applied = time.perf_counter() - applied

    timings: dict[str, float] = {}
    started = time.perf_counter()
    book_out = steps.book.advance(month_end)
    timings["book"] = time.perf_counter() - started
    steps.run(month_end, book_out, timings)
    total = sum(timings.values())
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items())
    print(f"month end of {args.customers:,} customers: {total:.2f} s ({parts}); "
          f"{steps.warnings} warnings; the {events:,} events before it applied in "
          f"{applied:.1f} s")


if __name__ == "__main__":
    main()
