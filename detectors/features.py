"""The feature catalogue: every model input, declared once.

A feature has a code (its column in every feature matrix, in `CODES` order), a plain-language
label for desks and auditors, the evidence family whose input events explain it, whether the
linear models see it on a log scale, and the prior scorecard's points for it (the hand-set
cold-start model; `None` where the scorecard does not use the feature). Six key figures are
also followed over time (`TRACKED`): each adds two trajectory features, the figure against
its own recent month-end level and its smoothed monthly change.

Feature matrices are float64 arrays of shape ``(rows, len(CODES))``; NaN means "the feeds
said nothing" (no ledger, no fresh tradeline, no accounts...), which is not the same as zero.

>>> INDEX["max_dpd"] == CODES.index("max_dpd")
True
>>> CATALOGUE["dso_slope"].label, CATALOGUE["dso_slope"].family
('DSO rising month after month', 'payment_delay')
>>> [round(float(p), 2) for p in CATALOGUE["max_dpd"].prior.points(np.array([0.0, 45.0, 90.0]))]
[0.0, 1.0, 1.8]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAMILIES = ("payment_delay", "tradeline", "news", "registry", "financials", "country",
            "industry", "presence")
"""Evidence families: which feed's events explain a feature (`presence` flags explain
nothing by themselves)."""


@dataclass(frozen=True, slots=True)
class Bands:
    """Points by band: the points of the highest band whose lower bound the value reaches."""

    bands: tuple[tuple[float, float], ...]

    def points(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros_like(values, dtype=np.float64)
        for lower, points in self.bands:
            out = np.where(values >= lower, points, out)
        return out


@dataclass(frozen=True, slots=True)
class Linear:
    """``slope * clip(value - shift, low, high)``."""

    slope: float
    shift: float = 0.0
    low: float = -np.inf
    high: float = np.inf

    def points(self, values: np.ndarray) -> np.ndarray:
        return self.slope * np.clip(values - self.shift, self.low, self.high)


@dataclass(frozen=True, slots=True)
class Steps:
    """Points below each threshold in turn (``below``: ascending (threshold, points)), else
    ``otherwise``."""

    below: tuple[tuple[float, float], ...]
    otherwise: float

    def points(self, values: np.ndarray) -> np.ndarray:
        out = np.full(values.shape, self.otherwise, dtype=np.float64)
        for threshold, points in reversed(self.below):
            out = np.where(values < threshold, points, out)
        return out


Prior = Bands | Linear | Steps


@dataclass(frozen=True, slots=True)
class Feature:
    code: str
    label: str
    family: str
    log_scaled: bool = False
    prior: Prior | None = None


_BASE = (
    # The receivables ledger.
    Feature("max_dpd", "days past due of the oldest open invoice", "payment_delay", True,
            Bands(((1, 0.3), (31, 1.0), (61, 1.8)))),
    Feature("overdue_share", "share of receivables overdue", "payment_delay", False,
            Linear(2.0, shift=0.2, low=0.0)),
    Feature("share_over_90", "share of receivables over 90 days past due", "payment_delay",
            False, Linear(1.5)),
    Feature("dso", "days sales outstanding", "payment_delay", True),
    Feature("utilisation", "credit limit utilisation", "payment_delay", False,
            Linear(0.6, shift=0.9, low=0.0, high=1.0)),
    # How the customer pays.
    Feature("delay_level", "payment delay (days late, recent average)", "payment_delay", True,
            Linear(0.02, shift=10.0, low=0.0, high=90.0)),
    Feature("delay_trend", "payment delays lengthening (days)", "payment_delay", True,
            Linear(0.04, low=0.0, high=60.0)),
    Feature("delay_drift", "shift in payment behaviour (drift detector)", "payment_delay",
            False, Linear(0.8, high=1.0)),
    Feature("partial_share", "share of partial payments", "payment_delay", False, Linear(1.0)),
    Feature("amount_anomaly", "unusually large orders", "payment_delay", False, Linear(0.5)),
    # Banks and bureaus.
    Feature("tl_dpd", "days past due at banks and bureaus", "tradeline", True,
            Bands(((1, 0.5), (31, 1.3), (61, 2.2)))),
    Feature("tl_dpd_trend", "bureau days past due rising", "tradeline", True,
            Linear(0.02, low=0.0, high=60.0)),
    # A delinquency cured is not forgotten: bureau scores read the worst recent status and
    # how often the account was late, not only the latest report. The prior gives the late
    # share a point per unit, as bureaus count "times 30+ days past due"; the worst none
    # (measured: docs/how-well-it-warns.md, "A delinquency cured is remembered").
    Feature("tl_dpd_worst", "worst recent days past due at banks and bureaus (fading)",
            "tradeline", True),
    Feature("tl_late_share", "share of recent bank and bureau reports 30+ days past due",
            "tradeline", False, Linear(1.0)),
    Feature("tl_overdue_ratio", "share of the bank balance overdue", "tradeline"),
    Feature("tl_utilisation", "bank credit line utilisation", "tradeline", False,
            Linear(1.0, shift=0.3, low=0.0, high=0.7)),
    # Paying the whole balance (a card's transactor) is a sign of strength; paying little of
    # it is the norm for a loan, so only the share above half earns points.
    Feature("tl_paid_share", "share of the previous bank balance paid in the period",
            "tradeline", False, Linear(-1.0, shift=0.5, low=0.0, high=0.5)),
    Feature("tl_age_days", "age of the latest bank or bureau report (days)", "tradeline", True),
    # News.
    Feature("news_adverse", "adverse news", "news", False, Linear(0.5, high=4.0)),
    Feature("news_positive", "positive news", "news", False, Linear(-0.2, high=2.0)),
    # The company registry.
    Feature("registry_distress", "registry distress (judgments, resignations, restructuring)",
            "registry", False, Linear(0.5, high=4.0)),
    Feature("accounts_overdue", "accounts not filed on time", "registry", False, Linear(0.8)),
    Feature("rating_downgrade", "rating downgrade", "registry", False, Linear(0.6, high=2.0)),
    # Filed accounts.
    # Half a point per unit of Z'' (the step from its grey zone to its distress zone), graded
    # from CCC (-0.75) to AAA (4.9) on Altman's rating scale for Z'' and 0 at its BBB, 2.6.
    Feature("altman_z2", "Altman Z'' from filed accounts", "financials", False,
            Linear(-0.5, shift=2.6, low=-3.35, high=2.3)),
    Feature("leverage", "liabilities over assets", "financials", False,
            Steps(((1.0 + 1e-12, 0.0),), otherwise=0.6)),
    Feature("current_ratio", "current assets over current liabilities", "financials"),
    Feature("roa", "return on assets", "financials"),
    Feature("ebit_ta", "EBIT over total assets", "financials"),
    Feature("wc_ta", "working capital over total assets", "financials"),
    Feature("re_ta", "retained earnings over total assets", "financials"),
    Feature("eq_tl", "equity over total liabilities", "financials"),
    Feature("asset_turnover", "revenue over total assets", "financials"),
    Feature("net_margin", "net income over revenue", "financials"),
    Feature("interest_coverage", "EBIT over interest expense", "financials"),
    Feature("quick_ratio", "current assets less inventory over current liabilities",
            "financials"),
    Feature("cash_ratio", "cash over current liabilities", "financials"),
    Feature("cash_flow_to_debt", "operating cash flow over total liabilities", "financials"),
    Feature("accounts_age_days", "age of the latest filed accounts (days)", "financials", True),
    # The country-risk feed.
    Feature("country_risk", "country risk grade (0 lowest, 7 highest)", "country"),
    # The industry-risk feed.
    Feature("industry_risk", "industry risk grade (0 lowest, 7 highest)", "industry"),
)

TRACKED = ("delay_level", "dso", "overdue_share", "utilisation", "max_dpd", "tl_dpd")
"""The figures followed against their own month-end history (see `detectors.trajectory`)."""
_DESCRIBED = {
    "delay_level": "payment delay", "dso": "DSO", "overdue_share": "overdue share",
    "utilisation": "credit limit utilisation", "max_dpd": "days past due (oldest invoice)",
    "tl_dpd": "days past due at banks and bureaus",
}
_FAMILY = {f.code: f.family for f in _BASE}
_LOG = {f.code: f.log_scaled for f in _BASE}
_TRAJECTORY = tuple(
    feature
    for name in TRACKED
    for feature in (
        Feature(f"{name}_vs_base", f"{_DESCRIBED[name]} above its own recent level",
                _FAMILY[name], _LOG[name]),
        Feature(f"{name}_slope", f"{_DESCRIBED[name]} rising month after month",
                _FAMILY[name], _LOG[name]),
    )
)
_PRESENCE = (
    Feature("has_ledger", "the receivables ledger reports", "presence"),
    Feature("has_tradeline", "a bank or bureau reports", "presence"),
    Feature("has_accounts", "filed accounts are known", "presence"),
)

FEATURES: tuple[Feature, ...] = _BASE + _TRAJECTORY + _PRESENCE
CODES: tuple[str, ...] = tuple(f.code for f in FEATURES)
INDEX: dict[str, int] = {code: i for i, code in enumerate(CODES)}
CATALOGUE: dict[str, Feature] = {f.code: f for f in FEATURES}
WIDTH = len(CODES)
TRAJECTORY_CODES: dict[str, tuple[str, str]] = {
    name: (f"{name}_vs_base", f"{name}_slope") for name in TRACKED
}
LOG_SCALED = np.array([f.log_scaled for f in FEATURES])
"""Per column: whether linear models see it as ``sign(x) * log1p(|x|)``."""


OTHER = "other"
"""The code of the reason that sums every contribution not listed by name (no feature)."""
JUDGMENT, ADVERSE_NEWS = "court_judgment", "adverse_news"
"""The codes of hard events' reasons (`detectors.hard`)."""
OVER_CREDIT_LIMIT, OVER_INSURED_LIMIT = "over_credit_limit", "over_insured_limit"
"""The codes of limit breaches' reasons (`detectors.warnings.from_breach`)."""
_LABELS = {
    OTHER: "all other signals together",
    JUDGMENT: "court judgment (share of exposure)",
    ADVERSE_NEWS: "adverse news (category)",
    OVER_CREDIT_LIMIT: "exposure over the credit limit (exposure / limit)",
    OVER_INSURED_LIMIT: "exposure over the insured limit (exposure / insured limit)",
}
"""Labels of the reasons that are not features: the rest of a score, and hard events."""


def label(code: str) -> str:
    """The plain-language label of a feature code (the code itself, humanised, if unknown)."""
    feature = CATALOGUE.get(code)
    if feature is not None:
        return feature.label
    return _LABELS.get(code, code.replace("_", " "))


def family(code: str) -> str:
    """The evidence family of a catalogue feature (a KeyError for any other code, so a
    feature missing from the catalogue cannot file its evidence under another family)."""
    return CATALOGUE[code].family


def empty(rows: int) -> np.ndarray:
    """A feature matrix of ``rows`` rows where nothing is known yet."""
    return np.full((rows, WIDTH), np.nan)
