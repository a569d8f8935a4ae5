"""The single learner key's model side: labels in, one published model per month end out.

Buckets send labelled rows (`LabelBatch`) in any order; they wait in an inbox until the
month end that knows them (``known_at <= month``). At each event-time month end
(`Learner.month_end`) the learner:

1. puts the due labels into a canonical order (snapshot time, customer, known time), so
   nothing depends on the order they arrived in;
2. validates them progressively: each label is scored by every model as it stood when its
   snapshot was scored, i.e. the frozen set published at the month end of the snapshot
   (kept for the last ``horizon + 2`` month ends; older labels are learned, not validated);
3. holds back positives until the month end after their horizon closed, when their
   snapshot's negatives are known too (learned earlier, the recent past would hold only
   positives and "recent" would read as "risky"), and lets the models learn the rest (the
   calibrated scorecard fits its two parameters to them at once, `CalibratedScorecard.month_end`);
4. counts, per band of the PD the current champion gives them, how many months after
   their snapshot the learned positives defaulted (`detectors.term.TermCounts`);
5. when a refit is due (`Learner._refit_due`), chooses the champion once enough labels are
   validated (`choose_champion`: the most expressive learned model whose AUC on them is
   within ``model.champion_margin`` of the best) and refits the boosted model; while the
   prior still scores, it chooses at every month end, among the models whose own labels
   are enough, so the first learned model takes over as soon as the labels allow; while
   the boosted model is not champion, the trees take over when they ranked best the labels
   learned since the last refit, scored by the learned models as they stood at that refit
   (`Learner._trees_since_refit`): at their second refit, not a horizon later;
6. freezes every model (the prior at the level of the defaults the book has shown so far,
   `detectors.models.level`: the book's month-end snapshots come from the buckets, its
   defaults are the customers of the positives known) and publishes a frozen copy of the
   champion with the term curve learned so far; where it chose a champion, it records what
   it compared (`Learner.choice`, a line of the run's ``models.jsonl``).

The learner pickles whole (recovery snapshots it) and is deterministic: the same labels,
snapshot counts and month ends, in any arrival order, give the same versions and
predictions, bit for bit.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from detectors.clock import add_months, months_since_epoch, to_rfc3339
from detectors.features import WIDTH
from detectors.models.base import Published, RiskModel
from detectors.models.boosted import RefitBoosting
from detectors.models.calibrated import CalibratedScorecard
from detectors.models.level import BookLevel
from detectors.models.logit import OnlineLogit
from detectors.models.scorecard import PriorScorecard, default_rate
from detectors.models.validation import Metrics, ValidationWindow, choose_champion
from detectors.term import TermCounts, TermCurve

if TYPE_CHECKING:  # the settings (pydantic) cost a quarter of a second to import
    from config.settings import ModelSettings

MODELS = ("prior", "calibrated", "online", "boosted")
"""Every model, in the order of the validation window's prediction columns."""
SINCE_REFIT_POSITIVES = 400
"""Positives the labels since the last refit need before they can hand the book to the
trees: an AUC over 400 positives has a standard error of about 0.013. Over a small book's
few dozen the order of the models is noise: on the 2,000-customer receivables book a choice
over 63 (of the model within the champion margin of the best) handed the book to the online
model early, and its second-half AUC fell from 0.747 to 0.727."""
Decider = Literal["validation_window", "since_refit"]
"""What changed the champion (`ModelChoice.decided_by`)."""
CHUNK = 1024
"""Labels validated and learned at a time (in canonical order): a month of a large book
then needs no copies of all its labels at once, and the models' working arrays are the
same size for a book of any size."""


