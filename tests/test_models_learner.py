"""The learner key's model side: the same labels in any arrival order publish the same
models; positives wait for their horizon; each label is validated by the models frozen when
its snapshot was scored; the whole learner survives a pickle."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from config.settings import ModelSettings
from detectors.clock import to_seconds
from detectors.features import INDEX, WIDTH, empty
from detectors.models import MODELS, LabelBatch, Learner, Published
from detectors.models import learner as learner_module
from detectors.models.base import ROWS_AT_ONCE, explain_rows, predict_rows
from detectors.models.link import logit
from detectors.models.scorecard import BASE_RATE
from detectors.models.validation import WINDOW, ValidationWindow
from detectors.term import BAND_CENTRES, TermCurve, cumulative_pd

MONTHS = [to_seconds(datetime(2023 + m // 12, m % 12 + 1, 1, tzinfo=UTC)) for m in range(24)]
HORIZON = 2
SETTINGS = ModelSettings(min_labels=300, min_positives=15, refit_every_months=2)


def _rows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows of features as snapshots hold them (float16 values), labels from max_dpd."""
    X = (rng.normal(size=(n, WIDTH)) * 5).astype(np.float16).astype(np.float64)
    X[rng.random((n, WIDTH)) < 0.3] = np.nan
    X[:, INDEX["max_dpd"]] = rng.integers(0, 120, n)
    risk = -3.5 + 0.03 * X[:, INDEX["max_dpd"]]
    y = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(np.uint8)
    return X, y


def _labels(seed: int = 0, customers: int = 120) -> LabelBatch:
    """A snapshot per customer and month; a negative is known the month after its horizon,
    a positive some days into the months after its snapshot."""
    rng = np.random.default_rng(seed)
    batches = []
    for m, at in enumerate(MONTHS[: -HORIZON - 1]):
        X, y = _rows(customers, rng)
        known = np.where(y == 1, MONTHS[m + 1] + rng.integers(0, 20, customers) * 86_400 * y,
                         MONTHS[m + HORIZON + 1])
        batches.append(LabelBatch(X, y, np.full(customers, at), known,
                                  [f"c{i:03d}" for i in range(customers)]))
    return LabelBatch.concat(batches)


def _run(learner: Learner, deliveries: list[LabelBatch], months: list[int],
         after: int = -1) -> list[Published]:
    """Before each month end, deliver the labels of every batch in ``deliveries`` (in that
    order) that became known since the last (or since ``after``), then run it."""
    published, previous = [], after
    for month in months:
        for batch in deliveries:
            fresh = (batch.known_at > previous) & (batch.known_at <= month)
            if fresh.any():
                learner.add(batch.take(fresh))
        published.append(learner.month_end(month))
        previous = month
    return published


def _split(labels: LabelBatch, seed: int, pieces: int) -> list[LabelBatch]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    return [labels.take(part) for part in np.array_split(order, pieces)]


@pytest.fixture(scope="module")
def labels() -> LabelBatch:
    return _labels()


@pytest.fixture(scope="module")
def reference(labels: LabelBatch) -> tuple[Learner, list[Published]]:
    learner = Learner(SETTINGS, HORIZON)
    return learner, _run(learner, [labels], MONTHS)


def test_before_any_label_the_prior_scores() -> None:
    learner = Learner(SETTINGS, HORIZON)
    first = learner.initial()
    assert first.month == 0 and first.version.startswith("prior-")
    assert first.champion.name == "prior"
    assert learner.month_end(MONTHS[0]).version == first.version


def test_a_desks_default_rate_sets_the_priors_level_and_keeps_its_ranking() -> None:
    """A book known to default at 20 % scores a customer with no signal at 20 % until its
    labels tell; every customer's log-odds move by the same step, so none changes place,
    and the calibrated scorecard and the online model start from that level too."""
    X, _ = _rows(500, np.random.default_rng(4))
    usual = Learner(SETTINGS, HORIZON)
    rich = Learner(SETTINGS.model_copy(update={"prior_default_rate": 0.2}), HORIZON)
    usual_rate = usual.initial().champion.predict(empty(1))[0]
    step = rich.prior.log_odds(X) - usual.prior.log_odds(X)
    np.testing.assert_allclose(step, logit(0.2) - logit(usual_rate))
    nothing = empty(1)
    assert rich.initial().champion.predict(nothing)[0] == pytest.approx(0.2)
    assert rich.calibrated.predict(nothing)[0] == pytest.approx(0.2)
    assert rich.online.predict(nothing)[0] == pytest.approx(0.2)
    assert usual.initial().version != rich.initial().version


