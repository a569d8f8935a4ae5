"""The PD term structure: a learned curve of when the horizon's defaults come, monotone in
the horizon, exactly the PD at the horizon, and the constant hazard until defaults say
otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.term import BAND_CENTRES, TermCounts, TermCurve, cumulative_pd, terms

HORIZON = 8


def _learned(seed: int) -> TermCurve:
    """A curve from random counts: any number of defaults per band and month."""
    rng = np.random.default_rng(seed)
    counts = TermCounts(HORIZON)
    n = int(rng.integers(1, 500))
    counts.add(rng.uniform(0, 1, n), rng.integers(1, HORIZON + 1, n))
    return counts.curve()


@pytest.mark.parametrize("seed", range(20))
def test_every_curve_is_non_decreasing_in_the_horizon_and_the_pd_at_it(seed: int) -> None:
    curve = _learned(seed)
    months = np.linspace(0, 14, 57)
    for pd in np.random.default_rng(seed).uniform(0, 1, 25).tolist() + [0.0, 1.0]:
        cumulative = [curve.cumulative(pd, m) for m in months]
        assert all(b >= a - 1e-12 for a, b in zip(cumulative, cumulative[1:], strict=False))
        assert curve.cumulative(pd, HORIZON) == pd
        assert cumulative[0] >= 0.0 and cumulative[-1] <= 1.0


def test_nothing_counted_is_the_constant_hazard() -> None:
    curve = TermCounts(HORIZON).curve()
    assert curve == TermCurve.constant(HORIZON)
    for pd in (0.01, 0.2, 0.7):
        assert [p for _, p in curve.at_terms(pd)] == [
            cumulative_pd(pd, HORIZON, m) for m in terms(HORIZON)]


def test_the_curve_learns_that_risky_customers_default_sooner_than_safe_ones() -> None:
    counts = TermCounts(HORIZON)
    risky, safe = BAND_CENTRES[-1], BAND_CENTRES[0]
    counts.add(np.full(2000, risky), np.full(2000, 1))  # a month after the snapshot
    counts.add(np.full(2000, safe), np.full(2000, 7))  # seven months after
    curve = counts.curve()
    assert curve.cumulative(risky, 3) / risky > 0.95
    assert curve.cumulative(safe, 3) / safe < 0.05
    flat = TermCurve.constant(HORIZON)
    assert curve.cumulative(risky, 3) > flat.cumulative(risky, 3)
    assert curve.cumulative(safe, 6) < flat.cumulative(safe, 6)


def test_a_band_with_few_defaults_stays_near_the_constant_hazard() -> None:
    counts = TermCounts(HORIZON)
    pd = BAND_CENTRES[2]
    counts.add(np.full(2, pd), np.full(2, 1))
    learned, flat = counts.curve().cumulative(pd, 3), cumulative_pd(pd, HORIZON, 3)
    assert flat < learned < flat + 0.1 * (pd - flat)


def test_lags_outside_the_horizon_are_not_counted() -> None:
    counts = TermCounts(HORIZON)
    counts.add(np.array([0.1, 0.1, 0.1]), np.array([0, HORIZON + 1, 200]))
    assert counts.curve() == TermCurve.constant(HORIZON)


def test_a_customer_in_default_is_certain_at_every_horizon() -> None:
    curve = _learned(3)
    assert curve.shares  # a learned curve spreads any PD below 1 over the months
    assert curve.cumulative(0.999, 1) < 0.999
    assert [p for _, p in curve.at_terms(1.0)] == [1.0] * len(terms(HORIZON))
    assert curve.cumulative(1.0, 0.5) == 1.0 and curve.cumulative(1.0, 0) == 0.0


def test_the_terms_at_once_are_the_curve_at_each_horizon() -> None:
    curve = _learned(4)
    for pd in (0.0, 0.004, 0.07, 0.3, 0.8):
        assert curve.at_terms(pd) == [(m, curve.cumulative(pd, m)) for m in terms(HORIZON)]
