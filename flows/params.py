"""Command-line parameter types shared by the commands."""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteRange(click.FloatRange):
    """A number within a range, never NaN or an infinity: click's range lets ``nan`` through
    (it compares false with both bounds) and ``inf`` past an open upper bound, and either
    would reach a timeout or an amount as if it were a number."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
