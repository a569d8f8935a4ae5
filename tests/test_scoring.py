"""Scorers, the ranker and the desks, against small cases worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from config.settings import PolicySettings, Settings
from detectors.desk import DeskSettings, WarningDesk
from detectors.features import INDEX, JUDGMENT, empty
from detectors.hard import HardEvent
from detectors.models.base import Published
from detectors.models.scorecard import PriorScorecard
from detectors.money import Exposure
from detectors.reasons import Explanation
from detectors.records import Warning
from detectors.scoring import RANKER, Pds, Ranker, Ranks, Scored, Scorer
from detectors.snapshots import EVIDENCE_FAMILIES, DefaultNotice, Profile, Snapshots
from detectors.stage import Send
from detectors.strings import NONE, StringTable
from detectors.term import TermCurve

FLAT = TermCurve.constant(8)
PRIOR = Published(0, PriorScorecard(), "prior-v1", FLAT)
JUN = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp())
DAY = 86_400


def snapshots(customers: list[str], dpd: list[float], month_end: bool,
              at: int = JUN) -> Snapshots:
    """Snapshots the prior scorecard scores by their days-past-due band alone."""
    X = empty(len(customers))
    X[:, INDEX["max_dpd"]] = dpd
    n = len(customers)
    strings = StringTable()
    late = strings.add("inv-late")
    evidence = np.full((n, len(EVIDENCE_FAMILIES), 2), NONE, dtype=np.int32)
    overdue = np.full((n, 3), late, dtype=np.int32)
    return Snapshots(month_end, customers, np.arange(n), np.full(n, at), X, np.zeros(n), np.ones(n),
                     [Profile(name=c) for c in customers], evidence, overdue, strings.view())


def pds(bucket: str, customers: list[str], pd: list[float], month_end: bool) -> Pds:
    return Pds(bucket, month_end, np.array(pd), customers)


def ranks_of(outputs: list) -> dict[str, tuple[list[int], int]]:
    return {o.to: (o.item.rank.tolist(), o.item.portfolio_size) for o in outputs
            if isinstance(o, Send) and isinstance(o.item, Ranks)}


def test_month_end_ranks_compare_the_whole_book_riskiest_first_ties_by_customer() -> None:
    ranker = Ranker()
    out = ranker.day(10, [pds("b2", ["D", "A"], [0.3, 0.1], True),
                          pds("b1", ["C", "B"], [0.1, 0.5], True)])
    assert ranks_of(out) == {"b1": ([4, 1], 4), "b2": ([2, 3], 4)}  # B .5, D .3, A = C .1
    # The same batches arriving the other way round rank the same.
    again = Ranker().day(10, [pds("b1", ["C", "B"], [0.1, 0.5], True),
                              pds("b2", ["D", "A"], [0.3, 0.1], True)])
    assert ranks_of(again) == ranks_of(out)


def test_snapshots_between_month_ends_are_placed_against_the_last_month_end() -> None:
    ranker = Ranker()
    ranker.day(10, [pds("b1", ["A", "B", "C"], [0.5, 0.3, 0.1], True)])
    out = ranker.day(11, [pds("b1", ["C"], [0.4], False)])
    assert ranks_of(out) == {"b1": ([2], 3)}  # only A's month-end .5 is higher
    # A month end and other snapshots on one day: the others rank against the old month end.
    out = ranker.day(40, [pds("b1", ["B"], [0.45], False),
                          pds("b1", ["A", "B", "C"], [0.1, 0.2, 0.9], True)])
    ranks = [o.item for o in out if isinstance(o, Send)]
    assert [(r.month_end, r.rank.tolist()) for r in ranks] == [(False, [2]),
                                                               (True, [3, 2, 1])]


def test_a_month_end_with_nobody_to_score_keeps_the_last_ranking() -> None:
    ranker = Ranker()
    ranker.day(10, [pds("b1", ["A", "B", "C"], [0.5, 0.3, 0.1], True)])
    out = ranker.day(40, [pds("b1", [], [], True)])  # only customers in default, unscored
    assert ranks_of(out) == {"b1": ([], 3)}
    assert ranks_of(ranker.day(41, [pds("b1", ["C"], [0.4], False)])) == {"b1": ([2], 3)}


def test_a_scorer_uses_the_model_of_the_last_month_end_and_a_new_one_from_its_month_end(
) -> None:
    class Double(PriorScorecard):
        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.minimum(0.99, 2 * super().predict(X))

    scorer = Scorer("b1", PRIOR, [0.02, 0.06, 0.15, 0.35], "C")
    newer = Published(JUN, Double(), "double-v1", FLAT)
    out = scorer.day(5, [snapshots(["A"], [40.0], True), newer,
                         snapshots(["A"], [40.0], False)])
    scored = [o.item for o in out if isinstance(o, Send) and isinstance(o.item, Scored)]
    on_change, month_end = scored
    assert (on_change.model_version, month_end.model_version) == ("prior-v1", "double-v1")
    assert month_end.pd[0] == 2 * on_change.pd[0]
    assert [o.to for o in out if isinstance(o, Send)] == [RANKER, "b1", RANKER, "b1"]
    # Reasons only where a warning may follow (grade C or worse).
    low = scorer.day(6, [snapshots(["Z"], [0.0], False)])
    assert [o.item.reasons for o in low if isinstance(o.item, Scored)] == [[None]]
    assert month_end.reasons[0].top == "max_dpd"


def scored(customers: list[str], pd: list[float], grade: list[int], month_end: bool,
           at: int = JUN) -> Scored:
    s = snapshots(customers, [40.0] * len(customers), month_end, at)
    return Scored(s, np.array(pd), np.array(grade, dtype=np.int8),
                  [Explanation(-4.0, (("max_dpd", 1.0),))] * len(customers), "m1", FLAT)


def desk(**policy: object) -> WarningDesk:
    settings = DeskSettings.from_settings(Settings(policy=PolicySettings(**policy)))
    return WarningDesk("b1", settings, {"config_digest": "c", "program_version": "p"},
                       score_rows=True)


def kinds(outputs: list) -> list[tuple[str, str]]:
    return [(w.customer_id, w.kind) for w in outputs if isinstance(w, Warning)]


def test_the_desk_warns_at_month_ends_within_the_budget_and_grade_only() -> None:
    step = desk()  # 30 per 1,000 of 100 customers: the 3 riskiest
    grades = [4, 3, 3, 1]  # E, D, D, B
    out = step.day(1, [scored(["A", "B", "C", "D"], [0.5, 0.2, 0.2, 0.03], grades, False),
                       Ranks(False, np.array([1, 2, 4, 50]), 100)])
    assert kinds(out) == []  # between month ends nothing is decided
    out = step.day(2, [scored(["A", "B", "C", "D"], [0.5, 0.2, 0.2, 0.03], grades, True),
                       Ranks(True, np.array([1, 2, 4, 50]), 100)])
    assert kinds(out) == [("A", "early_warning"), ("B", "early_warning")]  # C ranks 4th
    assert [w.evidence for w in out if isinstance(w, Warning)] == [["inv-late"]] * 2
    assert [w.grade for w in out if isinstance(w, Warning)] == ["E", "D"]
    rows = [o.row for o in out if type(o).__name__ == "ScoreRow"]
    assert [(r["customer_id"], r["rank"], r["portfolio_size"]) for r in rows] == [
        ("A", 1, 100), ("B", 2, 100), ("C", 4, 100), ("D", 50, 100)]


def test_an_absolute_budget_and_a_default_that_is_a_warning_of_its_own() -> None:
    step = desk(budget=4)
    out = step.day(2, [scored(["C"], [0.2], [3], True), Ranks(True, np.array([4]), 100)])
    assert kinds(out) == [("C", "early_warning")]
    notice = DefaultNotice("C", 0, JUN + 5 * DAY, "insolvency", ("s-1",), Profile(name="C"),
                           Exposure(10.0, 1.0))
    out = step.day(7, [notice])
    assert kinds(out) == [("C", "default")]
    [latest] = step.finish()
    assert (latest.customer_id, latest.defaulted, latest.grade) == ("C", True, "E")


def _hard_day(step: WarningDesk) -> list:
    """A day between month ends: A, B and C are scored after a court judgment each (A in
    the zone and within the budget's 3 ranks, B ranked 40th, C graded B), then the
    judgments arrive."""
    at = JUN + 5 * DAY
    judgments = [HardEvent(c, slot, at, JUDGMENT, 0.5, f"j-{c}", Profile(name=c),
                           Exposure(10.0, 1.0)) for slot, c in enumerate("ABC")]
    return step.day(5, [scored(list("ABC"), [0.5, 0.2, 0.03], [4, 3, 1], False, at),
                        Ranks(False, np.array([2, 40, 1]), 100), *judgments])


def test_a_hard_event_warns_on_its_day_within_the_budget_and_stands_as_the_warning() -> None:
    step = desk()  # the 3 riskiest of 100 may be newly warned
    out = step.day(2, [scored(list("ABC"), [0.5, 0.2, 0.03], [4, 3, 1], True),
                       Ranks(True, np.array([5, 3, 2]), 100)])
    assert kinds(out) == [("B", "early_warning")]  # A ranks 5th, C is graded B
    hard = [w for w in _hard_day(step) if isinstance(w, Warning)]
    # A is now within the budget; B stands warned, whatever its rank; C is not in the zone
    assert [(w.customer_id, w.kind, w.previous_grade) for w in hard] == [
        ("A", "hard_event", None), ("B", "hard_event", "D")]
    end = JUN + 29 * DAY
    out = step.day(29, [scored(list("ABC"), [0.5, 0.2, 0.03], [4, 3, 1], True, end),
                        Ranks(True, np.array([1, 2, 3]), 100)])
    assert kinds(out) == []  # A's hard event stands as its warning: no second one
    out = step.day(60, [scored(["A"], [0.9], [4], True, end + 31 * DAY),
                        Ranks(True, np.array([1]), 100)])
    assert kinds(out) == []  # the same grade: nothing new


def test_every_hard_event_warns_when_the_budget_is_not_asked() -> None:
    step = desk(hard_event_warnings="all")
    hard = [w.customer_id for w in _hard_day(step) if isinstance(w, Warning)]
    assert hard == ["A", "B", "C"]
