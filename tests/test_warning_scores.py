"""What every early warning of a simulated run says about its score: reasons that add up to
it, with plain-language labels, and a PD term structure; every kind of model explains its
score exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from config.settings import Settings
from connectors.simulator import simulate
from detectors.features import CATALOGUE, INDEX, OTHER, empty, label
from detectors.models import (
    CalibratedScorecard,
    OnlineLogit,
    PriorScorecard,
    RefitBoosting,
    RiskModel,
)
from detectors.models.growing import Growth
from detectors.models.link import logit
from detectors.reasons import explanation
from flows.run import WARNINGS, read_jsonl, run_folder

PD_ROUNDING = 5e-7
"""``pd`` is published to six decimals."""


@pytest.fixture(scope="module")
def warnings(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Every warning of a run on a small simulated book."""
    base = tmp_path_factory.mktemp("book")
    simulate(customers=200, months=18, seed=7, out=base / "feeds")
    run_folder(Settings(), base / "feeds", base / "out", notify=False)
    return read_jsonl(base / "out" / WARNINGS)


@pytest.fixture(scope="module")
def early(warnings: list[dict]) -> list[dict]:
    """The early warnings and escalations: the warnings a model's score explains."""
    scored = [w for w in warnings if w["kind"] in ("early_warning", "escalation")]
    assert len(scored) >= 5
    return scored


def test_baseline_and_contributions_add_up_to_the_score_on_every_warning(
        early: list[dict]) -> None:
    for w in early:
        total = math.fsum([w["baseline"], *(r["contribution"] for r in w["reasons"])])
        assert abs(total - w["log_odds"]) <= 1e-6, w["warning_id"]
        # The log-odds are the PD's: its logistic rounds to the published PD.
        pd = 1.0 / (1.0 + math.exp(-w["log_odds"]))
        assert abs(pd - w["pd"]) <= PD_ROUNDING + 1e-12, w["warning_id"]


def test_reasons_are_named_in_plain_language_with_the_rest_summed_once(
        early: list[dict]) -> None:
    for w in early:
        codes = [r["code"] for r in w["reasons"]]
        assert codes.count(OTHER) <= 1 and OTHER not in codes[:-1]
        for r in w["reasons"]:
            assert r["code"] in CATALOGUE or r["code"] == OTHER
            assert r["label"] == label(r["code"]) and "_" not in r["label"]


def trained_models() -> list[RiskModel]:
    """One model of every kind, each taught the same labelled rows."""
    rng = np.random.default_rng(3)
    X = empty(2000)
    X[:, INDEX["max_dpd"]] = rng.integers(0, 120, 2000)
    X[:, INDEX["overdue_share"]] = rng.uniform(0, 1, 2000)
    X[::3, INDEX["altman_z2"]] = rng.normal(2.0, 1.5, len(X[::3]))
    y = (rng.uniform(0, 1, 2000) < 0.02 + 0.3 * (X[:, INDEX["max_dpd"]] > 60)).astype(np.uint8)
    calibrated, online = CalibratedScorecard(), OnlineLogit()
    boosting = RefitBoosting(min_labels=100, min_positives=10,
                             growth=Growth(min_samples_leaf=20))
    for model in (calibrated, online, boosting):
        model.learn(X, y)
    calibrated.month_end()
    assert boosting.refit() and boosting.model is not None
    return [PriorScorecard(), calibrated, online, boosting.model]


@pytest.mark.parametrize("model", trained_models(), ids=lambda m: m.name)
def test_every_model_kind_explains_its_score_exactly(model: RiskModel) -> None:
    rng = np.random.default_rng(5)
    X = empty(300)
    X[:, INDEX["max_dpd"]] = rng.integers(0, 120, 300)
    X[:, INDEX["overdue_share"]] = rng.uniform(0, 1, 300)
    X[::2, INDEX["altman_z2"]] = rng.normal(2.0, 1.5, 150)
    bases, parts = model.explain(X)
    score = logit(model.predict(X))
    for base, row, z in zip(bases.tolist(), parts, score.tolist(), strict=True):
        assert abs(explanation(base, row).log_odds - z) <= 1e-6


def test_every_warning_carries_a_monotone_term_structure_with_its_pd_at_the_horizon(
        warnings: list[dict]) -> None:
    for w in warnings:
        months = [t["months"] for t in w["pd_term"]]
        pds = [t["pd"] for t in w["pd_term"]]
        assert months == [3, 6, 8, 12] and w["horizon_months"] == 8
        assert pds == sorted(pds) and pds[0] >= 0.0 and pds[-1] <= 1.0
        assert pds[months.index(w["horizon_months"])] == w["pd"]