@dataclass(frozen=True, slots=True, eq=False)
class LabelBatch:
    """Labelled month-end rows: features ``X`` (n, WIDTH) float16, outcome ``y`` (1: it
    defaulted within the horizon), snapshot time ``at`` (a month start, seconds), the time
    ``known_at`` the outcome became known, the customer of each row, and for a positive the
    months ``lag`` from its snapshot to the default (0 where unknown or negative). (Month-end
    snapshots wait for their label as float16, `detectors.pending`, so float16 holds them as
    they are, in a quarter of the memory of float64: a month's labels of a large book are
    held until its month end; the models get them widened a chunk at a time.)

    >>> batch = LabelBatch(np.zeros((2, WIDTH)), [1, 0], [60, 0], [90, 90], ["b", "a"])
    >>> LabelBatch.concat([batch, batch.take(np.array([1]))]).canonical().customer_id
    ['a', 'a', 'b']
    """

    X: np.ndarray
    y: np.ndarray
    at: np.ndarray
    known_at: np.ndarray
    customer_id: list[str]
    lag: np.ndarray | None = None

    def __post_init__(self) -> None:
        coerced = {"X": np.asarray(self.X, dtype=np.float16).reshape(-1, WIDTH),
                   "y": np.asarray(self.y, dtype=np.uint8),
                   "at": np.asarray(self.at, dtype=np.int64),
                   "known_at": np.asarray(self.known_at, dtype=np.int64),
                   "customer_id": list(self.customer_id)}
        coerced["lag"] = (np.zeros(len(coerced["y"]), dtype=np.uint8) if self.lag is None
                          else np.asarray(self.lag, dtype=np.uint8))
        for name, value in coerced.items():
            object.__setattr__(self, name, value)
        n = len(coerced["X"])
        if any(len(value) != n for value in coerced.values()):
            raise ValueError("a label batch needs one y, at, known_at, customer and lag per "
                             "row")

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def empty(cls) -> LabelBatch:
        return cls(np.zeros((0, WIDTH)), [], [], [], [])

    @classmethod
    def concat(cls, batches: Sequence[LabelBatch]) -> LabelBatch:
        """The batches' rows one after the other."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(np.concatenate([b.X for b in batches]),
                   np.concatenate([b.y for b in batches]),
                   np.concatenate([b.at for b in batches]),
                   np.concatenate([b.known_at for b in batches]),
                   [cid for b in batches for cid in b.customer_id],
                   np.concatenate([b.lag for b in batches]))

    def take(self, index: np.ndarray) -> LabelBatch:
        """The rows at ``index`` (integer positions, or a mask)."""
        index = np.flatnonzero(index) if index.dtype == bool else index
        ids = self.customer_id
        return LabelBatch(self.X[index], self.y[index], self.at[index], self.known_at[index],
                          [ids[i] for i in index], self.lag[index])

    def defaulted_customers(self) -> int:
        """How many customers have a positive row: a default sends every positive of its
        customer at once, so this counts the defaults the rows tell of."""
        return len({self.customer_id[i] for i in np.flatnonzero(self.y).tolist()})

    def canonical_order(self) -> np.ndarray:
        """The positions of the rows sorted by (at, customer id, known_at, y), rows equal
        in all four by their features' bytes: an order that does not depend on arrival."""
        if len(self) < 2:
            return np.arange(len(self))
        customer = np.unique(np.array(self.customer_id, dtype=str), return_inverse=True)[1]
        keys = (self.at, customer.ravel(), self.known_at, self.y)
        order = np.lexsort(keys[::-1])
        tied = np.ones(len(self) - 1, dtype=bool)
        for key in keys:
            ranked = key[order]
            tied &= ranked[1:] == ranked[:-1]
        if tied.any():  # duplicates: a rare path, so plain Python
            rows = [row.tobytes() for row in self.X]
            order = np.array(sorted(range(len(self)), key=lambda i: (
                *(int(key[i]) for key in keys), rows[i])), dtype=np.intp)
        return order

    def canonical(self) -> LabelBatch:
        """The rows in `canonical_order`."""
        order = self.canonical_order()
        return self if (order[1:] > order[:-1]).all() else self.take(order)


