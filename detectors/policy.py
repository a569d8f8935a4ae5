"""The warning policy: warn once when a customer's grade crosses into the warning zone,
again only when it worsens, and resolve after it has stayed calm for a while (hysteresis)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # "early_warning" | "escalation" | "resolved"
    previous_grade: str | None


@dataclass(slots=True)
class WarningPolicy:
    """Per-customer hysteresis over grades (``"A"`` best ... ``"E"`` worst).

    >>> policy = WarningPolicy(warn_from="C", resolve_below="C", resolve_after=2)
    >>> [policy.decide(g) for g in "BCCDCBB"]  # doctest: +NORMALIZE_WHITESPACE
    [None, Decision(kind='early_warning', previous_grade=None), None,
     Decision(kind='escalation', previous_grade='C'), None, None,
     Decision(kind='resolved', previous_grade='D')]
    """

    warn_from: str = "C"
    resolve_below: str = "C"
    resolve_after: int = 3
    active: str | None = None
    calm: int = 0

    def decide(self, grade: str) -> Decision | None:
        if grade >= self.warn_from:
            self.calm = 0
            if self.active is None:
                self.active = grade
                return Decision("early_warning", None)
            if grade > self.active:
                previous, self.active = self.active, grade
                return Decision("escalation", previous)
            return None
        if self.active is not None and grade < self.resolve_below:
            self.calm += 1
            if self.calm >= self.resolve_after:
                previous, self.active, self.calm = self.active, None, 0
                return Decision("resolved", previous)
        return None
