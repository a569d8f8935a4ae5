"""The vectorised prior scorecard, its calibrated variant, the link and the metrics: the
rules score as the hand-set card did, silence scores nothing, the reasons add up to the
log-odds, and a row's PD never depends on the rows scored with it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.features import INDEX, WIDTH, empty
from detectors.models.calibrated import CalibratedScorecard
from detectors.models.link import logit, sigmoid
from detectors.models.metrics import auc, log_loss
from detectors.models.scorecard import BASE_RATE, PriorScorecard, points
from detectors.table import Table
from detectors.tradelines import TradelineDetector

SPANS = {"max_dpd": (0, 150), "dso": (0, 250), "delay_level": (0, 80),
         "delay_trend": (-20, 40), "tl_dpd": (0, 150), "tl_dpd_trend": (-30, 60),
         "news_adverse": (0, 6), "news_positive": (0, 3), "registry_distress": (0, 6),
         "accounts_overdue": (0, 1), "rating_downgrade": (0, 3), "altman_z2": (-1, 6),
         "leverage": (0, 2), "amount_anomaly": (0, 3), "accounts_age_days": (0, 900)}
"""Where the feeds put each input (anything else: 0 to 1)."""


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs over their whole span, a third missing, and labels that follow days past
    due."""
    rng = np.random.default_rng(seed)
    low, high = np.zeros(WIDTH), np.ones(WIDTH)
    for code, (lo, hi) in SPANS.items():
        low[INDEX[code]], high[INDEX[code]] = lo, hi
    X = rng.uniform(low, high, size=(n, WIDTH))
    X[rng.random((n, WIDTH)) < 0.3] = np.nan
    dpd = X[:, INDEX["max_dpd"]]
    y = (rng.random(n) < np.where(np.nan_to_num(dpd) > 60, 0.2, 0.01)).astype(np.uint8)
    return X, y


def test_each_rule_scores_as_the_hand_set_card() -> None:
    X = empty(1)
    values = {"max_dpd": 45.0, "overdue_share": 0.5, "share_over_90": 0.2, "utilisation": 1.2,
              "delay_level": 40.0, "delay_trend": 100.0, "delay_drift": 3.0,
              "partial_share": 0.25, "amount_anomaly": 2.0, "tl_dpd": 70.0,
              "tl_dpd_trend": -5.0, "tl_late_share": 0.5, "tl_utilisation": 0.8,
              "tl_paid_share": 0.9, "news_adverse": 9.0,
              "news_positive": 1.0,
              "registry_distress": 1.0, "accounts_overdue": 1.0, "rating_downgrade": 5.0,
              "altman_z2": 2.0, "leverage": 1.5, "dso": 300.0}
    for code, value in values.items():
        X[0, INDEX[code]] = value
    expected = {"max_dpd": 1.0, "overdue_share": 2.0 * 0.3, "share_over_90": 1.5 * 0.2,
                "utilisation": 0.6 * 0.3, "delay_level": 0.02 * 30, "delay_trend": 0.04 * 60,
                "delay_drift": 0.8, "partial_share": 0.25, "amount_anomaly": 1.0,
                "tl_dpd": 2.2, "tl_dpd_trend": 0.0, "tl_late_share": 0.5,
                "tl_utilisation": 1.0 * 0.5,
                "tl_paid_share": -1.0 * 0.4,
                "news_adverse": 2.0,
                "news_positive": -0.2, "registry_distress": 0.5, "accounts_overdue": 0.8,
                "rating_downgrade": 1.2, "altman_z2": 0.5 * 0.6, "leverage": 0.6, "dso": 0.0}
    got = points(X)[0]
    for code, want in expected.items():
        assert got[INDEX[code]] == pytest.approx(want), code
    card = PriorScorecard()
    want_logit = math.log(BASE_RATE / (1 - BASE_RATE)) + sum(expected.values())
    assert card.log_odds(X)[0] == pytest.approx(want_logit)


def test_silence_scores_nothing_not_the_rules_otherwise() -> None:
    X = empty(2)
    X[1, INDEX["leverage"]] = 1.5  # present and above 1: the rule's otherwise
    X[1, INDEX["altman_z2"]] = 5.0  # a present, healthy Z'' scores below zero
    card = PriorScorecard()
    assert card.predict(X[:1])[0] == pytest.approx(BASE_RATE)
    assert not points(X[:1]).any()
    assert points(X)[1, INDEX["leverage"]] == pytest.approx(0.6)
    assert points(X)[1, INDEX["altman_z2"]] == pytest.approx(-0.5 * 2.3)


def test_a_cured_delinquency_still_scores_in_the_prior() -> None:
    """Bureaus count past delinquencies: a status book's account 60 days behind for half a
    year and current since scores above one never late, though both are current today."""
    tradelines = TradelineDetector(Table(TradelineDetector.COLUMNS))
    cured, never = tradelines.t.add(), tradelines.t.add()
    for month in range(12):
        day = 30 * month
        statuses_only = {"outstanding": None, "overdue": None, "limit": None, "paid": None,
                         "day": day}
        tradelines.update(cured, 60 if month < 6 else 0, **statuses_only)
        tradelines.update(never, 0, **statuses_only)
    X = empty(2)
    tradelines.features(np.array([cured, never]), 30 * 11, X)
    assert (X[:, INDEX["tl_dpd"]] == 0).all() and (X[:, INDEX["tl_dpd_trend"]] == 0).all()
    remembered, clean = PriorScorecard().predict(X)
    assert clean == pytest.approx(BASE_RATE)
    assert remembered > 1.2 * clean
    share = (11 / 12) ** 6  # six on-time reports since the late ones, each a twelfth
    assert X[0, INDEX["tl_late_share"]] == pytest.approx(share)
    assert points(X)[0, INDEX["tl_late_share"]] == pytest.approx(share)


