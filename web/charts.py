"""The customer page's figures as plain SVG geometry (the template draws it; no script).

`pd_history` places the month-end PDs and every warning on one time axis; `term_structure`
gives the latest PD's term structure as bars; `tradeoff_plot` draws the evaluation's
trade-off of early warnings against false ones, with the rules' points.
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True, slots=True)
class Plot:
    """Curves, a ringed point, labelled marks and axis ticks, in SVG coordinates."""

    curves: list[dict[str, Any]]
    ring: dict[str, float] | None
    marks: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    width: int = WIDTH
    height: int = 2 * HEIGHT


def tradeoff_plot(curves: list[tuple[str, list[tuple[float, float]]]],
                  ring: tuple[float, float] | None,
                  marks: list[tuple[str, float, float]]) -> Plot | None:
    """Share of defaulters warned 6+ months ahead (y, 0 to 1) against false warnings per
    1,000 customer-years (x, from 0): each ``(label, points)`` curve (the first one drawn
    solid, the others dashed), ``ring`` around one point, and each ``(label, x, y)`` mark.

    >>> plot = tradeoff_plot([("configured", [(0.0, 0.0), (100.0, 0.5)])], (100.0, 0.5),
    ...                      [("rule", 200.0, 0.5)])
    >>> plot.curves[0]["points"], plot.ring, plot.marks[0]["x"]
    ('32,368 306.3,200', {'x': 306.3, 'y': 200.0}, 580.6)
    """
    xs = [x for _, points in curves for x, _ in points] + [x for _, x, _ in marks]
    if not xs:
        return None
    right = max(max(xs), 1.0) * 1.05
    width, height = WIDTH, 2 * HEIGHT

    def at(x: float, y: float) -> tuple[float, float]:
        return (round(PAD + x / right * (width - 2 * PAD), 1),
                round(height - PAD - min(max(y, 0.0), 1.0) * (height - 2 * PAD), 1))

    def svg_points(points: list[tuple[float, float]]) -> str:
        return " ".join("{:g},{:g}".format(*at(x, y)) for x, y in points)

    drawn = [{"label": label, "points": svg_points(points), "solid": k == 0}
             for k, (label, points) in enumerate(curves) if points]
    ticks = [{"y": at(0.0, f)[1], "label": f"{f:.0%}"} for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
    step = _round_step(right / 4)
    ticks += [{"x": at(k * step, 0.0)[0], "label": f"{k * step:g}"}
              for k in range(int(right // step) + 1)]
    ringed = None if ring is None else dict(zip(("x", "y"), at(*ring), strict=True))
    placed = [{"label": label, "x": at(x, y)[0], "y": at(x, y)[1], "false_warnings": x,
               "share": y} for label, x, y in marks]
    return Plot(drawn, ringed, placed, ticks)


def _round_step(raw: float) -> float:
    """The round number (1, 2 or 5 times a power of ten) at or above ``raw``.

    >>> _round_step(37.0), _round_step(0.3)
    (50.0, 0.5)
    """
    scale = 10.0 ** math.floor(math.log10(raw))
    return next(k * scale for k in (1, 2, 5, 10) if k * scale >= raw)


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
