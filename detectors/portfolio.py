"""The portfolio step's logic: score snapshots, learn from labels, rank the watchlist.

Items reach the portfolio from many customers (and, in a cluster, from many workers) in an
order that varies from run to run. To decide the same way every time, items are buffered by
event-time day and each day is processed in a fixed order once later days have arrived:
that day's defaults and snapshots first (sorted by time and customer id), scored with the
model as it stood before the day, then that day's labels (sorted) are learned. A day's
scores are ranked once all of them are in, month-end snapshots together, so the warning
policy's month-end cut compares one month's probabilities from one model.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

from config.settings import Settings
from detectors.clock import day_of, months_since_epoch
from detectors.customer import DefaultNotice, Label, Snapshot
from detectors.grading import grade_of
from detectors.model import RiskModel

CLOSE_AFTER_DAYS = 2
"""A day is processed once an item two days later arrives: month-end snapshots come in
a little after the month turns."""


@dataclass(frozen=True, slots=True)
class Score:
    """A scored snapshot with its place in the portfolio when it was scored."""

    snapshot: Snapshot
    pd: float
    grade: str
    contributions: dict[str, float]
    rank: int
    portfolio_size: int
    model_version: str


Item = Snapshot | Label | DefaultNotice
Result = Score | DefaultNotice
_Scored = tuple[int, Snapshot, float]


def _item_time(item: Item) -> int:
    return item.known_at if isinstance(item, Label) else item.at


def _order(item: Item) -> tuple[int, int, str, int]:
    phase = 1 if isinstance(item, Label) else 0
    return phase, _item_time(item), item.customer_id, item.at


class Portfolio:
    """Model, ranking and the event-time day buffer of the whole portfolio."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model = RiskModel(settings.model, settings.horizon_months)
        self._pds: dict[str, float] = {}
        self._ranked: list[tuple[float, str]] = []
        self._buffer: dict[int, list[Item]] = {}
        self._closed_through = -1
        self._refit_month = -(10**6)
        self._defaulted: set[str] = set()

    def receive(self, item: Item) -> list[Result]:
        day = day_of(_item_time(item))
        if day <= self._closed_through:
            return self._process([item])
        self._buffer.setdefault(day, []).append(item)
        return self._close_through(day - CLOSE_AFTER_DAYS)

    def flush(self) -> list[Result]:
        """Process everything still buffered (end of input)."""
        return self._close_through(max(self._buffer, default=self._closed_through))

    def _close_through(self, last_day: int) -> list[Result]:
        out: list[Result] = []
        for day in sorted(d for d in self._buffer if d <= last_day):
            out.extend(self._process(self._buffer.pop(day)))
        self._closed_through = max(self._closed_through, last_day)
        return out

    def _process(self, items: list[Item]) -> list[Result]:
        """One day's items: refit at a new month, score the snapshots with the model as it
        stood before the day, then learn the day's labels."""
        items = sorted(items, key=_order)
        month = months_since_epoch(_item_time(items[0]))
        if month >= self._refit_month + self.settings.model.refit_every_months:
            self.model.refit()
            self._refit_month = month
        snapshots = [i for i in items if isinstance(i, Snapshot)]
        # Month ends are scored by every model (for validation); the champion's is one of them.
        month_ends = [s for s in snapshots if s.month_end]
        every = self.model.predict_all([s.features for s in month_ends])
        month_end_pds = iter(every[self.model.champion])
        other_pds = iter(self.model.score_many([s.features for s in snapshots
                                                if not s.month_end]))
        out: list[Result | None] = []
        # (place in ``out``, snapshot, PD) of the day's month ends, and of its other snapshots
        scored: tuple[list[_Scored], list[_Scored]] = ([], [])
        for item in items:
            if isinstance(item, DefaultNotice):
                self._unrank(item.customer_id)
                self._defaulted.add(item.customer_id)
                out.append(item)
            elif isinstance(item, Snapshot):
                pd = next(month_end_pds if item.month_end else other_pds)
                if item.customer_id not in self._defaulted:  # a late snapshot after a default
                    scored[0 if item.month_end else 1].append((len(out), item, pd))
                    out.append(None)
        for place, score in self._rank_day(*scored):
            out[place] = score
        self.model.track([(s.customer_id, s.at) for s in month_ends], every)
        labels = [(i.customer_id, i.at, i.features, i.y) for i in items if isinstance(i, Label)]
        self.model.learn_many(labels, now=max(_item_time(i) for i in items))
        return [o for o in out if o is not None]

    def _rank_day(self, month_ends: list[_Scored],
                  others: list[_Scored]) -> list[tuple[int, Score]]:
        """Rank the day's scores once all of them are in: the month-end snapshots first, all
        against each other (so a month end's ranks compare this month's probabilities, from
        one model, never last month's), then the day's other snapshots against those.

        A customer that defaults later that day is ranked with its group, then leaves the
        portfolio; its default notice still follows its score. Ranks within a group do not
        depend on the order its snapshots came in."""
        pds, ranked = self._pds, self._ranked
        results: list[tuple[int, Score]] = []
        for group in (month_ends, others):
            for _, snapshot, pd in group:
                self._unrank(snapshot.customer_id)
                pds[snapshot.customer_id] = pd
                insort(ranked, (-pd, snapshot.customer_id))
            size = len(ranked)
            for place, snapshot, pd in group:
                rank = bisect_left(ranked, (-pd, snapshot.customer_id)) + 1
                results.append((place, self._score(snapshot, pd, rank, size)))
            for _, snapshot, _ in group:
                if snapshot.customer_id in self._defaulted:  # it defaulted later that day
                    self._unrank(snapshot.customer_id)
        return results

    def _score(self, snapshot: Snapshot, pd: float, rank: int, size: int) -> Score:
        grade = grade_of(pd, self.settings.policy.grade_bounds)
        # Reasons are worked out only where a warning may follow: they cost a tree walk.
        explain = grade >= self.settings.policy.warn_from_grade
        contributions = self.model.explain(snapshot.features) if explain else {}
        return Score(snapshot, pd, grade, contributions, rank, size, self.model.version())

    def _unrank(self, customer_id: str) -> None:
        old = self._pds.pop(customer_id, None)
        if old is not None:
            del self._ranked[bisect_left(self._ranked, (-old, customer_id))]
