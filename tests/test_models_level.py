"""The prior's level from the defaults the book has shown: nothing moves before enough
defaults, the shift puts the book's mean PD at the rate shown, the counts of any number of
buckets in any order give the same bits, and the learner publishes the prior so moved."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from config.settings import ModelSettings
from detectors.book import Labels, SnapshotCounts
from detectors.features import INDEX, empty
from detectors.learning import LearnerStage
from detectors.models import LabelBatch, Learner
from detectors.models.level import BookLevel
from detectors.models.link import log_odds, logit, sigmoid
from detectors.models.scorecard import CENTRES, bin_counts, points_counts, points_sum
from detectors.stage import Send

HORIZON = 8
MONTH = 30 * 86_400


def _book(rows: int = 5000, seed: int = 3) -> np.ndarray:
    """Features of a book: days past due on a fifth of it, the rest clean."""
    rng = np.random.default_rng(seed)
    X = empty(rows)
    X[:, INDEX["tl_dpd"]] = np.where(rng.random(rows) < 0.2, rng.integers(1, 120, rows), 0)
    X[:, INDEX["tl_utilisation"]] = rng.random(rows)
    return X


def _mean_pd(counts: np.ndarray, intercept: float) -> float:
    return float((counts * sigmoid(CENTRES + intercept)).sum() / counts.sum())


def test_nothing_moves_before_enough_defaults_or_when_switched_off() -> None:
    counts = bin_counts(points_sum(_book()))
    for min_defaults, defaults in ((20, 19), (0, 500)):
        level = BookLevel(HORIZON, min_defaults)
        for month in range(4):
            level.snapshots(month, counts)
            level.month_end(month, defaults=defaults if month == 3 else 0)
        assert level.rate is None
        assert level.shift(log_odds(0.015)) == 0.0


def test_the_shift_puts_the_books_mean_pd_at_the_rate_it_has_shown() -> None:
    counts = bin_counts(points_sum(_book()))
    intercept = log_odds(0.015)
    for defaults, expected_rate in ((30, 0.002), (600, 0.04)):  # rarer and likelier
        level = BookLevel(HORIZON, 20)
        for month in range(4):  # three months of 5,000 snapshots at risk by the fourth
            level.snapshots(month, counts)
            level.month_end(month, defaults=defaults // 3 if month else 0)
        assert level.rate == pytest.approx(expected_rate)
        step = level.shift(intercept)
        target = 1 - (1 - expected_rate) ** HORIZON
        assert _mean_pd(counts, intercept + step) == pytest.approx(target, rel=1e-9)
        assert _mean_pd(counts, intercept) != pytest.approx(target, rel=0.2)


def test_a_month_end_without_snapshots_keeps_the_earlier_ones_at_risk_once() -> None:
    counts = bin_counts(points_sum(_book(100)))
    level = BookLevel(HORIZON, 1)
    level.snapshots(0, counts)
    for month in range(3):  # months 1 and 2 took no snapshot
        level.month_end(month, defaults=1)
    assert level.at_risk == 100 and level.latest.sum() == 0
    assert level.shift(log_odds(0.015)) == 0.0  # nothing to fit the level to
    level.snapshots(3, counts)
    level.month_end(3, defaults=0)
    assert level.at_risk == 100 and level.rate == pytest.approx(3 / 100)
    assert level.shift(log_odds(0.015)) != 0.0


def test_buckets_counts_in_any_order_give_the_same_bits() -> None:
    X = _book(3000)
    parts = np.array_split(np.random.default_rng(1).permutation(len(X)), 3)
    shifts = []
    for order in ((0, 1, 2), (2, 0, 1)):
        level = BookLevel(HORIZON, 20)
        for month in range(3):
            for part in order:
                level.snapshots(month, points_counts(X[parts[part]]))
            level.month_end(month, defaults=25 if month == 2 else 0)
        shifts.append(level.shift(log_odds(0.015)))
        level = pickle.loads(pickle.dumps(level))
        assert level.shift(log_odds(0.015)) == shifts[-1]
    assert shifts[0] == shifts[1] != 0.0
    whole = BookLevel(HORIZON, 20)  # one bucket holding the whole book
    for month in range(3):
        whole.snapshots(month, points_counts(X))
        whole.month_end(month, defaults=25 if month == 2 else 0)
    assert whole.shift(log_odds(0.015)) == shifts[0]


def _publish(learner: Learner, X: np.ndarray, months: list[int]) -> None:
    """Month ends of a book of ``X``, 6 customers defaulting in each month after the first
    (positives of their latest snapshot, known on the month's last day)."""
    for m, month in enumerate(months):
        learner.snapshots(month, bin_counts(points_sum(X)))
        if m:
            ids = [f"d{m}-{i}" for i in range(6)]
            learner.add(LabelBatch(X[:6], np.ones(6), np.full(6, months[m - 1]),
                                   np.full(6, month - 1), ids, np.ones(6)))
        learner.month_end(month)


def test_the_learner_publishes_the_prior_at_the_books_level_and_reasons_add_up() -> None:
    months = [m * MONTH for m in range(1, 6)]
    X = _book(4000)
    moved, unmoved = (Learner(ModelSettings(prior_level_after_defaults=n), HORIZON)
                      for n in (20, 0))
    _publish(moved, X, months)
    _publish(unmoved, X, months)
    published, as_set = moved.published, unmoved.published
    rate = 6 * 4 / (4000 * 4)  # four months' defaults over four months' snapshots
    assert published.champion.name == as_set.champion.name == "prior"
    assert published.version != as_set.version
    assert float(published.champion.predict(X).mean()) == pytest.approx(
        1 - (1 - rate) ** HORIZON, rel=0.03)  # bins move a PD by at most 2.5 %
    assert float(as_set.champion.predict(X).mean()) > 2 * (1 - (1 - rate) ** HORIZON)
    np.testing.assert_array_equal(np.argsort(published.champion.predict(X), kind="stable"),
                                  np.argsort(as_set.champion.predict(X), kind="stable"))
    assert moved.calibrated.digest() == unmoved.calibrated.digest()  # its own prior, unmoved
    base, contributions = published.champion.explain(X)
    np.testing.assert_allclose(base + contributions.sum(axis=1),
                               logit(published.champion.predict(X)), atol=1e-6)


def test_a_default_counts_once_however_many_of_its_snapshots_it_labels() -> None:
    learner = Learner(ModelSettings(), HORIZON)
    X = _book(10)
    learner.snapshots(MONTH, bin_counts(points_sum(X)))
    # one customer's default labels its last five snapshots; another's, one
    ids = ["a"] * 5 + ["b"]
    learner.add(LabelBatch(X[:6], np.ones(6), np.full(6, MONTH), np.full(6, 2 * MONTH - 1),
                           ids, np.ones(6)))
    learner.add(LabelBatch(X[6:], np.zeros(4), np.full(4, MONTH), np.full(4, 2 * MONTH - 1),
                           ["c", "d", "e", "f"]))
    learner.month_end(2 * MONTH)
    assert learner.level.defaults == 2


def test_the_learner_step_counts_snapshots_and_starts_its_month_ends_at_the_first_label(
        ) -> None:
    day = 86_400
    stage = LearnerStage(Learner(ModelSettings(), HORIZON), ("bucket",))
    X = _book(50)
    first = 31  # 2 February 1970: the month end at 1 February was taken on its last day
    stage.day(first - 1, [SnapshotCounts(first * day, points_counts(X))])
    assert stage.advance(first + 60) == []  # counts alone start no month end
    stage.day(first + 60, [Labels(X[:1], np.ones(1, dtype=np.uint8),
                                   np.array([first * day]), np.array([(first + 60) * day]),
                                   ["a"], np.ones(1, dtype=np.uint8))])
    sent = stage.advance(first + 120)
    assert sent and {send.to for send in sent if isinstance(send, Send)} == {"bucket"}
    assert stage.learner.level.at_risk == 50  # the counts reached the first month end
    assert stage.learner.level.defaults == 1
