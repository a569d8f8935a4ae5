"""Ratios and the Altman Z'' score from filed accounts, or from published ratios alone."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from detectors.base import Detector
from detectors.features import INDEX
from detectors.table import Column

RATIOS = ("altman_z2", "leverage", "current_ratio", "roa", "ebit_ta", "wc_ta", "re_ta", "eq_tl",
          "asset_turnover", "net_margin", "interest_coverage", "quick_ratio", "cash_ratio",
          "cash_flow_to_debt")
"""The ratios kept and used as features."""
RATIO_ALIASES = {code: code for code in RATIOS} | {
    "altman_z": "altman_z2",
    "z_score": "altman_z2",
    "debt_ratio": "leverage",
    "debt_to_assets": "leverage",
    "return_on_assets": "roa",
    "ebit_to_assets": "ebit_ta",
    "working_capital_to_assets": "wc_ta",
    "retained_earnings_to_assets": "re_ta",
    "equity_to_liabilities": "eq_tl",
    "sales_to_assets": "asset_turnover",
    "net_profit_margin": "net_margin",
    "profit_margin": "net_margin",
    "times_interest_earned": "interest_coverage",
    "ebit_to_interest": "interest_coverage",
    "acid_test": "quick_ratio",
    "cash_flow_to_liabilities": "cash_flow_to_debt",
}
"""Published ratio names understood (each ratio's own code among them); others stay in the
record but are not model inputs."""
MAX_AGE_DAYS = 900
_CLIP = 50.0
_NO_DAY = -(10**9)


def altman_z2(wc_ta: float, re_ta: float, ebit_ta: float, eq_tl: float) -> float:
    """Altman's Z'' for private and non-manufacturing firms (distress below 1.1).

    >>> round(altman_z2(0.2, 0.3, 0.1, 1.0), 3)
    4.012
    """
    return 6.56 * wc_ta + 3.26 * re_ta + 6.72 * ebit_ta + 1.05 * eq_tl


def ratios_from_accounts(fin: Mapping[str, float]) -> dict[str, float]:
    """Every ratio the filed figures allow; a ratio whose inputs are missing, or whose
    denominator is not positive, is left out.

    >>> ratios = ratios_from_accounts({"revenue": 300.0, "net_income": -15.0, "ebit": 6.0,
    ...     "interest_expense": 4.0, "total_assets": 200.0, "total_liabilities": 120.0,
    ...     "current_assets": 90.0, "inventory": 30.0, "short_term_liabilities": 60.0,
    ...     "cash": 12.0, "operating_cash_flow": 18.0})
    >>> ratios["asset_turnover"], ratios["net_margin"], ratios["interest_coverage"]
    (1.5, -0.05, 1.5)
    >>> ratios["quick_ratio"], ratios["cash_ratio"], ratios["cash_flow_to_debt"]
    (1.0, 0.2, 0.15)
    >>> "interest_coverage" in ratios_from_accounts({"ebit": 5.0, "interest_expense": 0.0})
    False
    """
    ta, tl = fin.get("total_assets"), fin.get("total_liabilities")
    ca = fin.get("current_assets")
    cl = fin.get("current_liabilities", fin.get("short_term_liabilities"))
    wc = fin.get("working_capital")
    if wc is None and ca is not None and cl is not None:
        wc = ca - cl
    equity = fin.get("equity")
    if equity is None and ta is not None and tl is not None:
        equity = ta - tl
    inventory, revenue = fin.get("inventory"), fin.get("revenue")
    quick = ca - inventory if ca is not None and inventory is not None else None
    net_income, ebit = fin.get("net_income"), fin.get("ebit")
    out: dict[str, float] = {}
    for name, numerator, denominator in (
            ("wc_ta", wc, ta), ("re_ta", fin.get("retained_earnings"), ta),
            ("ebit_ta", ebit, ta), ("roa", net_income, ta), ("leverage", tl, ta),
            ("eq_tl", equity, tl), ("current_ratio", ca, cl), ("quick_ratio", quick, cl),
            ("cash_ratio", fin.get("cash"), cl), ("asset_turnover", revenue, ta),
            ("net_margin", net_income, revenue),
            ("interest_coverage", ebit, fin.get("interest_expense")),
            ("cash_flow_to_debt", fin.get("operating_cash_flow"), tl)):
        # A ratio over nothing, or over a negative revenue or interest, means nothing.
        if numerator is not None and denominator is not None and denominator > 0:
            out[name] = numerator / denominator
    return out


class FinancialsDetector(Detector):
    """The latest filed accounts as ratios, with their age; silent once too old.

    >>> from detectors.table import Table
    >>> fin = FinancialsDetector(Table(FinancialsDetector.COLUMNS))
    >>> slot = fin.t.add()
    >>> fin.filed(slot, {"total_assets": 100.0, "total_liabilities": 50.0,
    ...                  "current_assets": 40.0, "current_liabilities": 20.0,
    ...                  "retained_earnings": 30.0, "ebit": 10.0}, {}, period_end_day=0)
    >>> X = np.full((1, len(INDEX)), np.nan)
    >>> fin.features(np.array([slot]), 365, X)
    >>> round(float(X[0, INDEX["altman_z2"]]), 3), float(X[0, INDEX["accounts_age_days"]])
    (4.012, 365.0)
    """

    COLUMNS = (
        # float32: the trees compare features as float32 and the pending snapshots keep
        # them as float16, so more precision would only cost every customer memory.
        Column("fin_ratios", "f4", np.nan, (len(RATIOS),)),
        Column("fin_period_end", "i4", _NO_DAY),
    )

    def filed(self, slot: int, figures: Mapping[str, float], ratios: Mapping[str, float],
              period_end_day: int) -> None:
        if period_end_day < self.t.fin_period_end[slot]:
            return  # an older restatement does not replace newer accounts
        derived = ratios_from_accounts(figures)
        for name, value in ratios.items():
            known = RATIO_ALIASES.get(name.lower())
            if known is not None:
                derived[known] = value
        parts = [derived.get(k) for k in ("wc_ta", "re_ta", "ebit_ta", "eq_tl")]
        if "altman_z2" not in derived and all(p is not None for p in parts):
            derived["altman_z2"] = altman_z2(*parts)  # type: ignore[arg-type]
        row = [derived.get(name, np.nan) for name in RATIOS]
        self.t.fin_ratios[slot] = np.clip(row, -_CLIP, _CLIP)
        self.t.fin_period_end[slot] = period_end_day

    def fresh(self, slots: np.ndarray, day: int) -> np.ndarray:
        return day - self.t.fin_period_end[slots] <= MAX_AGE_DAYS

    def features(self, slots: np.ndarray, day: int, X: np.ndarray) -> None:
        fresh = self.fresh(slots, day)
        ratios = np.where(fresh[:, None], self.t.fin_ratios[slots], np.nan)
        for i, name in enumerate(RATIOS):
            X[:, INDEX[name]] = ratios[:, i]
        age = (day - self.t.fin_period_end[slots]).astype(np.float64)
        X[:, INDEX["accounts_age_days"]] = np.where(fresh, age, np.nan)