def test_altman_z2_is_graded_from_ccc_to_aaa() -> None:
    z2 = np.array([-3.0, -0.75, 1.1, 2.6, 4.9, 8.0])
    X = empty(len(z2))
    X[:, INDEX["altman_z2"]] = z2
    got = points(X)[:, INDEX["altman_z2"]]
    assert got == pytest.approx([1.675, 1.675, 0.75, 0.0, -1.15, -1.15])


@pytest.mark.parametrize("model", [PriorScorecard(), CalibratedScorecard()],
                         ids=["prior", "calibrated"])
def test_reasons_add_up_to_the_log_odds(model: PriorScorecard | CalibratedScorecard) -> None:
    X, y = _rows(3000, seed=1)
    if isinstance(model, CalibratedScorecard):
        model.learn(X, y)
        model.month_end()
        assert (model.slope, model.intercept) != (1.0, 0.0)
    base, parts = model.explain(X)
    assert parts.shape == X.shape
    np.testing.assert_allclose(base + parts.sum(axis=1), logit(model.predict(X)), atol=1e-6)
    unused = [j for j in range(WIDTH) if not points(X)[:, j].any()]
    assert not parts[:, unused].any()


@pytest.mark.parametrize("model", [PriorScorecard(), CalibratedScorecard()],
                         ids=["prior", "calibrated"])
def test_a_rows_pd_does_not_depend_on_its_batch(
        model: PriorScorecard | CalibratedScorecard) -> None:
    X, y = _rows(5000, seed=2)
    if isinstance(model, CalibratedScorecard):
        model.learn(X, y)
        model.month_end()
    whole = model.predict(X)
    for size in (1, 3, 64, 1000, 4097):
        pieces = np.concatenate([model.predict(X[i : i + size]) for i in range(0, len(X), size)])
        assert np.array_equal(pieces, whole), size
    assert np.array_equal(model.predict(X[::7]), whole[::7])  # a strided view


def test_calibration_keeps_the_ranking_and_fits_the_level_at_the_first_month_end() -> None:
    X, y = _rows(20_000, seed=3)
    prior, card = PriorScorecard(), CalibratedScorecard()
    card.learn(X, y)
    assert np.array_equal(card.predict(X), prior.predict(X))  # counted, not fitted yet
    card.month_end()
    rate = y.mean()
    assert abs(prior.predict(X).mean() - rate) > 0.2 * rate
    assert abs(card.predict(X).mean() - rate) < 0.02 * rate
    assert card.slope > 0
    order = np.argsort(prior.log_odds(X), kind="stable")
    assert (np.diff(card.predict(X)[order]) >= 0).all()
    base, parts = card.explain(X[:5])
    np.testing.assert_allclose(parts, card.slope * points(X[:5]))
    np.testing.assert_allclose(base, card.intercept + card.slope * prior.intercept)


def test_learning_is_deterministic_and_named_by_its_state() -> None:
    X, y = _rows(2000, seed=4)
    a, b = CalibratedScorecard(), CalibratedScorecard()
    before = a.digest()
    a.learn(X, y)
    order = np.random.default_rng(4).permutation(len(y))  # another order, in two pieces
    b.learn(X[order[:700]], y[order[:700]])
    b.learn(X[order[700:]], y[order[700:]])
    a.month_end()
    b.month_end()
    assert a.digest() == b.digest() != before
    assert PriorScorecard().digest() == PriorScorecard().digest()


def test_the_link_stays_inside_zero_and_one() -> None:
    z = np.array([-1e6, -40.0, -5.0, 0.0, 5.0, 40.0, 1e6, np.inf, -np.inf])
    p = sigmoid(z)
    assert ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(logit(sigmoid(np.linspace(-15, 15, 31))), np.linspace(-15, 15, 31),
                               atol=1e-6)


def test_auc_counts_pairs_and_half_ties() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    p = rng.integers(0, 8, 300) / 8  # many ties
    pos, neg = p[y == 1], p[y == 0]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auc(y, p) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert math.isnan(auc(np.zeros(3), np.ones(3)))
    assert log_loss(np.array([1, 0]), np.array([1.0, 0.0])) == pytest.approx(1e-6, rel=1e-3)


def test_the_fit_follows_the_latest_months_level() -> None:
    """A level that moves: after six months at one default rate and six at three times it,
    the fitted PDs sit near the latest rate (counts halve every three months: about 0.87 of
    it), not near the rate of all twelve months (two thirds of it)."""
    X, y = _rows(20_000, seed=5)
    rng = np.random.default_rng(5)
    card = CalibratedScorecard()
    for month in range(12):
        low = month < 6
        kept = y.astype(bool) & (rng.uniform(size=len(y)) < (1 / 3 if low else 1.0))
        card.learn(X, kept.astype(np.uint8))
        card.month_end()
    latest = y.mean()
    everything = (1 / 3 + 1) / 2 * latest  # the rate over all twelve months
    assert 0.8 * latest < card.predict(X).mean() < 1.05 * latest
    assert everything < 0.7 * latest
