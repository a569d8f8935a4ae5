"""The boosted model: a bounded store that keeps every positive and the negatives' weight,
trees grown the same way every time, scored row by row whatever the batch, and reason
codes that add up to the log-odds."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detectors.features import INDEX, WIDTH, empty
from detectors.models import trees as trees_module
from detectors.models.boosted import RefitBoosting
from detectors.models.growing import Growth, grow
from detectors.models.link import logit
from detectors.models.metrics import auc
from detectors.models.store import MIN_CAP, LabelStore
from detectors.models.trees import TreeEnsemble


def _book(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise in every column, a fifth missing; risk rises with days past due, is U-shaped in
    the overdue share, and is high where the bureau says nothing."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, WIDTH)) * 10
    X[rng.random((n, WIDTH)) < 0.2] = np.nan
    X[:, INDEX["max_dpd"]] = rng.integers(0, 120, n)
    share = rng.random(n)
    X[:, INDEX["overdue_share"]] = share
    silent = rng.random(n) < 0.3
    X[:, INDEX["tl_dpd"]] = np.where(silent, np.nan, rng.integers(0, 30, n))
    risk = -4.5 + 0.03 * X[:, INDEX["max_dpd"]] + 3 * (share - 0.5) ** 2 + 1.0 * silent
    y = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(np.uint8)
    return X, y


@pytest.fixture(scope="module")
def model() -> TreeEnsemble:
    X, y = _book(20_000, seed=1)
    booster = RefitBoosting(min_labels=100, min_positives=10)
    booster.learn(X, y)
    assert booster.refit()
    assert booster.model is not None
    return booster.model


def test_the_trees_learn_shapes_a_line_cannot(model: TreeEnsemble) -> None:
    X, y = _book(20_000, seed=2)
    p = model.predict(X)
    assert auc(y, p) > 0.75
    probe = empty(3)
    probe[:, INDEX["max_dpd"]] = 10.0
    probe[:, INDEX["tl_dpd"]] = [5.0, 5.0, np.nan]
    probe[:, INDEX["overdue_share"]] = [0.5, 0.02, 0.5]
    middle, edge, silent = model.predict(probe)
    assert edge > middle and silent > middle


def test_reasons_add_up_to_the_log_odds(model: TreeEnsemble) -> None:
    X, _ = _book(3000, seed=3)
    base, parts = model.explain(X)
    np.testing.assert_allclose(base + parts.sum(axis=1), logit(model.predict(X)), atol=1e-6)
    assert base[0] == pytest.approx(model.base + model.value[:, 0].sum())
    unused = np.setdiff1d(np.arange(WIDTH), model.feature)
    assert not parts[:, unused].any()


def test_a_rows_pd_does_not_depend_on_its_batch(model: TreeEnsemble) -> None:
    X, _ = _book(2 * trees_module.ROWS_AT_ONCE + 3, seed=4)
    whole = model.predict(X)
    for size in (1, 5, trees_module.ROWS_AT_ONCE - 1, trees_module.ROWS_AT_ONCE + 1):
        pieces = np.concatenate([model.predict(X[i : i + size]) for i in range(0, len(X), size)])
        assert np.array_equal(pieces, whole), size
    assert np.array_equal(model.predict(X[2::5]), whole[2::5])
    base, parts = model.explain(X)
    for i in (0, 7, len(X) - 1):
        one_base, one_parts = model.explain(X[i : i + 1])
        assert one_base[0] == base[i] and np.array_equal(one_parts[0], parts[i])


def test_rows_at_a_cut_go_where_their_bin_went() -> None:
    """Cut points are values of the stored float32 rows, so a row equal to one, or a
    float64 that rounds to it, scores with the rows of its bin."""
    values = np.repeat([1.0, 2.0, 3.0], 400)
    X = empty(len(values))
    X[:, 0] = values
    rank = np.tile(np.arange(400), 3)
    y = (rank < np.select([values == 1.0, values == 2.0], [8, 80], 360)).astype(np.uint8)
    ensemble = grow(X.astype(np.float32), y, np.ones(len(y), dtype=np.float32),
                    Growth(trees=5, learning_rate=0.5, min_samples_leaf=20))
    probe = empty(4)
    probe[:, 0] = [2.0, 2.0 + 1e-12, 3.0, 3.0 - 1e-12]
    two, nearly_two, three, nearly_three = ensemble.predict(probe)
    assert two == nearly_two < nearly_three == three
    assert np.unique(ensemble.predict(X)).size == 3


def test_columns_of_one_value_never_split_and_change_no_tree() -> None:
    """A feed the book lacks leaves its columns missing (or at one value) on every row:
    such columns are left out of the histograms, and the trees are those of the columns
    that vary, splitting on them by their own index."""
    X, y = _book(5000, seed=5)
    varying = [INDEX["overdue_share"], INDEX["tl_dpd"]]
    missing = empty(len(X))
    missing[:, varying] = X[:, varying]
    one_value = np.full_like(missing, 7.0)
    one_value[:, varying] = X[:, varying]
    weights = np.ones(len(y), dtype=np.float32)
    trees = [grow(rows.astype(np.float32), y, weights, Growth(trees=10))
             for rows in (missing, one_value)]
    assert trees[0].digest() == trees[1].digest()
    assert set(trees[0].feature.ravel().tolist()) == set(varying)
    assert auc(y, trees[0].predict(missing)) > 0.6


def test_growing_is_deterministic(model: TreeEnsemble) -> None:
    X, y = _book(20_000, seed=1)
    again = RefitBoosting(min_labels=100, min_positives=10)
    half = len(X) // 2
    again.learn(X[:half], y[:half])
    again = pickle.loads(pickle.dumps(again))
    again.learn(X[half:], y[half:])
    assert again.refit() and again.model is not None
    assert again.model.digest() == model.digest()
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.predict(X), model.predict(X))
    assert not model.value.flags.writeable and not copy.value.flags.writeable


def test_refit_waits_for_enough_labels() -> None:
    X, y = _book(500, seed=5)
    booster = RefitBoosting(min_labels=1000, min_positives=5)
    booster.learn(X, y)
    assert not booster.refit() and booster.model is None
    booster = RefitBoosting(min_labels=10, min_positives=5)
    booster.learn(X, np.ones(len(X), dtype=np.uint8))  # no negative: nothing to tell apart
    assert not booster.refit()


def test_thinning_keeps_positives_and_the_weight_of_negatives() -> None:
    store = LabelStore(cap=1000)
    rng = np.random.default_rng(6)
    y = (rng.random(10_000) < 0.03).astype(np.uint8)
    X = np.arange(len(y), dtype=np.float64)[:, None].repeat(WIDTH, axis=1)
    for start in range(0, len(y), 700):  # batches that straddle the cap
        store.add(X[start : start + 700], y[start : start + 700])
        assert len(store) <= store.cap and len(store.view()[0]) <= store.cap
    rows, labels, weights = store.view()
    assert int(labels.sum()) == int(y.sum())  # every positive kept...
    assert set(weights[labels == 1].tolist()) == {1.0}  # ...at its own weight
    negatives = len(y) - int(y.sum())
    assert float(weights[labels == 0].sum()) == pytest.approx(negatives, rel=0.01)
    kept = rows[:, 0].astype(int)
    assert (np.diff(kept) > 0).all()  # arrival order kept
    assert (labels == y[kept]).all()
    # A fair sample of the whole history: every k-th negative, each of weight k.
    k = set(weights[labels == 0].tolist())
    assert len(k) == 1
    arrival = np.cumsum(y == 0) - 1  # each negative's number among the negatives
    assert (arrival[kept[labels == 0]] % int(k.pop()) == 0).all()


def test_no_stored_row_outweighs_the_others_of_its_class() -> None:
    """A store thinned many times keeps old and new months in proportion: of ten equal
    stretches of the history, each keeps a tenth of the negatives' weight."""
    store = LabelStore(cap=500)
    rng = np.random.default_rng(8)
    y = (rng.random(200_000) < 0.002).astype(np.uint8)
    X = np.arange(len(y), dtype=np.float64)[:, None].repeat(WIDTH, axis=1)
    for start in range(0, len(y), 1024):
        store.add(X[start : start + 1024], y[start : start + 1024])
    rows, labels, weights = store.view()
    negative = labels == 0
    assert weights[negative].max() == weights[negative].min()
    stretch = (rows[negative, 0] // (len(y) // 10)).astype(int)
    shares = np.bincount(stretch, weights=weights[negative], minlength=10) / weights[negative].sum()
    assert np.allclose(shares, 0.1, atol=0.01)


def test_positives_are_thinned_only_once_they_fill_half_the_store() -> None:
    store = LabelStore(cap=200)
    y = np.ones(1000, dtype=np.uint8)
    y[::10] = 0
    store.add(np.zeros((len(y), WIDTH)), y)
    _, labels, weights = store.view()
    assert len(labels) <= 200
    assert float(weights[labels == 1].sum()) == pytest.approx(900, rel=0.05)
    assert float(weights[labels == 0].sum()) == pytest.approx(100, rel=0.1)


def test_the_store_pickles_its_rows_only() -> None:
    store = LabelStore(cap=50_000)
    store.add(np.ones((3, WIDTH)), np.array([0, 1, 0], dtype=np.uint8))
    assert len(pickle.dumps(store)) < 5_000  # not the 1,024-row buffer
    copy = pickle.loads(pickle.dumps(store))
    copy.add(np.ones((2, WIDTH)), np.array([1, 1], dtype=np.uint8))
    assert copy.view()[1].tolist() == [0, 1, 0, 1, 1]


def test_a_store_of_positives_only_keeps_the_negatives_first_rows_whole() -> None:
    store = LabelStore(cap=MIN_CAP)
    store.add(np.zeros((3 * MIN_CAP, WIDTH)), np.ones(3 * MIN_CAP, dtype=np.uint8))
    store.add(np.zeros((2, WIDTH)), np.zeros(2, dtype=np.uint8))
    _, labels, weights = store.view()
    assert weights[labels == 0].tolist() == [1.0, 1.0]  # no thinning of a class it never held
    assert float(weights[labels == 1].sum()) == pytest.approx(3 * MIN_CAP, rel=0.05)


def test_a_book_with_many_defaults_learns_at_a_faster_rate() -> None:
    """The rate grows with the positive rows' weight: the same rows weighing ten times as
    much (a store thinned as a large book's is) grow the trees of the fastest rate, and
    unweighted ones those of the base rate."""
    X, y = _book(6_000, seed=3)
    rows = X.astype(np.float32)
    positives = int(y.sum())
    rule = Growth(trees=8, learning_rate=0.1, fastest_rate=0.3,
                  positives_per_rate=5 * positives / 0.3, min_samples_leaf=20)

    def grown(weight: float, growth: Growth) -> str:
        return grow(rows, y, np.full(len(y), weight, dtype=np.float32), growth).digest()

    fixed = {rate: Growth(trees=8, learning_rate=rate, fastest_rate=rate, min_samples_leaf=20)
             for rate in (0.1, 0.3)}
    assert grown(1.0, rule) == grown(1.0, fixed[0.1]) != grown(1.0, fixed[0.3])
    assert grown(10.0, rule) == grown(10.0, fixed[0.3]) != grown(10.0, fixed[0.1])
