"""Grades A (best) to E (worst) from a probability of default, with what the desk should do."""

from __future__ import annotations

from bisect import bisect_right

GRADES = ("A", "B", "C", "D", "E")
ACTIONS = {
    "A": "no action",
    "B": "monitor",
    "C": "review credit limit",
    "D": "reduce limit; require security or prepayment for new orders",
    "E": "hold new shipments; start collection",
}
SEVERITY = {"A": "info", "B": "info", "C": "watch", "D": "warning", "E": "critical"}


def grade_of(pd: float, bounds: list[float]) -> str:
    """The grade whose PD band holds ``pd``; ``bounds`` are the upper limits of A to D.

    >>> grade_of(0.01, [0.02, 0.06, 0.15, 0.35]), grade_of(0.5, [0.02, 0.06, 0.15, 0.35])
    ('A', 'E')
    """
    return GRADES[bisect_right(bounds, pd)]
