"""The warning policy: at each event-time month end, warn a customer whose grade is in the
warning zone and who ranks within the desk's monthly alert budget; warn again only when its
grade worsens; resolve after it has stayed calm for a number of month ends (hysteresis).

Decisions are taken on month-end scores only. Scores taken between month ends (on every
material change) update the watchlist but decide nothing, so a score cannot issue, resolve
and issue again a warning within a month: every re-fire would be one more alert for the
desk. The one exception is a hard event (`detectors.hard`): its warning, given on its day
within the budget's rules, stands as the customer's warning (`WarningPolicy.warned`).

The alert budget is a number of new warnings per month. At a month end the riskiest
customers of the portfolio's current score distribution are ranked, and only those within
``budget`` ranks may be newly warned, so no month end brings more than ``budget`` new
warnings; customers already warned use up part of those ranks, so a month usually brings
fewer (a third to a half in the simulated portfolios, see docs/how-well-it-warns.md). The threshold
this sets on the probability is, per grade, the larger of the grade's bound and the
probability at the budget's rank: it follows the score distribution as the model changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.records import RESOLVED


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # "early_warning" | "escalation" | "resolved"
    previous_grade: str | None


def budget_ranks(per_1000: float, portfolio_size: int, absolute: int | None = None) -> float:
    """How many of the riskiest ranks may be newly warned at a month end: ``absolute`` if
    given, else ``per_1000`` per 1,000 customers of the portfolio; at least the riskiest one,
    so that a small portfolio is watched too.

    >>> budget_ranks(10, 2_000), budget_ranks(10, 2_000, absolute=5), budget_ranks(2.5, 200)
    (20.0, 5.0, 1.0)
    """
    return max(1.0, float(absolute) if absolute is not None else per_1000 * portfolio_size / 1000)


@dataclass(slots=True)
class WarningPolicy:
    """One customer's warning state over its month-end grades (``"A"`` best ... ``"E"`` worst)
    and ranks (1 is the riskiest of ``size`` customers).

    Warned at the month end where grade >= ``warn_from`` and rank <= ``budget``; escalated at
    a later month end where the grade is worse than the warned one (with ``escalate`` off,
    the warning takes the worse grade without a new alert); resolved after
    ``resolve_after`` calm month ends in a row (grade below ``resolve_below`` or rank beyond
    twice the budget). Scores that are not month ends change nothing; a hard event's warning
    stands as the customer's (`warned`).

    >>> policy = WarningPolicy(warn_from="C", resolve_below="C", resolve_after=2)
    >>> budget = 10  # ranks
    >>> [policy.decide(g, rank, budget, month_end=me)  # doctest: +NORMALIZE_WHITESPACE
    ...  for g, rank, me in [("B", 50, True), ("D", 3, False), ("C", 5, True), ("D", 3, True),
    ...                      ("B", 90, True), ("B", 90, False), ("C", 8, True), ("A", 99, True),
    ...                      ("B", 80, True)]]
    [None, None, Decision(kind='early_warning', previous_grade=None),
     Decision(kind='escalation', previous_grade='C'), None, None, None, None,
     Decision(kind='resolved', previous_grade='D')]
    """

    warn_from: str = "C"
    resolve_below: str = "C"
    resolve_after: int = 12
    """Calm month ends in a row that resolve a warning."""
    escalate: bool = True
    """Alert when a warned customer's grade worsens at a month end; off, the worse grade is
    taken without an alert (it shows on the watchlist and in the resolution), so nothing
    acts on it either: no grade-driven ERP action, no new digest line."""
    active: str | None = None
    """The grade of the standing warning; None when there is none."""
    calm: int = 0

    def warned(self, grade: str) -> str | None:
        """A warning given on its own day (a hard event) at ``grade`` stands as the
        customer's warning, if the grade is in the warning zone: the month ends escalate
        only beyond the worse of its grade and the standing one's, and resolve it as any
        other. Returns the grade of the warning that stood before (None: there was none).

        >>> policy = WarningPolicy(warn_from="C")
        >>> policy.warned("B"), policy.active  # outside the zone: no warning stands
        (None, None)
        >>> policy.warned("D"), policy.decide("D", 1, 10), policy.decide("E", 1, 10).kind
        (None, None, 'escalation')
        """
        previous = self.active
        if previous is not None or grade >= self.warn_from:
            self.active = max(grade, previous or grade)
            self.calm = 0
        return previous

    def decide(self, grade: str, rank: int, budget: float,
               month_end: bool = True) -> Decision | None:
        """``budget``: how many of the riskiest ranks may be newly warned (`budget_ranks`)."""
        if not month_end:
            return None
        if self.active is None:
            if grade >= self.warn_from and rank <= budget:
                self.active, self.calm = grade, 0
                return Decision("early_warning", None)
            return None
        calm = grade < self.resolve_below or rank > 2 * budget
        if not calm:
            self.calm = 0
            if grade > self.active:
                previous, self.active = self.active, grade
                return Decision("escalation", previous) if self.escalate else None
            return None
        self.calm += 1
        if self.calm >= self.resolve_after:
            previous, self.active, self.calm = self.active, None, 0
            return Decision(RESOLVED, previous)
        return None
