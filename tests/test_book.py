"""A bucket of customers: month-end snapshots, delayed labels, defaults, rejections, and
features that carry only what the feeds said."""

from __future__ import annotations

import itertools
import json
import pickle
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from feedkit import customer, event, invoice, payment, record, status

from config.settings import Settings
from detectors.book import LEARNER, BookSettings, CustomerBook, Labels
from detectors.clock import DAY, add_months, to_seconds
from detectors.events import Envelope, Origin
from detectors.features import INDEX
from detectors.records import DeadLetter
from detectors.snapshots import DefaultNotice, Snapshots
from detectors.stage import Send

SETTINGS = BookSettings.from_settings(Settings(horizon_months=3))


def month(y: int, m: int) -> int:
    return to_seconds(datetime(y, m, 1, tzinfo=UTC))


class Driver:
    """Feeds a book one record at a time, each on its own day, as the flow would."""

    def __init__(self, settings: BookSettings = SETTINGS) -> None:
        self.book = CustomerBook("bucket-0", settings)
        self.outputs: list[Any] = []
        self._n = 0

    def apply(self, feed: str, obj: dict[str, Any]) -> list[Any]:
        parsed = event(feed, obj)
        self._n += 1
        envelope = Envelope(parsed, json.dumps(obj).encode(), Origin("file", "t", self._n),
                            parsed.at // DAY)
        return self.day(parsed.at // DAY, [envelope])

    def day(self, day: int, items: list[Envelope]) -> list[Any]:
        out = self.book.advance(day - 1) + self.book.day(day, items)
        self.outputs += out
        return out

    def until(self, when: int) -> list[Any]:
        out = self.book.advance(when // DAY - 1)
        self.outputs += out
        return out

    def snapshots(self, month_end: bool | None = None) -> list[tuple[int, dict[str, float]]]:
        rows = []
        for o in self.outputs:
            if (isinstance(o, Send) and isinstance(o.item, Snapshots)
                    and month_end in (None, o.item.month_end)):
                rows += [(int(at), _features(x)) for at, x in zip(o.item.at, o.item.X,
                                                                  strict=True)]
        return rows

    def labels(self) -> list[tuple[int, int, int]]:
        out = []
        for o in self.outputs:
            if isinstance(o, Send) and o.to == LEARNER and isinstance(o.item, Labels):
                out += [(int(a), int(y), int(k)) for a, y, k in zip(
                    o.item.at, o.item.y, o.item.known_at, strict=True)]
        return out

    def lags(self) -> list[int]:
        """Each label's months from its snapshot to the default (0: a negative)."""
        return [int(k) for o in self.outputs if isinstance(o, Send) and o.to == LEARNER
                and isinstance(o.item, Labels) for k in o.item.lag]

    def notices(self) -> list[DefaultNotice]:
        return [o.item for o in self.outputs if isinstance(o, Send)
                and isinstance(o.item, DefaultNotice)]

    def rejected(self) -> list[str]:
        return [o.reason for o in self.outputs if isinstance(o, DeadLetter)]


def _features(x: np.ndarray) -> dict[str, float]:
    return {code: float(x[i]) for code, i in INDEX.items() if not np.isnan(x[i])}


def fresh() -> Driver:
    driver = Driver()
    driver.apply("customers", customer("C", "2024-01-01", "Acme Ltd", credit_limit=5000))
    return driver


def test_month_end_snapshots_and_negative_labels_only_after_the_horizon() -> None:
    driver = fresh()  # an overdue 400 stays below the material amount: no default
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 400, "2024-02-09"))
    driver.until(month(2024, 8))
    assert [at for at, _ in driver.snapshots(month_end=True)] == [
        month(2024, m) for m in range(2, 9)]
    labels = driver.labels()
    assert [(at, y) for at, y, _ in labels] == [(month(2024, 2), 0), (month(2024, 3), 0),
                                                (month(2024, 4), 0)]
    for at, _, known_at in labels:  # known only once the horizon has passed
        assert known_at > add_months(at, 3)
    assert driver.lags() == [0, 0, 0]


def test_a_default_labels_the_held_snapshots_positive_and_stops_snapshots() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09"))
    driver.until(month(2024, 3))
    driver.apply("registry", status("C", "2024-03-15", "insolvency_filed"))
    assert [(at, y) for at, y, _ in driver.labels()] == [(month(2024, 2), 1),
                                                         (month(2024, 3), 1)]
    assert driver.lags() == [2, 1]  # the default came in the second and the first month
    [notice] = driver.notices()
    assert notice.kind == "insolvency" and notice.customer_id == "C"
    before = len(driver.snapshots())
    driver.until(month(2024, 6))
    assert len(driver.snapshots()) == before


def test_ninety_days_past_due_on_a_material_amount_is_a_default_at_the_crossing() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 2000, "2024-02-09"))
    driver.until(month(2024, 7))
    [notice] = driver.notices()
    assert notice.kind == "dpd90"
    assert notice.at == to_seconds(datetime(2024, 5, 9, tzinfo=UTC))  # due + 90 days


