"""The customer page's figures as plain SVG geometry (the template draws it; no script).

`pd_history` places the month-end PDs and every warning on one time axis; `term_structure`
gives the latest PD's term structure as bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.clock import parse_time
from detectors.term import TermCurve

WIDTH, HEIGHT, PAD = 640, 200, 32


@dataclass(frozen=True, slots=True)
class Chart:
    """Points of a polyline, markers, axis ticks and the y-axis top, in SVG coordinates."""

    line: str
    markers: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    top: float
    width: int = WIDTH
    height: int = HEIGHT


def pd_history(history: list[dict[str, Any]], warnings: list[dict[str, Any]]) -> Chart | None:
    """PD at each month end, with a marker at each warning (its PD at its time)."""
    points = [(parse_time(h["at"]).timestamp(), float(h["pd"])) for h in history]
    marks = [(parse_time(w["event_time"]).timestamp(), float(w["pd"] or 0.0), w)
             for w in warnings]
    times = [t for t, _ in points] + [t for t, _, _ in marks]
    if not times:
        return None
    start, end = min(times), max(times)
    span = max(end - start, 1.0)
    top = max([p for _, p in points] + [p for _, p, _ in marks] + [0.01]) * 1.1
    top = min(top, 1.0)

    def x(t: float) -> float:
        return round(PAD + (t - start) / span * (WIDTH - 2 * PAD), 1)

    def y(p: float) -> float:
        return round(HEIGHT - PAD - p / top * (HEIGHT - 2 * PAD), 1)

    line = " ".join(f"{x(t)},{y(p)}" for t, p in points)
    markers = [{"x": x(t), "y": y(p), "kind": w["kind"], "grade": w["grade"],
                "at": w["event_time"][:10], "pd": p, "warning_id": w["warning_id"]}
               for t, p, w in marks]
    ticks = [{"y": y(top * f), "label": f"{top * f:.0%}" if top >= 0.1 else f"{top * f:.1%}"}
             for f in (0.0, 0.5, 1.0)]
    years = sorted({h["at"][:4] for h in history})
    for year in years:
        t = parse_time(f"{year}-01-01").timestamp()
        if start <= t <= end:
            ticks.append({"x": x(t), "label": year})
    return Chart(line, markers, ticks, top)


def term_structure(pd: float | None, horizon_months: int,
                   published: list[dict[str, Any]] | None = None,
                   ) -> tuple[list[dict[str, Any]], bool]:
    """The bars of the latest PD's term structure, each bar's height in percent, and
    whether they are the run's own: ``published`` (the latest score's ``pd_term``) when it
    is well formed and gives ``pd`` at the horizon; otherwise the constant monthly
    hazard that gives ``pd`` at the horizon (runs of earlier versions published none)."""
    if pd is None or horizon_months < 1:
        return [], False
    points = _published_term(published)
    learned = points is not None and points.get(horizon_months) == pd
    if not learned:
        points = dict(TermCurve.constant(horizon_months).at_terms(pd))
    return [{"month": m, "pd": p, "height": round(100 * p, 1)}
            for m, p in sorted(points.items())], learned


def _published_term(published: list[dict[str, Any]] | None) -> dict[int, float] | None:
    """``{months: pd}`` from a published ``pd_term``; None unless every entry is a whole
    number of months with a probability."""
    try:
        points = {int(t["months"]): float(t["pd"]) for t in published or ()}
    except (TypeError, ValueError, KeyError):
        return None
    return points if points and all(0.0 <= p <= 1.0 for p in points.values()) else None
