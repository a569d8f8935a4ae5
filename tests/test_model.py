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
    before = model.predict_all([x])
    model.track([("c1", 0)], before)
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
    model.track([("c1", t * MONTH) for t in range(4)],
                model.predict_all([_risky(float(t)) for t in range(4)]))
    model.track([("c2", 0)], model.predict_all([_risky(0.0)]))

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

    stored = model._labels[: model._count]
    weights = model._weights[: model._count]
    assert model._count <= 100
    assert int(stored.sum()) == sum(labels)  # every positive kept
    negatives = len(labels) - sum(labels)
    assert float(weights[stored == 0].sum()) == pytest.approx(negatives, rel=0.05)  # odd counts
    assert set(np.unique(weights[stored == 1])) == {1.0}
    late = model._rows[: model._count, model._index["late"]]
    assert np.isnan(late[model._rows[: model._count, 0] <= 200]).all()
    assert model.refit()
