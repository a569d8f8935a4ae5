"""The month-end rows of a finished run that `flows.evaluate` measures: each row's customer,
time, PD, term structure, model and recorded features, read from ``scores.jsonl``; the
run's alerts from ``warnings.jsonl``; and ranks within a month's rows."""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detectors.clock import seconds_of
from detectors.records import EARLY_KINDS, RESOLVED
from flows import metrics as m
from flows.choices import model_name


@dataclass(frozen=True)
class Rows:
    """The month-end rows, in (time, customer) order, with the features the baselines use."""

    customers: list[str]
    times: list[int]
    pds: list[float]
    names: list[str]
    matrix: np.ndarray
    """Every recorded feature, one column per name; NaN where a row lacks it."""
    last_scored: int = 0
    """The event time of the run's last row of scores.jsonl, month end or not."""
    terms: dict[int, list[float]] = field(default_factory=dict)
    """P(default within m months) per row, by m: each row's published term structure."""
    models: dict[int, str] = field(default_factory=dict)
    """Per month end, the model that scored it (``model_version`` without its digest)."""

    def column(self, name: str) -> np.ndarray:
        if name not in self.names:
            return np.full(len(self.times), np.nan)
        return self.matrix[:, self.names.index(name)]



def load_rows(scores: Path, defaults: dict[str, int | None]) -> Rows:
    """Month-end rows before each customer's default, features packed into one matrix."""
    keyed: list[tuple[int, str, float, int]] = []
    terms: dict[int, list[float]] = {}
    names: dict[str, int] = {}
    models: dict[int, str] = {}
    at_row, at_col, values = array("l"), array("l"), array("d")
    last = ""
    with scores.open(encoding="utf-8") as handle:
        for line in handle:
            last = line if line.strip() else last  # canonical order: the last is the latest
            if '"month_end":false' in line:  # a cheap skip; anything else is parsed and checked
                continue
            row = json.loads(line)
            if not row.get("month_end"):
                continue
            at = seconds_of(row["event_time"])
            default = defaults.get(row["customer_id"])
            if row.get("defaulted") or (default is not None and at >= default):
                continue
            for name, value in row["features"].items():
                at_row.append(len(keyed))
                at_col.append(names.setdefault(name, len(names)))
                values.append(value)
            for term in row.get("pd_term", ()):
                terms.setdefault(int(term["months"]), []).append(float(term["pd"]))
            models[at] = model_name(row["model_version"])
            keyed.append((at, row["customer_id"], float(row["pd"]), len(keyed)))
    matrix = np.full((len(keyed), len(names)), np.nan)
    matrix[np.asarray(at_row, dtype=np.int64), np.asarray(at_col, dtype=np.int64)] = values
    keyed.sort()
    order = [k[3] for k in keyed]
    return Rows([k[1] for k in keyed], [k[0] for k in keyed], [k[2] for k in keyed],
                list(names), matrix[order] if order else matrix,
                seconds_of(json.loads(last)["event_time"]) if last else 0,
                {months: [pds[i] for i in order] for months, pds in terms.items()
                 if len(pds) == len(keyed)},
                models)


def load_alerts(warnings: list[dict[str, Any]]) -> list[m.Alert]:
    """The monitor's early warnings, escalations and resolutions of a run's warnings. A
    hard event's warning is the early warning it opened (no ``previous_grade``) or an
    escalation of the one that stood."""
    return [m.Alert(w["customer_id"], seconds_of(w["event_time"]), _alert_kind(w))
            for w in warnings if w["kind"] in (*EARLY_KINDS, RESOLVED)]


def _alert_kind(warning: dict[str, Any]) -> str:
    """The alert kind a warning counts as: its own, or for a hard event the early warning
    it opened or, under a standing warning, an escalation (the desk got one more alert,
    whether or not the grade worsened)."""
    if warning["kind"] != "hard_event":
        return str(warning["kind"])
    return EARLY_KINDS[0] if warning.get("previous_grade") is None else EARLY_KINDS[1]


def period_end(rows: Rows, warnings: list[dict[str, Any]]) -> int:
    """The end of the observed period: the latest event time in the run's outputs."""
    times = (seconds_of(w["event_time"]) for w in warnings)
    return max(rows.last_scored, max(rows.times, default=0), *times)


def month_ranks(rows: Rows, scores: dict[int, float]) -> tuple[dict[int, int], dict[int, int]]:
    """Per row: its rank within its month's rows (1: highest score; ties by customer id), and
    the number of rows of that month."""
    months: dict[int, list[int]] = {}
    for i in scores:
        months.setdefault(rows.times[i], []).append(i)
    ranks: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for members in months.values():
        members.sort(key=lambda i: (-scores[i], rows.customers[i]))
        for rank, i in enumerate(members, start=1):
            ranks[i], sizes[i] = rank, len(members)
    return ranks, sizes


def in_top_share(rows: Rows, scores: dict[int, float], share: float,
                 absolute: int | None = None) -> list[bool]:
    """Per row: does it rank within the riskiest ``share`` of its month (rank / size), or
    within the first ``absolute`` ranks when given?"""
    ranks, sizes = month_ranks(rows, scores)
    top = [False] * len(rows.times)
    for i, rank in ranks.items():
        top[i] = rank <= (absolute if absolute is not None else share * sizes[i])
    return top
