"""How every profile ends: write the feeds and measure the book from what was written.

The figures come from the same arrays the lines were written from (entry, exit and default
days as the feeds show them), never from the generator's parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from connectors.simulator.lines import outcome
from connectors.simulator.summary import SimulationSummary, annual_default_rate
from connectors.simulator.timeline import NEVER, Timeline
from connectors.simulator.writer import write_feeds

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Run:
    """The arguments every profile takes."""

    customers: int
    months: int
    seed: int
    out: Path
    progress: Progress | None = None

    def done(self, customers: int) -> None:
        """Tell the progress callback (if any) that ``customers`` more are finished."""
        if self.progress is not None:
            self.progress(customers)


@dataclass(frozen=True)
class Book:
    """A generated book: its feed lines and, per customer, what the summary measures."""

    feeds: dict[str, list[str]]
    ids: list[str]
    entry_day: np.ndarray
    """Day the customer entered the book (its master-data record)."""
    exit_day: np.ndarray
    """Day after its last record (or the horizon's end): where its exposure stops."""
    default_day: np.ndarray
    """Day of its first default event in the feeds, or `NEVER`."""
    kind: str
    sudden: np.ndarray
    """Whether the default (if any) came without the slow slide most defaults show."""
    figures: Mapping[str, float]


def finish(run: Run, profile: str, tl: Timeline, book: Book) -> SimulationSummary:
    """Write the book's feeds and outcomes into ``run.out`` and summarize it."""
    defaulted = book.default_day != NEVER
    outcomes = [
        outcome(cid, tl.dates[day], book.kind, "sudden" if sudden else "gradual") if hit
        else outcome(cid, None)
        for cid, day, hit, sudden in zip(book.ids, book.default_day.tolist(), defaulted.tolist(),
                                         book.sudden.tolist(), strict=True)
    ]
    records = write_feeds(run.out, book.feeds, outcomes)
    return SimulationSummary(
        customers=run.customers,
        months=run.months,
        seed=run.seed,
        defaults=int(defaulted.sum()),
        sudden_defaults=int((defaulted & book.sudden).sum()),
        records=MappingProxyType(records),
        annual_default_rate=annual_default_rate(book.default_day, book.exit_day, book.entry_day),
        profile=profile,
        figures=MappingProxyType(
            {"default_rate": float(defaulted.mean()), **book.figures}
        ),
    )


def live_share(first_month: np.ndarray, last_month: np.ndarray, months: int) -> float:
    """Average share of the book with a record in a month, over the months of the horizon."""
    live = np.zeros(months + 1)
    np.add.at(live, first_month, 1)
    np.add.at(live, last_month + 1, -1)
    return float(np.cumsum(live)[:months].mean() / len(first_month))
