"""Annual accounts of firms that carry over from year to year, worse for weaker firms.

Each firm has its own way of doing business, drawn once: asset size, how much revenue its
assets turn over, its normal margin, how much equity it started with, how liquid its assets
are and what share of profit it pays out. Each year assets grow (less for a weak firm),
revenue and the EBIT margin fall with the year's weakness, interest is paid on last year's
debt, and the net income (after tax when positive) less dividends is added to equity, so
losses eat into it and a bad year still shows in later balance sheets. Liabilities are what
equity does not fund; the current ratio sinks with weakness. Every figure has its own noise,
so weak-looking accounts also come from sound firms and a firm can look sound a year before
it fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIGURES = ("revenue", "ebit", "net_income", "total_assets", "total_liabilities",
           "current_assets", "current_liabilities", "retained_earnings")
GROWTH, SALES, MARGIN, EQUITY, LIQUIDITY = 0.06, 0.15, 0.06, 0.1, 0.35
"""How much weakness takes off asset growth, turnover, the EBIT margin, the starting equity
ratio and the current ratio."""
_INTEREST = 0.045
_TAX = 0.28


@dataclass
class BalanceSheets:
    """The firms' accounts, one year at a time (`next_year`), all firms at once."""

    rng: np.random.Generator
    corporate: np.ndarray
    years: int = 0
    assets: np.ndarray = field(init=False)
    equity: np.ndarray = field(init=False)
    turnover: np.ndarray = field(init=False)
    margin: np.ndarray = field(init=False)
    equity_ratio: np.ndarray = field(init=False)
    liquid_share: np.ndarray = field(init=False)
    current_ratio: np.ndarray = field(init=False)
    payout: np.ndarray = field(init=False)
    paid_in: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng, n = self.rng, len(self.corporate)
        self.assets = np.where(self.corporate, rng.lognormal(np.log(40e6), 0.8, n),
                               rng.lognormal(np.log(2e6), 0.9, n))
        self.turnover = rng.lognormal(np.log(1.2), 0.35, n)
        self.margin = rng.normal(0.07, 0.035, n)
        self.equity_ratio = np.clip(rng.normal(0.33, 0.12, n), 0.05, 0.75)
        self.liquid_share = rng.uniform(0.35, 0.75, n)
        self.current_ratio = np.clip(rng.normal(1.6, 0.35, n), 0.8, 3.0)
        self.payout = rng.uniform(0.3, 0.8, n)
        self.equity = np.zeros(n)
        self.paid_in = np.zeros(n)

    def next_year(self, weakness: np.ndarray) -> dict[str, np.ndarray]:
        """The next year's accounts of every firm, given its weakness over the year (0 for a
        typical firm, up to 2 close to failure, down to -1 for the strongest)."""
        rng, n, s = self.rng, len(self.corporate), weakness
        debt = self.assets - self.equity
        if self.years:
            self.assets = self.assets * np.exp(rng.normal(0.03, 0.07, n) - GROWTH * s)
        revenue = self.assets * self.turnover * np.exp(rng.normal(0.0, 0.06, n) - SALES * s)
        ebit = revenue * (self.margin - MARGIN * s + rng.normal(0.0, 0.03, n))
        if not self.years:
            ratio = self.equity_ratio - EQUITY * s + rng.normal(0.0, 0.03, n)
            self.equity = self.assets * ratio
            self.paid_in = self.equity * rng.uniform(0.2, 0.6, n)
            debt = self.assets - self.equity
        pre_tax = ebit - _INTEREST * debt
        net_income = np.where(pre_tax > 0, (1 - _TAX) * pre_tax, pre_tax)
        dividends = np.where(net_income > 0, self.payout * net_income, 0.0)
        self.equity = np.minimum(self.equity + (net_income - dividends if self.years else 0.0),
                                 0.9 * self.assets)
        liabilities = self.assets - self.equity
        current_assets = self.assets * np.clip(
            self.liquid_share * np.exp(rng.normal(0.0, 0.06, n)), 0.05, 0.95)
        ratio = np.maximum(0.3, self.current_ratio - LIQUIDITY * s + rng.normal(0.0, 0.15, n))
        self.years += 1
        return {
            "revenue": revenue, "ebit": ebit, "net_income": net_income,
            "total_assets": self.assets, "total_liabilities": liabilities,
            "current_assets": current_assets,
            "current_liabilities": np.minimum(current_assets / ratio, liabilities),
            "retained_earnings": self.equity - self.paid_in,
        }