def test_small_overdue_amounts_are_not_a_default() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 100, "2024-02-09"))
    driver.until(month(2024, 8))
    assert driver.notices() == []


def test_unknown_invoices_duplicate_invoices_and_unknown_customers_are_rejected() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-03-10", "I1", 1000, "2024-04-09"))
    driver.apply("payments", invoice("C", "2024-03-11", "I1", 5, "2024-04-01"))
    driver.apply("payments", payment("C", "2024-03-12", "NOPE", 1))
    driver.apply("payments", invoice("NOBODY", "2024-03-12", "I9", 5, "2024-04-01"))
    assert driver.rejected() == ["duplicate_invoice", "unknown_invoice", "unknown_customer"]
    assert driver.book.accepted == 2  # master data and the one invoice


def test_a_payment_on_a_settled_invoice_is_unapplied_cash_not_an_error() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-03-10", "I1", 1000, "2024-04-09"))
    driver.apply("payments", payment("C", "2024-04-01", "I1", 1000))
    driver.apply("payments", payment("C", "2024-04-20", "I1", 50))
    assert driver.rejected() == []
    assert float(driver.book.t.led_unapplied[0]) == 50.0


def test_features_only_carry_what_the_feeds_said() -> None:
    driver = fresh()
    day = month(2024, 3) // DAY
    features = _features(driver.book._features(np.array([0]), day)[0])
    assert features["has_ledger"] == 0.0 and "overdue_share" not in features
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09"))
    features = _features(driver.book._features(np.array([0]), day)[0])
    assert (features["overdue_share"], features["utilisation"], features["max_dpd"]) == (
        1.0, 0.2, 21.0)
    assert "tl_dpd" not in features and features["has_tradeline"] == 0.0


