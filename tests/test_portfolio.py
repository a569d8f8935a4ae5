"""The portfolio step's ranks, against small cases worked out by hand: a day's scores are
ranked once the whole day is scored, month-end snapshots against each other."""

from __future__ import annotations

from config.settings import Settings
from detectors.customer import DefaultNotice, Profile, Snapshot
from detectors.portfolio import Portfolio, Score

DAY = 86_400
MONTH_END = 31 * DAY  # 1970-02-01, a month start


def snap(customer: str, at: int, dpd: float, month_end: bool) -> Snapshot:
    """A snapshot the prior scorecard scores by its days-past-due band alone."""
    return Snapshot(customer, at, {"max_dpd": dpd}, month_end, {}, Profile(), 0.0)


def ranks(results: list) -> dict[tuple[str, bool], tuple[int, int]]:
    return {(r.snapshot.customer_id, r.snapshot.month_end): (r.rank, r.portfolio_size)
            for r in results if isinstance(r, Score)}


def test_month_end_ranks_compare_this_months_scores_only() -> None:
    portfolio = Portfolio(Settings())
    # The day before: B and C in the top band (61+ days), A current.
    for customer, dpd in (("A", 0.0), ("B", 75.0), ("C", 75.0)):
        portfolio.receive(snap(customer, MONTH_END - DAY, dpd, month_end=False))
    # Month end: A 31-60 days (1.0 points), C 1-30 days (0.3), B current (0).
    month_end = [snap(c, MONTH_END, dpd, True) for c, dpd in
                 (("C", 10.0), ("A", 40.0), ("B", 0.0))]
    results = [r for s in month_end for r in portfolio.receive(s)] + portfolio.flush()
    got = ranks(results)
    # Ranked as each arrived, A (sorted first) would have been 3rd behind yesterday's B and C.
    assert got[("A", True)] == (1, 3)
    assert got[("C", True)] == (2, 3)
    assert got[("B", True)] == (3, 3)


def test_other_snapshots_of_the_day_rank_after_the_month_end_and_defaults_stay_out() -> None:
    portfolio = Portfolio(Settings())
    items = [snap("A", MONTH_END, 40.0, True), snap("B", MONTH_END, 10.0, True),
             snap("C", MONTH_END, 0.0, True),
             snap("C", MONTH_END + 3600, 75.0, False),  # C worsens during the day
             DefaultNotice("A", MONTH_END + 7200, "insolvency", (), Profile(), 0.0)]
    results = [r for item in reversed(items) for r in portfolio.receive(item)]
    results += portfolio.flush()
    got = ranks(results)
    # Month ends among themselves: A, B, C. C's later score ranks against them, A having
    # defaulted by the end of the day and left the portfolio.
    assert got[("A", True)] == (1, 3)
    assert got[("B", True)] == (2, 3)
    assert got[("C", True)] == (3, 3)
    assert got[("C", False)] == (1, 2)
    assert "A" not in portfolio._pds
    # A's default notice follows its score.
    order = [(type(r).__name__, getattr(r, "customer_id", None) or r.snapshot.customer_id)
             for r in results]
    assert order.index(("Score", "A")) < order.index(("DefaultNotice", "A"))


def test_a_score_row_carries_its_rank_and_the_portfolio_size() -> None:
    from flows.monitor import _score_row

    score = Score(snap("A", MONTH_END, 40.0, True), 0.2, "D", {"max_dpd": 1.0}, 4, 250, "v1")
    row = _score_row(score)
    assert row is not None
    assert (row["rank"], row["portfolio_size"], row["month_end"]) == (4, 250, True)