@dataclass(frozen=True, slots=True)
class SinceRefit:
    """The learned models as they stood at a refit, and the labels learned since, each with
    their predictions (a `ValidationWindow`, columns as `MODELS`)."""

    models: dict[str, RiskModel]
    window: ValidationWindow

    def add(self, at: np.ndarray, y: np.ndarray, X: np.ndarray) -> None:
        """Score labels learned since the refit with every kept model."""
        predictions = np.full((len(y), len(MODELS)), np.nan, dtype=np.float32)
        for name, model in self.models.items():
            predictions[:, MODELS.index(name)] = model.predict(X)
        self.window.add(at, y, predictions)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a choice of champion compared: (AUC, mean log loss) per model over ``labels``
    labels, ``positives`` of them positive (no model where there was nothing to rank)."""

    metrics: Metrics
    labels: int
    positives: int

    def to_json(self) -> dict[str, Any]:
        compared = [name for name in MODELS if name in self.metrics]  # one order every line
        return {"labels": self.labels, "positives": self.positives,
                "auc": {name: round(float(self.metrics[name][0]), 6) for name in compared},
                "log_loss": {name: round(float(self.metrics[name][1]), 6)
                             for name in compared}}


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A month end at which the learner chose its champion (every month end while the prior
    scores, and every refit), one line of ``models.jsonl``: the month end (``month``, an
    event-time month start in seconds), the model that scores from it (``version``, as in
    every score's ``model_version``), the one before, whether a refit was due, what was
    compared on the validation window and, while the trees wait, on the labels learned
    since the last refit, and which of the two changed the champion (``decided_by``; None
    where it stayed). An auditor reads there why a model scored, not only which."""

    month: int
    version: str
    champion: str
    previous: str
    refit: bool
    window: Evidence
    since_refit: Evidence | None
    decided_by: Decider | None

    def to_json(self) -> dict[str, Any]:
        return {"month_end": to_rfc3339(self.month), "model_version": self.version,
                "champion": self.champion, "previous": self.previous, "refit": self.refit,
                "decided_by": self.decided_by, "validation_window": self.window.to_json(),
                "since_refit": None if self.since_refit is None else self.since_refit.to_json()}