def test_filed_accounts_give_every_ratio_their_figures_or_published_names_allow() -> None:
    driver = fresh()
    driver.apply("registry", record(
        "registry", customer_id="C", event_time="2024-03-01", type="accounts_filed",
        period_end="2023-12-31", currency="EUR",
        financials={"revenue": "900000.00", "ebit": "30000.00", "net_income": "-9000.00",
                    "interest_expense": "20000.00", "total_assets": "600000.00",
                    "total_liabilities": "480000.00", "current_assets": "300000.00",
                    "current_liabilities": "250000.00", "inventory": "100000.00",
                    "cash": "25000.00", "operating_cash_flow": "-24000.00"}))
    day = month(2024, 4) // DAY
    features = _features(driver.book._features(np.array([0]), day)[0])
    assert {k: round(features[k], 6) for k in (
        "asset_turnover", "net_margin", "interest_coverage", "quick_ratio", "cash_ratio",
        "cash_flow_to_debt")} == {"asset_turnover": 1.5, "net_margin": -0.01,
                                  "interest_coverage": 1.5, "quick_ratio": 0.8,
                                  "cash_ratio": 0.1, "cash_flow_to_debt": -0.05}
    # Only ratios published, under other names: each lands on its feature.
    driver.apply("registry", record(
        "registry", customer_id="C", event_time="2025-03-01", type="accounts_filed",
        period_end="2024-12-31", ratios={"times_interest_earned": 0.7, "acid_test": 0.4,
                                         "Sales_To_Assets": 2.0, "days_inventory": 40.0}))
    features = _features(driver.book._features(np.array([0]), month(2025, 4) // DAY)[0])
    assert (features["interest_coverage"], features["quick_ratio"],
            features["asset_turnover"]) == pytest.approx((0.7, 0.4, 2.0), rel=1e-6)
    assert "cash_ratio" not in features and "net_margin" not in features


def test_month_end_history_gives_each_figures_course_against_its_own_level() -> None:
    driver = fresh()  # limit 5,000; 1,000 invoiced, due 9 Feb, never paid
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09"))
    driver.until(month(2024, 4))
    snaps = {at: f for at, f in driver.snapshots(month_end=True)}
    feb, mar, apr = (snaps[month(2024, m)] for m in (2, 3, 4))
    # 1 Feb: not yet due, and no history: no course yet.
    assert feb["max_dpd"] == 0.0 and "max_dpd_vs_base" not in feb
    # 1 Mar: 21 days past due against a base of 0; the first change is the slope.
    assert (mar["max_dpd_vs_base"], mar["max_dpd_slope"]) == (21.0, 21.0)
    assert (mar["utilisation_vs_base"], mar["utilisation_slope"]) == (0.0, 0.0)
    # 1 Apr: 52 days; base 0 + (21 - 0) / 6 = 3.5; slope 21 + (31 - 21) / 3.
    assert apr["max_dpd"] == 52.0 and apr["max_dpd_vs_base"] == 48.5
    assert abs(apr["max_dpd_slope"] - (21 + 10 / 3)) < 1e-9
    # No payment settled and no tradeline: nothing about their course.
    assert not [k for k in apr if k.startswith(("delay_level_", "tl_dpd_"))]


def test_a_customer_with_only_tradelines_has_only_their_course() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    for m, dpd in ((1, 0), (2, 30), (3, 45)):
        driver.apply("payments", record("payments", customer_id="T",
                                        event_time=f"2024-0{m}-15", type="tradeline",
                                        days_past_due=dpd, outstanding="1000", currency="EUR"))
    driver.until(month(2024, 4))
    last = dict(driver.snapshots(month_end=True))[month(2024, 4)]
    # Month ends see 0, 30, 45 days: base 0 then 0 + 30 / 6 = 5; slope 30 then 30 - 15 / 3.
    assert (last["tl_dpd_vs_base"], last["tl_dpd_slope"]) == (40.0, 25.0)
    assert [k for k in last if k.endswith(("_vs_base", "_slope"))] == ["tl_dpd_vs_base",
                                                                        "tl_dpd_slope"]


def test_the_paid_share_reads_each_payment_against_the_balance_it_paid_down() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    reports = (("2024-01-31", "1000", "50"),  # no balance before: unknown
               ("2024-02-29", "400", "1000"),  # paid the whole 1,000: a transactor's month
               ("2024-03-31", "450", None),  # the bank did not say: unknown
               ("2024-04-30", "0", "45"),  # 45 of the 450 owed
               ("2024-05-31", "300", "80"))  # nothing was owed: unknown
    for day, outstanding, paid in reports:
        extra = {} if paid is None else {"paid_in_period": paid}
        driver.apply("payments", record("payments", customer_id="T", event_time=day,
                                        type="tradeline", days_past_due=0,
                                        outstanding=outstanding, currency="EUR", **extra))
    driver.until(month(2024, 6))
    shares = [x.get("tl_paid_share") for _, x in driver.snapshots(month_end=True)]
    assert shares == [None, 1.0, None, 0.1, None]


def test_a_cured_delinquency_is_remembered_fading_and_counted_among_the_reports() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    # One month 60 days behind, then a year back on time but for a payment 29 days late.
    reports = [0, 60, 29] + [0] * 11
    for i, dpd in enumerate(reports):
        day = datetime.fromtimestamp(add_months(month(2024, 2), i) - DAY, UTC).date()
        driver.apply("payments", record("payments", customer_id="T", event_time=str(day),
                                        type="tradeline", days_past_due=dpd, currency="EUR"))
    driver.until(add_months(month(2024, 2), len(reports)))
    rows = [x for _, x in driver.snapshots(month_end=True)]
    worst = [x["tl_dpd_worst"] for x in rows]
    assert worst[0] == 0.0 and worst[1] == pytest.approx(60.0, rel=0.01)
    assert all(later < earlier for earlier, later in itertools.pairwise(worst[1:]))
    assert worst[13] == pytest.approx(60.0 * 0.9**12, rel=0.01)  # fades 10 % a month
    assert [x["tl_dpd"] for x in rows[2:14]] == [29.0] + [0.0] * 11  # the latest alone forgets
    late = [x["tl_late_share"] for x in rows]  # late from 30 days: the 29 counts as on time
    assert late[:4] == pytest.approx([0.0, 1 / 12, 11 / 144, 121 / 1728], abs=1e-6)


def test_a_credit_balance_is_read_as_a_balance_below_nothing() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    reports = (("2024-01-31", "-120", None),  # paid 120 more than was owed
               ("2024-02-29", "500", "80"))  # paid after a credit balance: nothing was owed
    for day, outstanding, paid in reports:
        extra = {} if paid is None else {"paid_in_period": paid}
        driver.apply("payments", record("payments", customer_id="T", event_time=day,
                                        type="tradeline", days_past_due=0, credit_limit="1000",
                                        outstanding=outstanding, currency="EUR", **extra))
    driver.until(month(2024, 3))
    feb, mar = (x for _, x in driver.snapshots(month_end=True))
    assert feb["tl_utilisation"] == -0.12 and "tl_paid_share" not in feb
    assert mar["tl_utilisation"] == 0.5 and "tl_paid_share" not in mar


def test_a_feed_of_payment_statuses_only_gives_days_past_due_and_defaults_on_them() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    for day, dpd, behind in (("2024-01-31", 0, {}), ("2024-02-29", 60, {"overdue": "50"}),
                             ("2024-03-31", 90, {})):
        driver.apply("payments", record("payments", customer_id="T", event_time=day,
                                        type="tradeline", days_past_due=dpd, currency="EUR",
                                        paid_in_period="10", credit_limit="1000", **behind))
    [(_, feb), (_, mar)] = driver.snapshots(month_end=True)
    assert mar["tl_dpd"] == 60.0
    assert not {"tl_overdue_ratio", "tl_utilisation", "tl_paid_share"} & (feb.keys() | mar.keys())
    [notice] = driver.notices()  # no amount to weigh: 90 days past due stands alone
    assert notice.kind == "dpd90" and notice.at == to_seconds(datetime(2024, 3, 31,
                                                                       tzinfo=UTC))


def test_a_customer_in_default_is_listed_unscored_while_its_feed_still_reports() -> None:
    driver = Driver()
    driver.apply("customers", customer("S", "2024-01-01", "Ess Ltd"))
    for m, dpd in ((1, 30), (2, 90), (3, 120), (4, 150)):  # statuses only: no currency
        driver.apply("payments", record("payments", customer_id="S", type="tradeline",
                                        event_time=f"2024-{m:02d}-28", days_past_due=dpd))
    driver.until(month(2025, 1))
    [notice] = driver.notices()
    assert notice.kind == "dpd90" and [at for at, _ in driver.snapshots(month_end=True)] == [
        month(2024, 2)]  # scored once, before the default
    listed = [(o.day + 1) * DAY for o in driver.outputs if isinstance(o, Send)
              and isinstance(o.item, Snapshots) and o.item.in_default]
    assert listed == [month(2024, m) for m in range(3, 9)]  # until 120 days after the last


def test_a_dormant_customer_is_not_snapshotted_until_its_next_event() -> None:
    driver = Driver()
    driver.apply("customers", customer("T", "2024-01-01", "Tee Ltd"))
    driver.apply("payments", record("payments", customer_id="T", event_time="2024-01-15",
                                    type="tradeline", days_past_due=0, outstanding="10",
                                    currency="EUR"))
    driver.until(month(2025, 1))
    months = [at for at, _ in driver.snapshots(month_end=True)]
    assert months == [month(2024, m) for m in range(2, 6)]  # 120 days, then dormant
    driver.apply("registry", status("T", "2025-01-10", "restructuring"))
    driver.until(month(2025, 3))
    assert [at for at, _ in driver.snapshots(month_end=True)][-2:] == [month(2025, 2),
                                                                       month(2025, 3)]


def test_a_book_survives_a_pickle_round_trip_as_recovery_needs() -> None:
    driver = fresh()
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 1000, "2024-02-09"))
    driver.until(month(2024, 3))
    copy = Driver()
    copy.book = pickle.loads(pickle.dumps(driver.book))
    before = len(driver.snapshots()), len(driver.labels()), len(driver.notices())
    for d in (driver, copy):
        d.apply("payments", payment("C", "2024-03-20", "I1", 400))
        d.until(month(2024, 8))
    assert driver.snapshots()[before[0]:] == copy.snapshots() != []
    assert driver.labels()[before[1]:] == copy.labels() != []
    assert [n.at for n in driver.notices()[before[2]:]] == [n.at for n in copy.notices()]


def test_a_default_after_a_snapshots_horizon_leaves_that_snapshot_negative() -> None:
    driver = fresh()  # horizon 3 months
    driver.apply("payments", invoice("C", "2024-01-10", "I1", 100, "2024-02-09"))
    driver.until(month(2024, 6))
    driver.apply("registry", status("C", "2024-06-15", "insolvency_filed"))
    labels = sorted((at, y) for at, y, _ in driver.labels())
    # March's horizon ended 1 June, before the default: negative, like February's.
    assert labels == [(month(2024, 2), 0), (month(2024, 3), 0), (month(2024, 4), 1),
                      (month(2024, 5), 1), (month(2024, 6), 1)]