@pytest.mark.parametrize("months", [1, 8, 12])
def test_the_priors_default_level_is_one_monthly_hazard_over_any_horizon(months: int) -> None:
    """1.5 % within 8 months is a monthly hazard; a 12-month horizon (a year's accounts)
    starts a customer with no signal at that hazard over 12 months, not at 1.5 %, in the
    prior and in the online model."""
    learner = Learner(SETTINGS, months)
    nothing = learner.initial().champion.predict(empty(1))[0]
    assert nothing == pytest.approx(1 - (1 - BASE_RATE) ** (months / 8), rel=1e-9)
    assert learner.online.predict(empty(1))[0] == pytest.approx(nothing, rel=1e-9)


def test_the_models_learn_and_a_learned_champion_takes_over(
        reference: tuple[Learner, list[Published]]) -> None:
    learner, published = reference
    assert published[-1].champion.name != "prior"
    assert learner.boosted.model is not None
    metrics, count, positives = learner.progressive_metrics()
    assert set(metrics) == set(MODELS)
    assert count >= SETTINGS.min_labels and positives >= SETTINGS.min_positives
    assert metrics[published[-1].champion.name][0] > 0.7
    assert all(p.version == f"{p.champion.name}-{p.champion.digest()}" for p in published)


@pytest.mark.parametrize(("margin", "champion"), [(0.05, "boosted"), (0.0, "online")])
def test_a_simpler_model_takes_over_only_when_it_ranks_better_by_the_margin(
        margin: float, champion: str) -> None:
    learner = Learner(SETTINGS.model_copy(update={"champion_margin": margin}), HORIZON)
    rng = np.random.default_rng(3)
    n = SETTINGS.min_labels * 20
    y = (rng.random(n) < 0.1).astype(np.uint8)
    # The online logit ranks the window's labels a little better than the trees: the
    # same noise, a little less of it.
    noise = rng.random(n)
    predictions = np.full((n, len(MODELS)), 0.1, dtype=np.float32)
    predictions[:, MODELS.index("online")] = y * 0.5 + noise * 0.9
    predictions[:, MODELS.index("boosted")] = y * 0.5 + noise * 1.0
    predictions[:, MODELS.index("calibrated")] = rng.random(n)
    learner.window.add(np.zeros(n, dtype=np.int64), y, predictions)
    metrics, _, _ = learner.progressive_metrics()
    gap = metrics["online"][0] - metrics["boosted"][0]
    assert 0.0 < gap < 0.05
    learner._choose()
    assert learner.champion == champion


def test_the_prior_hands_over_at_the_first_month_end_with_enough_labels_not_at_a_refit(
        labels: LabelBatch) -> None:
    # Refits (and the choices made at them) at the first month end and 12 months later: the
    # labels are enough months before that, and the prior does not wait for the refit.
    settings = SETTINGS.model_copy(update={"refit_every_months": 12,
                                           "refit_within_months": 12})
    learner = Learner(settings, HORIZON)
    published = _run(learner, [labels], MONTHS)
    first = next(i for i, p in enumerate(published) if p.champion.name != "prior")
    assert 0 < first < 12
    metrics, count, positives = learner.window.metrics(settings.min_labels,
                                                       settings.min_positives)
    assert count >= settings.min_labels and positives >= settings.min_positives


def _a_shape_only_trees_see(customers: int = 2000) -> LabelBatch:
    """Every month, rows whose risk is high only in the middle of one figure the prior
    scorecard gives no points (the share of the bank balance overdue): the scorecard cannot
    rank them, a logistic regression barely, trees well."""
    rng = np.random.default_rng(11)
    batches = []
    for m, at in enumerate(MONTHS[: -HORIZON - 1]):
        X = empty(customers)
        figure = rng.normal(scale=2.0, size=customers)
        X[:, INDEX["tl_overdue_ratio"]] = figure
        y = (rng.random(customers) < np.where(np.abs(figure) < 1.0, 0.4, 0.05)).astype(
            np.uint8)
        known = np.where(y == 1, MONTHS[m + 1], MONTHS[m + HORIZON + 1])
        batches.append(LabelBatch(X, y, np.full(customers, at), known,
                                  [f"c{m:02d}-{i:04d}" for i in range(customers)]))
    return LabelBatch.concat(batches)


