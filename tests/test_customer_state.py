"""One customer's state: snapshots, delayed labels without leakage, defaults, rejections."""

from __future__ import annotations

from datetime import UTC, datetime

from feedkit import customer, event, invoice, payment, record, status

from config.settings import Settings
from detectors.clock import add_months, to_seconds
from detectors.customer import CustomerState, DefaultNotice, Label, Rejected, Snapshot, Tick

SETTINGS = Settings(horizon_months=3)


def month(y: int, m: int) -> int:
    return to_seconds(datetime(y, m, 1, tzinfo=UTC))


def fresh() -> CustomerState:
    state = CustomerState.new("C", SETTINGS)
    state.apply(event("customers", customer("C", "2024-01-01", "Acme Ltd", credit_limit=5000)),
                SETTINGS)
    return state


def test_month_end_snapshots_on_ticks_and_negative_labels_only_after_the_horizon() -> None:
    state = fresh()  # an overdue 400 stays below the material amount: no default
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 400, "2024-02-09")), SETTINGS)
    outputs = []
    for m in range(2, 8):
        outputs += state.apply(Tick(month(2024, m)), SETTINGS)
    snaps = [o for o in outputs if isinstance(o, Snapshot)]
    labels = [o for o in outputs if isinstance(o, Label)]
    assert [s.at for s in snaps] == [month(2024, m) for m in range(2, 8)]
    assert all(s.month_end for s in snaps)
    # A snapshot at t is labelled (negative) only once t + 3 months has passed.
    for label in labels:
        assert label.y == 0
        assert label.known_at > add_months(label.at, 3)
    assert [lb.at for lb in labels] == [month(2024, 2), month(2024, 3)]


def test_default_labels_pending_snapshots_positive_and_stops_scoring() -> None:
    state = fresh()
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09")), SETTINGS)
    for m in (2, 3):
        state.apply(Tick(month(2024, m)), SETTINGS)
    out = state.apply(event("registry", status("C", "2024-03-15", "insolvency_filed")), SETTINGS)
    labels = [o for o in out if isinstance(o, Label)]
    assert [(lb.at, lb.y) for lb in labels] == [(month(2024, 2), 1), (month(2024, 3), 1)]
    notice = [o for o in out if isinstance(o, DefaultNotice)]
    assert len(notice) == 1 and notice[0].kind == "insolvency"
    assert not [o for o in state.apply(Tick(month(2024, 4)), SETTINGS) if isinstance(o, Snapshot)]


def test_ninety_days_past_due_on_a_material_amount_is_a_default_at_the_crossing() -> None:
    state = fresh()
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 2000, "2024-02-09")), SETTINGS)
    out = []
    for m in range(2, 7):
        out += state.apply(Tick(month(2024, m)), SETTINGS)
    notices = [o for o in out if isinstance(o, DefaultNotice)]
    assert len(notices) == 1
    assert notices[0].kind == "dpd90"
    assert notices[0].at == to_seconds(datetime(2024, 5, 9, tzinfo=UTC))  # due + 90 days


def test_small_overdue_amounts_are_not_a_default() -> None:
    state = fresh()
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 100, "2024-02-09")), SETTINGS)
    out = []
    for m in range(2, 8):
        out += state.apply(Tick(month(2024, m)), SETTINGS)
    assert not [o for o in out if isinstance(o, DefaultNotice)]


def test_duplicates_late_events_and_unknown_invoices_are_rejected() -> None:
    state = fresh()
    inv = invoice("C", "2024-03-10", "I1", 1000, "2024-04-09")
    state.apply(event("payments", inv), SETTINGS)
    [dup] = state.apply(event("payments", inv), SETTINGS)
    assert isinstance(dup, Rejected) and dup.reason == "duplicate"
    late = state.apply(event("payments", invoice("C", "2024-02-01", "I0", 5, "2024-03-01")),
                       SETTINGS)
    assert [r.reason for r in late if isinstance(r, Rejected)] == ["late"]
    [unknown] = state.apply(event("payments", payment("C", "2024-03-11", "NOPE", 1)), SETTINGS)
    assert isinstance(unknown, Rejected) and unknown.reason == "unknown_invoice"
    assert state.accepted == 2  # master data and the one invoice


def test_an_event_a_little_out_of_order_is_applied() -> None:
    state = fresh()
    state.apply(event("payments", invoice("C", "2024-03-10", "I1", 1000, "2024-04-09")), SETTINGS)
    out = state.apply(event("payments", invoice("C", "2024-03-05", "I2", 10, "2024-04-04")),
                      SETTINGS)
    assert not [o for o in out if isinstance(o, Rejected)]
    assert "I2" in state.ledger.open_items


