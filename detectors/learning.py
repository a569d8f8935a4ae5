"""The one step that learns: labelled month-end snapshots in, a model per month end out.

Labels reach it from every bucket, on the day they become known, and so do the counts of
each month end's snapshots (the book whose level the defaults set); at each event-time month
end the `Learner` validates and learns them (in an order that never depends on arrival) and
the step hands the model it publishes to every bucket's scorer, which scores that month
end's snapshots, and those until the next, with it. Where the learner chose a champion, the
step outputs what it compared (`ModelChoice`, a line of ``models.jsonl``).
"""

from __future__ import annotations

from typing import Any

from detectors.book import Labels, SnapshotCounts
from detectors.clock import DAY, next_month_start
from detectors.models.learner import LabelBatch, Learner
from detectors.stage import Send


class LearnerStage:
    """Feeds the `Learner` and publishes its model to the scorers (``scorers``: keys)."""

    def __init__(self, learner: Learner, scorers: tuple[str, ...]) -> None:
        self.learner = learner
        self.scorers = scorers
        self._month: int | None = None

    def day(self, day: int, items: list[Labels | SnapshotCounts]) -> list[Any]:
        for item in items:
            if isinstance(item, SnapshotCounts):
                self.learner.snapshots(item.at, item.counts)
                continue
            if self._month is None:  # month ends run from the first label on
                self._month = next_month_start(day * DAY)
            self.learner.add(LabelBatch(X=item.X, y=item.y, at=item.at,
                                        known_at=item.known_at,
                                        customer_id=item.customer_id, lag=item.lag))
        return []

    def advance(self, through: int) -> list[Any]:
        out: list[Any] = []
        while self._month is not None and self._month // DAY <= through + 1:
            published = self.learner.month_end(self._month)
            last_day = self._month // DAY - 1
            out.extend(Send(scorer, last_day, published) for scorer in self.scorers)
            if self.learner.choice is not None:
                out.append(self.learner.choice)
            self._month = next_month_start(self._month)
        return out

    def finish(self) -> list[Any]:
        return []