@pytest.mark.parametrize("since_refit", [True, False])
def test_trees_that_rank_better_take_over_at_their_second_refit(
        since_refit: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # The labels learned since the first trees were grown, scored by every learned model as
    # it stood then, hand the book to the trees at the next refit. The validation window
    # alone waits for negatives of snapshots the trees scored: a horizon and a month after
    # the trees' first month end.
    if not since_refit:  # no count of positives is enough: the window alone chooses
        monkeypatch.setattr(learner_module, "SINCE_REFIT_POSITIVES", 10**9)
    learner, book = Learner(SETTINGS, HORIZON), _a_shape_only_trees_see()
    champions, grown, choices = [], [], []
    for previous, month in zip([-1, *MONTHS], MONTHS, strict=False):
        champions += [p.champion.name for p in _run(learner, [book], [month], previous)]
        grown.append(learner.boosted.model is not None)
        choices.append(learner.choice)
    first_trees, taken = grown.index(True), champions.index("boosted")
    choice = choices[taken]  # what the learner says decided it
    assert choice is not None and choice.champion == "boosted" != choice.previous
    if since_refit:
        assert taken < first_trees + HORIZON + 1
        assert choice.decided_by == "since_refit"
        evidence = choice.since_refit
        assert evidence is not None
        assert evidence.positives >= learner_module.SINCE_REFIT_POSITIVES
        assert max(evidence.metrics, key=lambda name: evidence.metrics[name][0]) == "boosted"
    else:
        assert taken >= first_trees + HORIZON + 1
        assert choice.decided_by == "validation_window"


def test_a_champion_moved_away_and_back_at_one_month_end_is_recorded_as_staying(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The window's choice and the check since the last refit both run at a refit; the line
    # says what changed between the month ends, not what each step did on the way.
    learner = Learner(SETTINGS, HORIZON)
    learner._champion = "calibrated"
    nothing = learner_module.Evidence({}, 0, 0)

    def choose(model: str) -> Callable[[], learner_module.Evidence]:
        def step() -> learner_module.Evidence:
            learner._champion = model
            return nothing
        return step

    monkeypatch.setattr(learner, "_choose", choose("online"))
    monkeypatch.setattr(learner, "_trees_since_refit", choose("calibrated"))
    learner.month_end(MONTHS[0])  # the first month end is a refit
    assert learner.choice is not None and learner.choice.refit
    assert (learner.choice.previous, learner.choice.champion) == ("calibrated", "calibrated")
    assert learner.choice.decided_by is None
    monkeypatch.setattr(learner, "_trees_since_refit", choose("online"))
    learner._refit_month = None  # a refit again
    learner.month_end(MONTHS[1])
    assert learner.choice.decided_by == "validation_window"


def _window_after_the_first_trees(window: ValidationWindow,
                                  rng: np.random.Generator) -> np.ndarray:
    """600 labels predicted by every model but the trees (the online logit ranking them
    best), then 40 positives the trees predicted too: grown since, they have no negative
    known yet. Returns the first 600 labels."""
    y = (rng.random(600) < 0.2).astype(np.uint8)
    predictions = np.full((600, len(window.models)), np.nan, dtype=np.float32)
    for column, name in enumerate(window.models):
        if name != "boosted":
            predictions[:, column] = rng.random(600)
    predictions[:, window.models.index("online")] += y
    window.add(np.zeros(600, dtype=np.int64), y, predictions)
    window.add(np.ones(40, dtype=np.int64), np.ones(40, dtype=np.uint8),
               rng.random((40, len(window.models))))
    return y


def test_a_model_grown_since_the_last_known_negatives_can_be_left_out_of_the_comparison(
        ) -> None:
    models = ("prior", "online", "boosted")
    window = ValidationWindow(models, size=5_000)
    rng = np.random.default_rng(11)
    y = _window_after_the_first_trees(window, rng)
    # Compared over the labels all three predicted, there is nothing to rank.
    assert window.metrics() == ({}, 40, 40)
    metrics, count, positives = window.metrics(min_labels=300, min_positives=20)
    assert set(metrics) == {"prior", "online"}
    assert (count, positives) == (640, int(y.sum()) + 40)
    assert metrics["online"][0] > metrics["prior"][0]
    # Once the trees' own labels are enough, with negatives, all three are compared on them.
    later = (rng.random(400) < 0.2).astype(np.uint8)
    window.add(np.full(400, 2, dtype=np.int64), later, rng.random((400, 3)))
    metrics, count, positives = window.metrics(min_labels=300, min_positives=20)
    assert set(metrics) == set(models)
    assert (count, positives) == (440, int(later.sum()) + 40)


@pytest.mark.parametrize(("champion", "chosen"), [("prior", "online"),
                                                  ("calibrated", "calibrated")])
def test_only_the_prior_hands_over_without_waiting_for_the_newest_model(
        champion: str, chosen: str) -> None:
    # The prior's reign ends as soon as the learned models' own labels allow; a learned
    # champion stays until every ready model can be compared on the same labels.
    learner = Learner(SETTINGS, HORIZON)
    learner._champion = champion
    _window_after_the_first_trees(learner.window, np.random.default_rng(5))
    learner._choose()
    assert learner.champion == chosen


def test_every_model_scores_and_explains_a_large_batch_a_chunk_at_a_time_to_the_bit(
        reference: tuple[Learner, list[Published]]) -> None:
    learner, _ = reference
    X, _ = _rows(2 * ROWS_AT_ONCE + 7, np.random.default_rng(11))
    models = learner.models_at(MONTHS[-1])
    assert set(models) == set(MODELS)
    for name, model in models.items():
        whole = model.predict(X)
        assert predict_rows(model, X).tobytes() == whole.tobytes(), name
        base, contributions = model.explain(X)
        chunked = explain_rows(model, X)
        assert chunked[0].tobytes() == base.tobytes(), name
        assert chunked[1].tobytes() == contributions.tobytes(), name


def test_arrival_order_does_not_matter(labels: LabelBatch,
                                       reference: tuple[Learner, list[Published]]) -> None:
    """Labels delivered in small shuffled batches, early or late within their month, give
    the same versions and the same bits."""
    learner, published = reference
    again = Learner(SETTINGS, HORIZON)
    shuffled = _run(again, _split(labels, seed=1, pieces=400), MONTHS)
    assert [p.version for p in shuffled] == [p.version for p in published]
    probe = _rows(500, np.random.default_rng(9))[0]
    for name in MODELS:
        ours, theirs = learner.models_at(MONTHS[-1])[name], again.models_at(MONTHS[-1])[name]
        assert np.array_equal(ours.predict(probe), theirs.predict(probe)), name
    assert again.progressive_metrics() == learner.progressive_metrics()


def test_labels_known_after_a_month_end_wait_for_the_next(labels: LabelBatch) -> None:
    """Everything delivered up front gives the same as delivering it as it becomes known."""
    early = Learner(SETTINGS, HORIZON)
    early.add(labels)
    timely = Learner(SETTINGS, HORIZON)
    pieces = _split(labels, seed=2, pieces=50)
    for previous, month in zip([-1, *MONTHS[:7]], MONTHS[:8], strict=True):
        assert (early.month_end(month).version
                == _run(timely, pieces, [month], after=previous)[0].version)
    assert early.pending() > 0 and timely.pending() == 0


def test_positives_wait_until_their_snapshot_months_negatives_are_known() -> None:
    learner = Learner(SETTINGS, HORIZON)
    learner.month_end(MONTHS[0])
    X = empty(1)
    X[0, INDEX["max_dpd"]] = 90.0
    learner.add(LabelBatch(X, [1], [MONTHS[0]], [MONTHS[1]], ["a"]))
    untouched = learner.online.digest(), learner.calibrated.digest()
    for month in MONTHS[1 : HORIZON + 1]:  # the horizon closes at MONTHS[HORIZON]
        learner.month_end(month)
        assert (learner.online.digest(), learner.calibrated.digest()) == untouched
    assert learner.window.count == 1  # validated when it came, learned later
    learner.month_end(MONTHS[HORIZON + 1])
    assert learner.online.digest() != untouched[0]
    assert learner.calibrated.digest() != untouched[1]
    assert len(learner.boosted.store) == 1


def test_validation_uses_the_models_frozen_at_the_snapshots_month() -> None:
    learner = Learner(SETTINGS, HORIZON)
    rng = np.random.default_rng(3)
    learner.month_end(MONTHS[0])
    X, y = _rows(400, rng)
    learner.add(LabelBatch(X, np.zeros(400), [MONTHS[0]] * 400, [MONTHS[1]] * 400,
                           [f"n{i}" for i in range(400)]))
    learner.month_end(MONTHS[1])
    probe = X[:1].copy()
    then = {name: m.predict(probe)[0] for name, m in learner.models_at(MONTHS[1]).items()}
    for k, month in enumerate(MONTHS[2:5]):  # more learning: the models move on
        X, _ = _rows(400, rng)
        learner.add(LabelBatch(X, np.zeros(400), [month] * 400, [month] * 400,
                               [f"m{k}-{i}" for i in range(400)]))
        learner.month_end(month)
    now = learner.online.predict(probe)[0]
    assert now != pytest.approx(then["online"], rel=1e-3)
    learner.add(LabelBatch(probe, [1], [MONTHS[1]], [MONTHS[5]], ["late"]))
    learner.month_end(MONTHS[5])
    at, ys, predictions = learner.window.view()
    assert at[-1] == MONTHS[1] and ys[-1] == 1
    for i, name in enumerate(MODELS):
        expected = then.get(name, np.nan)
        np.testing.assert_equal(predictions[-1, i], np.float32(expected))


def test_labels_older_than_the_frozen_months_are_learned_not_validated() -> None:
    learner = Learner(SETTINGS, HORIZON)
    for month in MONTHS[: HORIZON + 4]:
        learner.month_end(month)
    assert len(learner.models_at(MONTHS[0])) == 0  # forgotten: only horizon + 2 kept
    assert len(learner.models_at(MONTHS[HORIZON + 3])) == 3  # the boosted is not ready
    X, _ = _rows(10, np.random.default_rng(4))
    learner.add(LabelBatch(X, np.zeros(10), [MONTHS[0]] * 10, [MONTHS[HORIZON + 4]] * 10,
                           [str(i) for i in range(10)]))
    learner.month_end(MONTHS[HORIZON + 4])
    assert learner.window.count == 0 and len(learner.boosted.store) == 10


def test_the_learner_survives_a_pickle(labels: LabelBatch,
                                       reference: tuple[Learner, list[Published]]) -> None:
    _, published = reference
    learner = Learner(SETTINGS, HORIZON)
    pieces = _split(labels, seed=3, pieces=30)
    first = _run(learner, pieces, MONTHS[:10])
    restored = pickle.loads(pickle.dumps(learner))
    rest = _run(restored, pieces, MONTHS[10:], after=MONTHS[9])
    assert [p.version for p in first + rest] == [p.version for p in published]


def test_month_ends_must_move_forward() -> None:
    learner = Learner(SETTINGS, HORIZON)
    learner.month_end(MONTHS[3])
    with pytest.raises(ValueError, match="not after"):
        learner.month_end(MONTHS[3])


def test_the_validation_window_is_bounded() -> None:
    learner = Learner(SETTINGS, HORIZON)
    learner.month_end(MONTHS[0])
    n = WINDOW + 1000
    X = np.zeros((n, WIDTH))
    learner.add(LabelBatch(X, np.arange(n) % 2, [MONTHS[0]] * n, [MONTHS[1]] * n,
                           [f"{i:06d}" for i in range(n)]))
    learner.month_end(MONTHS[1])
    at, ys, predictions = learner.window.view()
    assert len(ys) == WINDOW and learner.window.count == n
    assert predictions.shape == (WINDOW, len(MODELS))


def test_a_label_batch_sorts_the_same_whatever_its_order() -> None:
    batch = _labels(seed=5, customers=10)
    a = LabelBatch.concat(_split(batch, seed=1, pieces=7)).canonical()
    b = LabelBatch.concat(_split(batch, seed=2, pieces=3)).canonical()
    assert np.array_equal(a.X, b.X, equal_nan=True) and a.customer_id == b.customer_id
    keys = list(zip(a.at, a.customer_id, a.known_at, strict=True))
    assert keys == sorted(keys)
    with pytest.raises(ValueError):
        LabelBatch(np.zeros((2, WIDTH)), [0], [0, 0], [0, 0], ["a", "b"])


def test_the_published_term_curve_learns_when_the_defaults_came() -> None:
    learner = Learner(SETTINGS, HORIZON)
    learner.month_end(MONTHS[0])
    X, _ = _rows(300, np.random.default_rng(5))
    learner.add(LabelBatch(X, np.ones(300), [MONTHS[0]] * 300, [MONTHS[1]] * 300,
                           [f"p{i}" for i in range(300)], lag=np.ones(300)))
    for month in MONTHS[1 : HORIZON + 2]:  # learned once the snapshot's horizon closed
        published = learner.month_end(month)
    counts = learner.term.counts
    assert counts.sum() == 300 and counts[:, 0].sum() == 300  # all a month after
    pd = BAND_CENTRES[int(counts[:, 0].argmax())]
    assert published.term.cumulative(pd, 1) > cumulative_pd(pd, HORIZON, 1)
    assert learner.initial().term == TermCurve.constant(HORIZON)