def test_features_only_carry_what_the_feeds_said() -> None:
    state = fresh()
    day = to_seconds(datetime(2024, 3, 1, tzinfo=UTC)) // 86400
    features = state.features(day, SETTINGS)
    assert features["has_ledger"] == 0.0 and "overdue_share" not in features
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09")), SETTINGS)
    features = state.features(day, SETTINGS)
    assert features["overdue_share"] == 1.0
    assert features["utilisation"] == 0.2
    assert features["max_dpd"] == 21.0


def test_month_end_history_gives_each_figures_course_against_its_own_level() -> None:
    state = fresh()  # limit 5,000; 1,000 invoiced, due 9 Feb, never paid
    state.apply(event("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09")), SETTINGS)
    snaps = {}
    for m in (2, 3, 4):
        snaps[m] = [o for o in state.apply(Tick(month(2024, m)), SETTINGS)
                    if isinstance(o, Snapshot)][0].features
    # 1 Feb: not yet due, and no history: no course yet.
    assert snaps[2]["max_dpd"] == 0.0 and "max_dpd_vs_base" not in snaps[2]
    # 1 Mar: 21 days past due against a base of 0; the first change is the slope.
    assert (snaps[3]["max_dpd_vs_base"], snaps[3]["max_dpd_slope"]) == (21.0, 21.0)
    assert (snaps[3]["overdue_share_vs_base"], snaps[3]["overdue_share_slope"]) == (1.0, 1.0)
    assert (snaps[3]["utilisation_vs_base"], snaps[3]["utilisation_slope"]) == (0.0, 0.0)
    # 1 Apr: 52 days; base 0 + (21 - 0) / 6 = 3.5; slope 21 + (31 - 21) / 3.
    assert snaps[4]["max_dpd"] == 52.0
    assert snaps[4]["max_dpd_vs_base"] == 48.5
    assert abs(snaps[4]["max_dpd_slope"] - (21 + 10 / 3)) < 1e-9
    # Between month ends the figures are read against the last month end, which stays put.
    day = to_seconds(datetime(2024, 4, 11, tzinfo=UTC)) // 86400
    mid = state.features(day, SETTINGS)
    assert mid["max_dpd"] == 62.0
    assert abs(mid["max_dpd_vs_base"] - (62.0 - (3.5 + (52 - 3.5) / 6))) < 1e-9
    assert state.features(day, SETTINGS) == mid
    # No payment settled and no tradeline: nothing about their course either.
    assert "dso_slope" in snaps[4]
    assert not [k for k in snaps[4] if k.startswith(("delay_level_", "tl_dpd_"))]


def test_a_customer_with_only_tradelines_has_only_their_course() -> None:
    state = CustomerState.new("T", SETTINGS)
    outputs = []
    for m, dpd in ((1, 0), (2, 30), (3, 45)):
        line = record("payments", customer_id="T", event_time=f"2024-0{m}-15", type="tradeline",
                      days_past_due=dpd, outstanding="1000", currency="EUR")
        outputs += state.apply(event("payments", line), SETTINGS)
    outputs += state.apply(Tick(month(2024, 4)), SETTINGS)
    snaps = [o for o in outputs if isinstance(o, Snapshot) and o.month_end]
    assert [s.at for s in snaps] == [month(2024, m) for m in (2, 3, 4)]
    # Month ends see 0, 30, 45 days: base 0 then 0 + 30 / 6 = 5; slope 30 then 30 + (15 - 30) / 3.
    last = snaps[-1].features
    assert last["tl_dpd_vs_base"] == 40.0 and last["tl_dpd_slope"] == 25.0
    assert [k for k in last if k.endswith(("_vs_base", "_slope"))] == ["tl_dpd_vs_base",
                                                                        "tl_dpd_slope"]


def test_the_trajectory_survives_a_pickle_round_trip_as_recovery_needs() -> None:
    import pickle

    from detectors.trajectory import Trajectory

    trajectory = Trajectory()
    for dso in (40.0, 55.0, 70.0):
        trajectory.month_end({"dso": dso, "tl_dpd": dso / 2})
    restored = pickle.loads(pickle.dumps(trajectory))
    now = {"dso": 90.0, "tl_dpd": 10.0}
    assert restored.features(now) == trajectory.features(now)
    assert repr(restored) == repr(trajectory) == (
        "Trajectory(base_weight=0.16666666666666666, slope_weight=0.3333333333333333)")
    assert len(pickle.dumps(trajectory)) < 400  # three floats a figure, and little else
