"""The warning policy: warn once when a customer's grade crosses into the warning zone and
it ranks among the riskiest of the portfolio, again only when its grade worsens, and resolve
after it has stayed calm for a while (hysteresis).

The rank condition is the desk's alert budget: however the model's probabilities drift, no
more than ``top_share`` of the portfolio stands in the warning zone at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # "early_warning" | "escalation" | "resolved"
    previous_grade: str | None


@dataclass(slots=True)
class WarningPolicy:
    """Per-customer hysteresis over grades (``"A"`` best ... ``"E"`` worst).

    >>> policy = WarningPolicy(warn_from="C", resolve_below="C", resolve_after=2, top_share=0.1)
    >>> [policy.decide(g, rank_share=0.05) for g in "BCCDCBB"]  # doctest: +NORMALIZE_WHITESPACE
    [None, Decision(kind='early_warning', previous_grade=None), None,
     Decision(kind='escalation', previous_grade='C'), None, None,
     Decision(kind='resolved', previous_grade='D')]
    """

    warn_from: str = "C"
    resolve_below: str = "C"
    resolve_after: int = 3
    top_share: float = 0.03
    active: str | None = None
    calm: int = 0

    def decide(self, grade: str, rank_share: float) -> Decision | None:
        """``rank_share``: the customer's rank over the portfolio's size (small is risky).

        A warning needs the grade and a rank within ``top_share``; it resolves once the grade
        has stayed below ``resolve_below``, or the rank beyond twice the share, for a while.
        """
        calm = grade < self.resolve_below or rank_share > 2 * self.top_share
        if grade >= self.warn_from and not calm and (
            rank_share <= self.top_share or self.active is not None
        ):
            self.calm = 0
            if self.active is None:
                self.active = grade
                return Decision("early_warning", None)
            if grade > self.active:
                previous, self.active = self.active, grade
                return Decision("escalation", previous)
            return None
        if self.active is not None and calm:
            self.calm += 1
            if self.calm >= self.resolve_after:
                previous, self.active, self.calm = self.active, None, 0
                return Decision("resolved", previous)
        return None
