"""The global risk model's bookkeeping: predictions tracked for progressive validation, and
the boosted model's bounded example store."""

from __future__ import annotations

import math

import numpy as np
import pytest

import detectors.gbm as gbm
from config.settings import ModelSettings
from detectors.gbm import RefitBoosting
from detectors.model import MODELS, RiskModel

MONTH = 30 * 86_400


def _risky(dpd: float) -> dict[str, float]:
    return {"max_dpd": dpd, "overdue_share": min(1.0, dpd / 90)}


def test_validation_uses_the_prediction_made_before_learning() -> None:
    model = RiskModel(ModelSettings(min_labels=10, min_positives=2), horizon_months=1)
    x = _risky(80.0)
    model.track([("c1", 0, x)])
    before = model.predict_all([x])
    for _ in range(200):  # the online models now think 80 days past due is harmless
        model.learn_many([("other", 0, x, 0)], now=10 * MONTH)
    assert model.predict_all([x])["online"][0] < before["online"][0]

    model.learn_many([("c1", 0, x, 1)], now=10 * MONTH)

    ys, predictions = model.scored()
    (y,), (predicted,) = ys, predictions
    assert y == 1
    assert predicted[MODELS.index("online")] == pytest.approx(before["online"][0], rel=1e-6)
    assert math.isnan(predicted[MODELS.index("boosted")])  # not ready when it was tracked


def test_a_label_forgets_its_customers_earlier_tracked_snapshots() -> None:
    model = RiskModel(ModelSettings(), horizon_months=1)
    model.track([("c1", t * MONTH, _risky(float(t))) for t in range(4)])
    model.track([("c2", 0, _risky(0.0))])

    model.learn_many([("c1", 2 * MONTH, _risky(2.0), 0)], now=4 * MONTH)

    assert len(model.scored()[0]) == 1
    assert model._tracked == 2  # c1's last snapshot and c2's remain
    model.learn_many([("c1", 0, _risky(0.0), 0)], now=4 * MONTH)  # already forgotten
    assert len(model.scored()[0]) == 1
    model.learn_many([("c1", 3 * MONTH, _risky(3.0), 0), ("c2", 0, _risky(0.0), 0)],
                     now=5 * MONTH)
    assert model._tracked == 0 and not model._open


def test_thinning_keeps_positives_and_the_weight_of_negatives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gbm, "MAX_ROWS", 100)
    model = RefitBoosting(min_labels=10, min_positives=2)
    labels = [int(i % 10 == 0) for i in range(250)]
    for i, y in enumerate(labels):
        model.learn_one({"dpd": float(i), **({"late": 1.0} if i > 200 else {})}, y)

    stored = np.frombuffer(bytes(model._labels), dtype=np.uint8)
    weights = model._weights[: model._count]
    assert model._count <= 100
    assert int(stored.sum()) == sum(labels)  # every positive kept
    negatives = len(labels) - sum(labels)
    assert float(weights[stored == 0].sum()) == pytest.approx(negatives, rel=0.05)  # odd counts
    assert set(np.unique(weights[stored == 1])) == {1.0}
    late = model._rows[: model._count, model._index["late"]]
    assert np.isnan(late[model._rows[: model._count, 0] <= 200]).all()
    assert model.refit()


def _calibration_case() -> tuple[RiskModel, dict[str, float], dict[str, float]]:
    """100 snapshots at 75 days past due of which 10 default, 100 current of which 1 does,
    all taken at time 0 with a 1-month horizon: the scorecard says about 9% and 1.5%."""
    model = RiskModel(ModelSettings(min_labels=50, min_positives=5), horizon_months=1)
    risky, calm = {"max_dpd": 75.0}, {"max_dpd": 0.0}
    model.track([(f"r{i}", 0, risky) for i in range(100)] + [(f"c{i}", 0, calm)
                                                            for i in range(100)])
    labels = ([(f"r{i}", 0, risky, int(i < 10)) for i in range(100)]
              + [(f"c{i}", 0, calm, int(i < 1)) for i in range(100)])
    model.learn_many(labels, now=MONTH + 86_400)
    return model, risky, calm


def test_calibration_uses_only_labels_whose_horizon_has_closed() -> None:
    model, risky, calm = _calibration_case()
    raw = model.score_many([risky, calm])
    model.calibrate(now=MONTH + 86_400)  # known, but the horizon and its grace month are open
    assert model.score_many([risky, calm]) == raw
    model.calibrate(now=3 * MONTH)
    calibrated = model.score_many([risky, calm])
    # The labels say 10% and 1% (a small ridge pulls towards the raw scale).
    assert calibrated[0] == pytest.approx(0.10, abs=0.01)
    assert calibrated[1] == pytest.approx(0.01, abs=0.005)
    assert raw[0] < calibrated[0] and raw[1] > calibrated[1]
    assert model.version() != "prior-v1"


def test_calibrated_reasons_add_up_to_the_scores_log_odds() -> None:
    model, risky, calm = _calibration_case()
    model.calibrate(now=3 * MONTH)
    x = {"max_dpd": 75.0, "overdue_share": 0.9, "tl_dpd": 40.0}
    (pd,) = model.score_many([x])
    assert model.base() + sum(model.explain(x).values()) == pytest.approx(
        math.log(pd / (1 - pd)), abs=1e-9)
    assert model.explain(x)["max_dpd"] == pytest.approx(model._platt.slope * 1.8)
