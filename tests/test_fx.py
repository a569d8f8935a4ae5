"""The rate of a day, worked by hand (`detectors.fx`)."""

from __future__ import annotations

import pytest

from detectors.fx import Rates


def test_the_latest_rate_on_or_before_the_day_within_the_allowed_age() -> None:
    rates = Rates("EUR", {}, max_age_days=3)
    rates.put("EUR", "USD", 1.25, day=10)  # 1 EUR = 1.25 USD: 1 USD = 0.80 EUR
    rates.put("EUR", "USD", 1.00, day=12)
    assert rates.rate("USD", 9) is None  # before the first rate
    assert rates.rate("USD", 10) == pytest.approx(0.80)
    assert rates.rate("USD", 11) == pytest.approx(0.80)  # a day without one: the last
    assert rates.rate("USD", 15) == pytest.approx(1.00)  # 3 days old: still allowed
    assert rates.rate("USD", 16) is None  # 4 days old


def test_a_rate_published_later_never_changes_an_earlier_day() -> None:
    rates = Rates("EUR", {}, max_age_days=7)
    rates.put("EUR", "GBP", 0.80, day=10)
    before = rates.rate("GBP", 12)
    rates.put("EUR", "GBP", 0.50, day=13)  # arrives later, dated after day 12
    assert rates.rate("GBP", 12) == before == pytest.approx(1.25)


def test_the_configured_rate_is_the_fallback_and_a_feed_rate_wins() -> None:
    rates = Rates("EUR", {"CHF": 1.05}, max_age_days=7)
    assert rates.rate("CHF", 100) == 1.05
    rates.put("EUR", "CHF", 0.5, day=100)
    assert rates.rate("CHF", 100) == pytest.approx(2.0)
    assert rates.rate("CHF", 200) == 1.05  # the feed's rate is too old by then
    assert rates.rate("EUR", 1) == 1.0


def test_quotes_against_another_base_are_crossed_on_the_same_day() -> None:
    """A US bank's file: 1 USD = 0.9 EUR and 1 USD = 7.2 CNY; so 1 CNY = 0.125 EUR."""
    rates = Rates("EUR", {}, max_age_days=7)
    rates.put("USD", "EUR", 0.9, day=50)
    rates.put("USD", "CNY", 7.2, day=50)
    assert rates.rate("USD", 50) == pytest.approx(0.9)
    assert rates.rate("CNY", 50) == pytest.approx(0.125)
    assert rates.cross(1000.0, "CNY", "USD", 50) == pytest.approx(1000 / 7.2)
    assert rates.cross(1000.0, "PLN", "USD", 50) is None
    assert rates.cross(1000.0, "PLN", "PLN", 50) == 1000.0  # its own currency needs none
