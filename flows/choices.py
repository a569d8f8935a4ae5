"""The learner's choices of champion as a run records them in ``models.jsonl``, read back.

`evaluate` reads them for each run of month ends one model scored, and an auditor's
`explain` and `audit export` for the score or warning in front of them: which model scored
it, since when that model held the book, and the comparison that handed it over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detectors.clock import parse_time
from flows.jsonl import finite_number, read_jsonl

__all__ = ["DECIDERS", "MODEL_CHOICES", "MODEL_NAMES", "UNREADABLE", "behind", "describe",
           "handover", "in_force", "load_choices", "model_name", "timeline"]

MODEL_CHOICES = "models.jsonl"
"""The run's file of choices (`detectors.models.learner.ModelChoice`), one a line."""

MODEL_NAMES = {"prior": "Prior scorecard", "calibrated": "Prior scorecard, calibrated",
               "online": "Online logistic regression", "boosted": "Boosted trees"}
"""The learner's models by their name in ``models.jsonl`` and metrics.json, in words."""

DECIDERS = {"validation_window": "the latest validated labels",
            "since_refit": "the labels since the last refit"}
"""What can hand a model the book (``decided_by``), in words."""


def model_name(version: str) -> str:
    """The model a ``model_version`` names: the part before its digest (``boosted`` of
    ``boosted-90f69235be13607b``)."""
    return version.rpartition("-")[0] or version


UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)
"""What reading a damaged ``models.jsonl`` can raise, through `load_choices` and `in_force`."""


def load_choices(path: Path) -> dict[str, dict[str, Any]]:
    """The learner's choices of champion in a run's ``models.jsonl``, by month end (none
    where the run is too short for labels and wrote no file; a live run's line still being
    written is left out). A file that is not one choice per month end raises one of
    `UNREADABLE`."""
    choices: dict[str, dict[str, Any]] = {}
    for line in read_jsonl(path, growing=True):  # a damaged line is a ValueError
        parse_time(line["month_end"])  # text in RFC 3339, or a ValueError or TypeError
        if choices.setdefault(line["month_end"], line) != line:
            raise ValueError(f"{path}: two different choices at {line['month_end']}"[:300])
    return choices


def handover(choice: dict[str, Any] | None) -> dict[str, Any]:
    """``decided_by`` and ``compared`` (the deciding comparison's labels, positives and AUC
    per model) for the choice at a run's first month end; None for both where no choice
    changed the champion there, or none was recorded."""
    decided_by = choice["decided_by"] if choice else None
    if decided_by is None:
        return {"decided_by": None, "compared": None}
    evidence = choice[decided_by]
    return {"decided_by": decided_by,
            "compared": {key: evidence[key] for key in ("labels", "positives", "auc")}}


def in_force(choices: dict[str, dict[str, Any]], event_time: str) -> dict[str, Any]:
    """The choice behind a score or warning at ``event_time`` (RFC 3339): the champion
    chosen at the latest month end at or before it (``chosen_at``, ``refit``), the month end
    it took the book (``since``) and the comparison that handed it over (`handover`).

    Before the first choice the prior scorecard scores, from the start: ``chosen_at`` and
    ``since`` are None. A champion other than the prior whose takeover is not in
    ``choices`` also has ``since`` None (a file cut short, or not the run's own).
    """
    at = parse_time(event_time)
    made = _in_order({end: c for end, c in choices.items() if parse_time(end) <= at})
    if not made:
        return {"champion": "prior", "chosen_at": None, "refit": None, "since": None,
                **handover(None)}
    return made[-1]


def timeline(choices: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every champion's time with the book, in time order: `in_force` at the last choice
    of each run of choices that kept one champion since one takeover (none where nothing
    was chosen: the prior scorecard scored throughout)."""
    runs: list[dict[str, Any]] = []
    for current in _in_order(choices):
        if runs and (runs[-1]["champion"], runs[-1]["since"]) == (
                current["champion"], current["since"]):
            runs[-1] = current
        else:
            runs.append(current)
    return runs


def _in_order(choices: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """`in_force` at each month end of ``choices``, in time order, in one pass: the latest
    decided choice is the takeover of every later choice of the same champion."""
    out = []
    takeover: dict[str, Any] | None = None
    for _, choice in sorted(((parse_time(end), c) for end, c in choices.items()),
                            key=lambda timed: timed[0]):
        if choice["decided_by"] is not None:
            takeover = choice
        # every change of champion is decided: a takeover of another champion means the
        # file is not whole
        held = takeover if takeover is not None and (
            takeover["champion"] == choice["champion"]) else None
        out.append({"champion": choice["champion"], "chosen_at": choice["month_end"],
                    "refit": choice["refit"],
                    "since": None if held is None else held["month_end"], **handover(held)})
    return out


def behind(path: Path, scored: dict[str, Any]) -> dict[str, Any] | None:
    """Which model made a score or warning (a row with ``event_time`` and ``model_version``)
    and why it held the book then: `in_force` of the ``models.jsonl`` at ``path``, with the
    model in words and ``consistent``, whether the file's champion then is the model the
    row's ``model_version`` names (a file missing, cut short or of another run is not).
    None where the row names no model (a default's or a hard event's warning: no model
    made it) or the file cannot be read."""
    version = str(scored.get("model_version") or "")
    if not version:
        return None
    try:
        choice = in_force(load_choices(path), str(scored["event_time"]))
    except UNREADABLE:
        return None
    name = str(choice["champion"])
    return {"model_version": version, "model": MODEL_NAMES.get(name, name), **choice,
            "champion": name, "consistent": name == model_name(version)}


def describe(choice: dict[str, Any]) -> str:
    """`in_force`'s answer in the words of the workspace's table of champions: the model,
    since when it has held the book and what handed it over (with each model's AUC in
    that comparison), and when it was last kept."""
    name = str(choice["champion"])
    words = MODEL_NAMES.get(name, name)
    if choice["since"] is not None:
        words += (f", champion since {choice['since'][:10]}, handed the book by "
                  f"{DECIDERS.get(choice['decided_by'], choice['decided_by'])}")
    elif name == "prior":
        words += ", scores from the start"
    else:
        words += ", champion since: not recorded"
    compared = choice["compared"]
    if isinstance(compared, dict):
        aucs = compared.get("auc")
        aucs = " · ".join(f"{MODEL_NAMES.get(model, model)} {_figure(auc, '.3f')}"
                          for model, auc in (aucs.items() if isinstance(aucs, dict) else ()))
        words += (f" ({_figure(compared.get('labels'), ',.0f')} month-end rows, "
                  f"{_figure(compared.get('positives'), ',.0f')} followed by a default): "
                  f"{aucs or 'no AUC'}")
    if choice["chosen_at"] is not None and choice["chosen_at"] != choice["since"]:
        refit = "at a refit " if choice["refit"] else ""
        words += f"; last kept {refit}on {choice['chosen_at'][:10]}"
    return words


def _figure(value: Any, spec: str) -> str:
    """A number of the file in ``spec``, or "n/a" where it holds something else."""
    number = finite_number(value)
    return "n/a" if number is None else format(number, spec)
