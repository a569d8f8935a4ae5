"""Ratios and the Altman Z'' score from filed accounts, or from published ratios alone."""

from __future__ import annotations

from collections.abc import Mapping

from detectors.base import Detector

RATIO_ALIASES = {
    "altman_z": "altman_z2",
    "altman_z2": "altman_z2",
    "z_score": "altman_z2",
    "current_ratio": "current_ratio",
    "debt_ratio": "leverage",
    "leverage": "leverage",
    "roa": "roa",
    "ebit_to_assets": "ebit_ta",
    "working_capital_to_assets": "wc_ta",
    "retained_earnings_to_assets": "re_ta",
    "equity_to_liabilities": "eq_tl",
}
"""Published ratio names we understand; any other ratio is still passed on as a feature."""
FINANCIAL_FEATURES = ("altman_z2", "leverage", "current_ratio", "roa", "ebit_ta")
_CLIP = 50.0


def altman_z2(wc_ta: float, re_ta: float, ebit_ta: float, eq_tl: float) -> float:
    """Altman's Z'' for private and non-manufacturing firms (distress below 1.1).

    >>> round(altman_z2(0.2, 0.3, 0.1, 1.0), 3)
    4.012
    """
    return 6.56 * wc_ta + 3.26 * re_ta + 6.72 * ebit_ta + 1.05 * eq_tl


def ratios_from_accounts(fin: Mapping[str, float | None]) -> dict[str, float]:
    """Every ratio the filed figures allow; a ratio whose inputs are missing is left out."""
    ta, tl = fin.get("total_assets"), fin.get("total_liabilities")
    ca, cl = fin.get("current_assets"), fin.get("current_liabilities")
    wc = fin.get("working_capital")
    if wc is None and ca is not None and cl is not None:
        wc = ca - cl
    equity = fin.get("equity")
    if equity is None and ta is not None and tl is not None:
        equity = ta - tl
    out: dict[str, float] = {}
    if ta:
        for name, numerator in (("wc_ta", wc), ("re_ta", fin.get("retained_earnings")),
                                ("ebit_ta", fin.get("ebit")), ("roa", fin.get("net_income"))):
            if numerator is not None:
                out[name] = numerator / ta
        if tl is not None:
            out["leverage"] = tl / ta
    if tl and equity is not None:
        out["eq_tl"] = equity / tl
    if ca is not None and cl:
        out["current_ratio"] = ca / cl
    return out


class FinancialsDetector(Detector):
    """The latest filed accounts as ratios, with their age.

    >>> fin = FinancialsDetector()
    >>> fin.filed({"total_assets": 100.0, "total_liabilities": 50.0, "current_assets": 40.0,
    ...            "current_liabilities": 20.0, "retained_earnings": 30.0, "ebit": 10.0},
    ...           ratios={}, period_end_day=0)
    >>> round(fin.features(day=365)["altman_z2"], 3)
    4.012
    """

    def __init__(self, max_age_days: int = 900):
        self.max_age_days = max_age_days
        self._ratios: dict[str, float] = {}
        self._period_end: int | None = None

    def filed(
        self, figures: Mapping[str, float | None], ratios: Mapping[str, float], period_end_day: int
    ) -> None:
        if self._period_end is not None and period_end_day < self._period_end:
            return  # an older restatement does not replace newer accounts
        derived = ratios_from_accounts(figures)
        for name, value in ratios.items():
            derived[RATIO_ALIASES.get(name.lower(), f"ratio_{name.lower()}")] = value
        parts = [derived.get(k) for k in ("wc_ta", "re_ta", "ebit_ta", "eq_tl")]
        if "altman_z2" not in derived and all(p is not None for p in parts):
            derived["altman_z2"] = altman_z2(*parts)  # type: ignore[arg-type]
        self._ratios = {k: max(-_CLIP, min(_CLIP, v)) for k, v in derived.items()}
        self._period_end = period_end_day

    def features(self, day: int) -> dict[str, float | None]:
        fresh = self._period_end is not None and day - self._period_end <= self.max_age_days
        out: dict[str, float | None] = dict.fromkeys(FINANCIAL_FEATURES)
        if fresh:
            out.update(self._ratios)
            out["accounts_age_days"] = float(day - self._period_end)  # type: ignore[operator]
        return out
