"""The online logistic regression: it learns a signal, reads silence as the mean, explains
itself additively, and scores a row the same whatever the batch and after a pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detectors.features import INDEX, LOG_SCALED, WIDTH
from detectors.models.link import logit
from detectors.models.logit import Z_CLIP, OnlineLogit, model_inputs
from detectors.models.metrics import auc


def _book(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every column noise (each of its own scale, the same in every sample) and a quarter
    missing, except days past due and the overdue share, where the risk lives; defaults are
    rare."""
    scales = np.random.default_rng(0).choice([1.0, 10.0, 100.0], size=WIDTH)  # one book's
    rng = np.random.default_rng(seed)
    X = rng.lognormal(size=(n, WIDTH)) * scales
    X[rng.random((n, WIDTH)) < 0.25] = np.nan
    risk = rng.normal(size=n)
    X[:, INDEX["max_dpd"]] = np.clip(30 * (risk + rng.normal(size=n)), 0, None)
    X[:, INDEX["overdue_share"]] = 1 / (1 + np.exp(-risk - rng.normal(size=n)))
    y = (rng.random(n) < 1 / (1 + np.exp(4.0 - 1.5 * risk))).astype(np.uint8)
    return X, y


@pytest.fixture(scope="module")
def trained() -> OnlineLogit:
    X, y = _book(20_000, seed=1)
    model = OnlineLogit()
    model.learn(X, y)
    return model


def test_it_learns_the_signal(trained: OnlineLogit) -> None:
    X, y = _book(20_000, seed=2)
    alone = max(auc(y, np.nan_to_num(X[:, INDEX[code]])) for code in ("max_dpd", "overdue_share"))
    assert auc(y, trained.predict(X)) > alone - 0.02 > 0.7
    assert trained.weights[INDEX["max_dpd"]] > 0 and trained.weights[INDEX["overdue_share"]] > 0
    assert 0.5 < trained.predict(X).mean() / y.mean() < 2


def test_inputs_are_log_scaled_and_clipped() -> None:
    X = np.full((1, WIDTH), 1e6)
    X[0, INDEX["max_dpd"]] = -np.e + 1  # log-scaled keeps the sign
    X[0, INDEX["overdue_share"]] = np.nan
    U = model_inputs(X)[0]
    assert U[INDEX["max_dpd"]] == pytest.approx(-1.0)
    assert np.isnan(U[INDEX["overdue_share"]])
    assert (U[~LOG_SCALED & ~np.isnan(U)] == 50.0).all()  # clipped
    assert U[INDEX["dso"]] == pytest.approx(np.log1p(1e6))


def test_silence_is_the_mean_and_adds_nothing(trained: OnlineLogit) -> None:
    X = np.full((2, WIDTH), np.nan)
    X[1, INDEX["max_dpd"]] = 1e9  # far out: clipped to Z_CLIP deviations
    base, parts = trained.explain(X)
    assert not parts[0].any()
    assert trained.predict(X[:1])[0] == pytest.approx(1 / (1 + np.exp(-trained.intercept)))
    assert parts[1, INDEX["max_dpd"]] == pytest.approx(Z_CLIP * trained.weights[INDEX["max_dpd"]])
    assert (base == trained.intercept).all()


def test_reasons_add_up_to_the_log_odds(trained: OnlineLogit) -> None:
    X, _ = _book(5000, seed=3)
    base, parts = trained.explain(X)
    np.testing.assert_allclose(base + parts.sum(axis=1), logit(trained.predict(X)), atol=1e-6)


def test_a_rows_pd_does_not_depend_on_its_batch(trained: OnlineLogit) -> None:
    X, _ = _book(9000, seed=4)
    whole = trained.predict(X)
    for size in (1, 2, 100, 4096, 5000):
        pieces = np.concatenate([trained.predict(X[i : i + size])
                                 for i in range(0, len(X), size)])
        assert np.array_equal(pieces, whole), size
    assert np.array_equal(trained.predict(X[1::3]), whole[1::3])
    assert np.array_equal(trained.predict(np.asfortranarray(X)), whole)


def test_learning_is_deterministic_and_survives_a_pickle() -> None:
    X, y = _book(6000, seed=5)
    a, b = OnlineLogit(), OnlineLogit()
    a.learn(X[:3000], y[:3000])
    b.learn(X[:3000], y[:3000])
    b = pickle.loads(pickle.dumps(b))
    a.learn(X[3000:], y[3000:])
    b.learn(X[3000:], y[3000:])
    assert a.digest() == b.digest()
    assert np.array_equal(a.predict(X), b.predict(X))
    assert a.digest() != OnlineLogit().digest()


def test_a_constant_column_is_not_blown_up() -> None:
    """Ten identical values leave a variance of rounding noise, not a reason to divide."""
    X = np.full((10, WIDTH), np.nan)
    X[:, INDEX["dso"]] = 37.3
    model = OnlineLogit()
    model.learn(X, np.ones(10, dtype=np.uint8))
    probe = X[:1].copy()
    probe[0, INDEX["dso"]] = 38.0
    assert model.explain(probe)[1][0, INDEX["dso"]] == 0.0