class Learner:
    """Champion and challengers (`MODELS`), learned once per event-time month end."""

    def __init__(self, settings: ModelSettings, horizon_months: int):
        self.settings = settings
        self.horizon_months = horizon_months
        rate = settings.prior_default_rate
        if rate is None:
            rate = default_rate(horizon_months)
        self.prior = PriorScorecard(rate)
        self.calibrated = CalibratedScorecard(self.prior)
        self.online = OnlineLogit(settings.learning_rate, settings.l2, base_rate=rate)
        self.boosted = RefitBoosting(settings.min_labels, settings.min_positives,
                                     cap=settings.store_rows)
        self.level = BookLevel(horizon_months, settings.prior_level_after_defaults)
        """The defaults the book has shown, which set the prior's level (`_freeze`)."""
        self.window = ValidationWindow(MODELS)
        self.term = TermCounts(horizon_months)
        """Learned defaults by the band of their PD and when they came (the term curve)."""
        self._inbox: list[LabelBatch] = []
        self._waiting = LabelBatch.empty()
        """Positives held back until the month end after their horizon closed."""
        self._frozen: dict[int, dict[str, RiskModel]] = {}
        """Per recent month end, every ready model as published then."""
        self._champion = "prior"
        self._refit_month: int | None = None
        self._learned = 0
        """Labels learned so far, and by the last refit (`_refit_due`)."""
        self._learned_at_refit = 0
        self._published: Published | None = None
        self._since_refit: SinceRefit | None = None
        """Kept while the boosted model is grown and not champion (`_trees_since_refit`)."""
        self.choice: ModelChoice | None = None
        """The choice of champion made at the latest month end (None where none was)."""

    @property
    def champion(self) -> str:
        return self._champion

    @property
    def published(self) -> Published:
        """The latest published model (`initial` before the first month end)."""
        return self._published or self.initial()

    def initial(self) -> Published:
        """The model before any month end: the prior scorecard."""
        return Published(0, self.prior, f"{self.prior.name}-{self.prior.digest()}",
                         TermCurve.constant(self.horizon_months))

    def add(self, labels: LabelBatch) -> None:
        """Take labelled rows (any order, any bucket); they are used at the first month end
        at or after their ``known_at``. The learner keeps the arrays: do not modify them."""
        if len(labels):
            self._inbox.append(labels)

    def snapshots(self, month: int, counts: np.ndarray) -> None:
        """A bucket took ``counts`` month-end snapshots at ``month`` (an event-time month
        start, seconds), by bin of the prior's points (`BookLevel`): they count from the
        month end at ``month``."""
        self.level.snapshots(month, counts)

    def models_at(self, month: int) -> dict[str, RiskModel]:
        """Every ready model as frozen at month end ``month`` (one of the last
        ``horizon + 2``; empty if forgotten): what validates labels of that month's
        snapshots. The models are shared: do not modify them."""
        return dict(self._frozen.get(month, {}))

    def pending(self) -> int:
        """Labels received and not used yet (waiting positives not included)."""
        return sum(len(batch) for batch in self._inbox)

    def month_end(self, month: int) -> Published:
        """Validate and learn the labels known by ``month`` (an event-time month start, in
        seconds), refit when due, and publish the model that scores from ``month`` on."""
        if self._published is not None and month <= self._published.month:
            raise ValueError(f"month end {month} is not after the last, "
                             f"{self._published.month}")
        inbox = LabelBatch.concat(self._inbox)
        known = inbox.known_at <= month
        self._inbox = [] if known.all() else [inbox.take(~known)]
        due = inbox if known.all() else inbox.take(known)
        self.level.month_end(month, defaults=due.defaulted_customers())
        # One canonical order for the waiting positives and the new labels; only the new
        # ones are validated (the waiting ones were when they came). A month's labels are
        # taken a chunk at a time, so a large book needs no copies of all of them at once.
        pool = LabelBatch.concat([self._waiting, due])
        order = pool.canonical_order()
        waiting = len(self._waiting)
        held: list[LabelBatch] = []
        for start in range(0, len(order), CHUNK):
            index = order[start : start + CHUNK]
            chunk = pool.take(index)
            X = chunk.X.astype(np.float64)
            fresh = index >= waiting
            self._validate(X[fresh], chunk.y[fresh], chunk.at[fresh])
            held.append(self._learn(chunk, X, month))
        self._waiting = LabelBatch.concat(held)
        self.calibrated.month_end()
        step = months_since_epoch(month)
        previous, refit = self._champion, self._refit_due(step)
        window = self._choose() if refit or previous == "prior" else None
        by_window, since = self._champion, None  # the champion after the window's choice
        if refit:
            self._refit_month = step
            self._learned_at_refit = self._learned
            since = self._trees_since_refit()
            self.boosted.refit()
            self._keep_refit_models()
        decided_by: Decider | None = None
        if self._champion != previous:
            decided_by = "since_refit" if self._champion != by_window else "validation_window"
        published = self._freeze(month)
        self.choice = None if window is None else ModelChoice(
            month, published.version, self._champion, previous, refit, window, since,
            decided_by)
        return published

    def _refit_due(self, step: int) -> bool:
        """A refit (and a new choice of champion) is due at least ``refit_every_months``
        after the last, once the labels learned grew by ``refit_growth`` since, or
        ``refit_within_months`` passed: a growing book refits often, a mature or quiet one
        about once a year, so refits cost the run little however long its history."""
        if self._refit_month is None:
            return True
        s = self.settings
        since = step - self._refit_month
        grown = self._learned >= (1 + s.refit_growth) * self._learned_at_refit
        return since >= s.refit_every_months and (grown or since >= s.refit_within_months)

    def _validate(self, X: np.ndarray, y: np.ndarray, at: np.ndarray) -> None:
        """Score each label with the models frozen at its snapshot's month end. Labels in
        canonical order, so each snapshot time is one run of rows; a model object frozen
        for several months (the prior, a boosted model between refits) scores its rows in
        one call."""
        if not len(y):
            return
        times, starts = np.unique(at, return_index=True)
        ends = np.r_[starts[1:], len(y)]
        runs: dict[int, tuple[RiskModel, int, list[np.ndarray]]] = {}
        kept = []
        for time, start, end in zip(times.tolist(), starts, ends, strict=True):
            frozen = self._frozen.get(time)
            if frozen is None:
                continue
            kept.append(np.arange(start, end))
            for name, model in frozen.items():
                runs.setdefault(id(model), (model, MODELS.index(name), []))[2].append(kept[-1])
        if not kept:
            return
        rows = np.concatenate(kept)
        place = np.empty(len(y), dtype=np.intp)
        place[rows] = np.arange(len(rows))
        predictions = np.full((len(rows), len(MODELS)), np.nan, dtype=np.float32)
        for model, column, parts in runs.values():
            these = np.concatenate(parts)
            predictions[place[these], column] = model.predict(X[these])
        self.window.add(at[rows], y[rows], predictions)

    def _learn(self, labels: LabelBatch, X: np.ndarray, month: int) -> LabelBatch:
        """Every learning model learns ``labels`` (canonical order; ``X``: their features
        widened to float64), except positives whose horizon has not closed before
        ``month``: those wait. A snapshot's negative label
        is known only once its horizon closed strictly before the customer's clock
        (`detectors.pending`), i.e. at the month end after the horizon's last day; a
        positive waits for that same month end, so each snapshot month's positives and
        negatives are learned together (a month earlier, every month's learning would
        end on a month of positives alone, and the models run high)."""
        times, inverse = np.unique(labels.at, return_inverse=True)
        closes = np.array([add_months(int(t), self.horizon_months) for t in times],
                          dtype=np.int64)[inverse.ravel()]
        waits = (labels.y == 1) & (closes >= month)
        y, lag, at = labels.y, labels.lag, labels.at
        if waits.any():
            X, y, lag, at = X[~waits], y[~waits], lag[~waits], at[~waits]
        if len(y) and self._since_refit is not None:
            self._since_refit.add(at, y, X)
        if len(y):
            timed = (y == 1) & (lag > 0)
            if timed.any():
                self.term.add(self.published.champion.predict(X[timed]), lag[timed])
            self._learned += len(y)
            self.calibrated.learn(X, y)
            self.online.learn(X, y)
            self.boosted.learn(X, y)
        return labels.take(waits) if waits.any() else LabelBatch.empty()

    def _choose(self) -> Evidence:
        """Once enough labels are validated, the most expressive learned model that ranks
        them within the margin of the best becomes champion. While the prior scores, a
        model whose own labels are too few yet is left out, so it does not hold back the
        first handover; after it, every ready model is compared on the same labels.
        Returns what was compared."""
        s = self.settings
        metrics, labels, positives = (self.window.metrics(s.min_labels, s.min_positives)
                                      if self._champion == "prior" else self.window.metrics())
        if labels >= s.min_labels and positives >= s.min_positives:
            best = choose_champion(metrics, s.champion_margin)
            if best is not None:
                self._champion = best
        return Evidence(metrics, labels, positives)

    def _trees_since_refit(self) -> Evidence | None:
        """While the boosted model is not champion, compare the learned models as they stood
        at the last refit on the labels learned since (the latest 50,000), without waiting for
        labels of snapshots they scored (a horizon and a month after a refit). The trees
        take over if they ranked best, over `SINCE_REFIT_POSITIVES` positives or more.

        Not wholly out of time: the models had not learned those labels, but a positive
        among them may belong to a default known at the refit, whose earlier snapshots the
        models had learned; that favours the trees, which tell customers apart. Leaving
        those positives out leaves too few to decide (none at the first refits of a card
        book); counting positives when they become known instead compares them with
        negatives a horizon older, and ranked the online model 0.48 on a young book (both
        measured in docs/how-well-it-warns.md).

        Best, not within the champion margin: one refit's labels are thinner evidence than
        the window's, and on a receivables book the trees within the margin of the online
        model ranked the next months worse than it did. Returns what was compared (None
        where there was no comparison to make)."""
        if self._champion == "boosted" or self._since_refit is None:
            return None
        metrics, labels, positives = self._since_refit.window.metrics()
        enough = labels >= self.settings.min_labels and positives >= SINCE_REFIT_POSITIVES
        if enough and metrics and max(metrics, key=lambda name: metrics[name][0]) == "boosted":
            self._champion = "boosted"
        return Evidence(metrics, labels, positives)

    def _keep_refit_models(self) -> None:
        """Keep the learned models as they stand at this refit, and a window for the labels
        learned from now on, while the boosted model is grown and not champion."""
        self._since_refit = None
        if self._champion != "boosted" and self.boosted.model is not None:
            models = {"calibrated": copy.deepcopy(self.calibrated),
                      "online": copy.deepcopy(self.online), "boosted": self.boosted.model}
            self._since_refit = SinceRefit(models, ValidationWindow(MODELS))

    def _freeze(self, month: int) -> Published:
        frozen: dict[str, RiskModel] = {
            "prior": self.prior.shifted(self.level.shift(self.prior.intercept)),
            "calibrated": copy.deepcopy(self.calibrated),
            "online": copy.deepcopy(self.online),
        }
        if self.boosted.model is not None:
            frozen["boosted"] = self.boosted.model  # immutable: a refit builds a new one
        self._frozen[month] = frozen
        for old in sorted(self._frozen)[: -(self.horizon_months + 2)]:
            del self._frozen[old]
        champion = frozen[self._champion]
        self._published = Published(month, champion, f"{self._champion}-{champion.digest()}",
                                    self.term.curve())
        return self._published

    def progressive_metrics(self) -> tuple[Metrics, int, int]:
        """(AUC, mean log loss) per model over the recent validated labels, each predicted
        when its snapshot was scored, restricted to labels every model ready now predicted;
        with the number of those labels and of their positives."""
        return self.window.metrics()
