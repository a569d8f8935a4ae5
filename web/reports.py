"""Reports other commands leave next to a run: the evaluation's metrics (trade-off and
calibration), the backtest's summary and replay comparisons. The workspace only reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS = "metrics.json"
BACKTEST = "backtest.json"
REPLAY_REPORT = "replay-report.json"


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def evaluation(out: Path) -> dict[str, Any]:
    """``metrics.json`` of ``creditradar evaluate`` (in the run's folder or the report folder
    above it) and ``backtest.json``: the trade-off rows, the calibration table and the
    backtest's counts, each None when absent."""
    metrics = _load(out / METRICS) or _load(out.parent / METRICS) or {}
    calibration = None
    for value in metrics.values():
        if isinstance(value, dict) and isinstance(value.get("calibration"), list):
            calibration = value["calibration"]
            break
    return {"tradeoff": metrics.get("budget_tradeoff") or None, "calibration": calibration,
            "backtest": _load(out / BACKTEST)}


def replay_reports(out: Path) -> list[dict[str, Any]]:
    """Every ``replay-report.json`` in the run's folder or one level below it."""
    found = []
    for path in sorted([out / REPLAY_REPORT, *out.glob(f"*/{REPLAY_REPORT}")]):
        report = _load(path)
        if isinstance(report, dict):
            found.append({"where": str(path.relative_to(out)), "report": report})
    return found
