"""Reading the learner's choices back (`flows.choices`): which model scored at a given time,
since when it held the book and what handed it over, on files written here line by line
as the learner writes them, and on files that are cut short, of another run or damaged.
The same reading on a real run is tested in tests/test_metrics.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.choices import behind, describe, in_force, load_choices, timeline


def _window(labels: int, positives: int, **auc: float) -> dict:
    return {"labels": labels, "positives": positives, "auc": auc,
            "log_loss": dict.fromkeys(auc, 0.2)}


def _line(month_end: str, champion: str, previous: str, *, refit: bool = False,
          decided_by: str | None = None, window: dict | None = None) -> dict:
    return {"month_end": f"{month_end}T00:00:00Z", "model_version": f"{champion}-{month_end}",
            "champion": champion, "previous": previous, "refit": refit,
            "decided_by": decided_by, "validation_window": window or _window(0, 0),
            "since_refit": None}


HANDOVER = _window(2227, 107, prior=0.792, calibrated=0.728, online=0.729)
LINES = [
    _line("2021-06-01", "prior", "prior", refit=True),
    _line("2021-07-01", "prior", "prior"),
    _line("2022-06-01", "online", "prior", decided_by="validation_window", window=HANDOVER),
    _line("2022-09-01", "online", "online", refit=True, window=_window(3000, 150, online=0.8)),
]
CHOICES = {line["month_end"]: line for line in LINES}


def test_before_any_choice_the_prior_scores_from_the_start() -> None:
    assert in_force(CHOICES, "2021-05-31T23:59:59Z") == {
        "champion": "prior", "chosen_at": None, "refit": None, "since": None,
        "decided_by": None, "compared": None}
    assert in_force({}, "2030-01-01T00:00:00Z")["champion"] == "prior"


def test_a_choice_counts_from_its_own_month_end() -> None:
    """A month end's scores are made by the model chosen at that month end."""
    assert in_force(CHOICES, "2022-05-31T23:59:59Z")["champion"] == "prior"
    kept = in_force(CHOICES, "2021-07-01T00:00:00Z")
    assert (kept["champion"], kept["chosen_at"], kept["since"]) == (
        "prior", "2021-07-01T00:00:00Z", None)
    taken = in_force(CHOICES, "2022-06-01T00:00:00Z")
    assert (taken["champion"], taken["since"], taken["decided_by"]) == (
        "online", "2022-06-01T00:00:00Z", "validation_window")
    assert taken["compared"] == {"labels": 2227, "positives": 107, "auc": HANDOVER["auc"]}


def test_a_later_refit_keeps_the_comparison_that_handed_the_book_over() -> None:
    """A refit that keeps the champion is its latest choice, not what handed it the book."""
    later = in_force(CHOICES, "2023-01-15T00:00:00Z")
    assert (later["chosen_at"], later["refit"], later["since"]) == (
        "2022-09-01T00:00:00Z", True, "2022-06-01T00:00:00Z")
    assert later["compared"]["labels"] == 2227
    assert describe(later) == (
        "Online logistic regression, champion since 2022-06-01, handed the book by the latest "
        "validated labels (2,227 month-end rows, 107 followed by a default): Prior scorecard "
        "0.792 · Prior scorecard, calibrated 0.728 · Online logistic regression 0.729; "
        "last kept at a refit on 2022-09-01")
    assert describe(in_force(CHOICES, "2021-08-01T00:00:00Z")) == (
        "Prior scorecard, scores from the start; last kept on 2021-07-01")


def test_a_change_of_champion_without_its_decision_is_not_read_as_one() -> None:
    """Every change of champion records what decided it: a file where one does not, or
    where the takeover is cut off, gives no 'since'."""
    undecided = {**CHOICES, "2022-12-01T00:00:00Z": _line("2022-12-01", "boosted", "online")}
    seen = in_force(undecided, "2023-01-01T00:00:00Z")
    assert (seen["champion"], seen["since"], seen["compared"]) == ("boosted", None, None)
    assert describe(seen).startswith("Boosted trees, champion since: not recorded")
    cut = {line["month_end"]: line for line in LINES[3:]}
    assert in_force(cut, "2023-01-01T00:00:00Z")["since"] is None


def _file(tmp_path: Path, lines: list[dict], tail: str = "") -> Path:
    path = tmp_path / "models.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + tail, encoding="utf-8")
    return path


def test_a_score_is_checked_against_the_model_the_file_names(tmp_path: Path) -> None:
    path = _file(tmp_path, LINES)
    assert load_choices(path) == CHOICES
    online = {"event_time": "2022-07-01T00:00:00Z", "model_version": "online-78863304ca430692"}
    found = behind(path, online)
    assert found["consistent"] and found["model"] == "Online logistic regression"
    assert found["model_version"] == "online-78863304ca430692"
    assert not behind(path, {**online, "model_version": "boosted-90f69235be13607b"})["consistent"]
    missing = tmp_path / "none" / "models.jsonl"  # a run too short for labels writes none
    assert behind(missing, {**online, "model_version": "prior-3a3ac60774e33bb9"})["consistent"]
    assert not behind(missing, online)["consistent"]


def test_a_damaged_file_reads_as_unknown_and_hostile_figures_as_none(tmp_path: Path) -> None:
    scored = {"event_time": "2022-07-01T00:00:00Z", "model_version": "online-1"}
    assert behind(_file(tmp_path, LINES, "{not json\n"), scored) is None
    assert behind(_file(tmp_path, [{"month_end": "yesterday"}]), scored) is None
    assert behind(_file(tmp_path, [{**LINES[2], "decided_by": "nobody"}]), scored) is None
    odd = {**LINES[2], "champion": ["online"],
           "validation_window": {"labels": "many", "positives": None,
                                 "auc": {"<b>x": float("nan"), "online": True}}}
    found = behind(_file(tmp_path, [odd]), scored)
    assert found is not None and not found["consistent"]
    assert describe(found) == (
        "['online'], champion since 2022-06-01, handed the book by the latest validated "
        "labels (n/a month-end rows, n/a followed by a default): <b>x n/a · "
        "Online logistic regression n/a")


def test_the_workspace_shows_a_choice_escaped_and_flags_one_of_another_run() -> None:
    """The explanation's line about the model, rendered by the workspace's own templates:
    a hostile name from a damaged file is escaped, and a file that does not name the model
    that scored says so."""
    from web.app import templates

    choice = {**in_force(CHOICES, "2022-07-01T00:00:00Z"), "champion": "<script>x",
              "consistent": False}
    doc = {"as_of": "2022-07-01T00:00:00Z", "known": False, "notes": [],
           "model_choice": choice, "score": None}
    page = templates().get_template("_explain.html").render(doc=doc, evidence=[])
    line = page.split('<p class="model-choice">')[1].split("</p>")[0]
    assert line.startswith("Scored by &lt;script&gt;x, champion since 2022-06-01")
    assert line.endswith("— the run's record of its models does not name the model "
                         "that scored.")


def test_the_timeline_has_one_entry_per_champion_and_takeover(tmp_path: Path) -> None:
    """Each champion's time with the book, from its takeover to its last choice; a
    champion that took the book twice has two entries."""
    back = _line("2023-03-01", "online", "boosted", decided_by="validation_window",
                 window=_window(4000, 300, online=0.81, boosted=0.79))
    trees = _line("2022-12-01", "boosted", "online", refit=True, decided_by="since_refit")
    trees["since_refit"] = _window(5000, 400, online=0.78, boosted=0.8)
    choices = {line["month_end"]: line for line in [*LINES, trees, back]}
    assert [(c["champion"], c["since"], c["chosen_at"], c["refit"], c["decided_by"])
            for c in timeline(choices)] == [
        ("prior", None, "2021-07-01T00:00:00Z", False, None),
        ("online", "2022-06-01T00:00:00Z", "2022-09-01T00:00:00Z", True, "validation_window"),
        ("boosted", "2022-12-01T00:00:00Z", "2022-12-01T00:00:00Z", True, "since_refit"),
        ("online", "2023-03-01T00:00:00Z", "2023-03-01T00:00:00Z", False, "validation_window")]
    assert [c["compared"]["labels"] for c in timeline(choices)[1:]] == [2227, 5000, 4000]
    assert timeline({}) == []


def _models(log: Path, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from flows.audit_cli import audit

    shown = CliRunner().invoke(audit, ["models", "--log", str(log), *args])
    return shown.exit_code, shown.output


def test_audit_models_lists_the_champions_and_names_a_file_it_cannot_read(
        tmp_path: Path) -> None:
    log = tmp_path / "audit"
    log.mkdir()
    code, output = _models(log)
    assert code == 0 and "a run too short for any label writes none" in output
    _file(tmp_path, LINES)
    code, output = _models(log)
    assert code == 0 and output.splitlines()[1:] == [
        "  Prior scorecard, scores from the start; last kept on 2021-07-01",
        "  Online logistic regression, champion since 2022-06-01, handed the book by the "
        "latest validated labels (2,227 month-end rows, 107 followed by a default): Prior "
        "scorecard 0.792 · Prior scorecard, calibrated 0.728 · Online logistic regression "
        "0.729; last kept at a refit on 2022-09-01"]
    code, output = _models(log, "--json")
    assert code == 0 and [c["since"] for c in json.loads(output)] == [
        None, "2022-06-01T00:00:00Z"]
    _file(tmp_path, [*LINES, LINES[1]])  # a line written twice is the same choice
    assert _models(log)[0] == 0
    huge = {**LINES[2], "validation_window": {**HANDOVER, "labels": 10**400,
                                              "auc": {"online": 10**400}}}
    _file(tmp_path, [*LINES[:2], huge])
    code, output = _models(log)
    assert code == 0 and "(n/a month-end rows, 107 followed by a default): " \
        "Online logistic regression n/a" in output
    nan = {**LINES[2], "validation_window": {**HANDOVER, "auc": {"online": float("nan")}}}
    _file(tmp_path, [nan])
    code, output = _models(log)  # in words a NaN reads n/a; strict JSON refuses it below
    assert code == 0 and "Online logistic regression n/a" in output
    for damaged, args in (([*LINES, {**LINES[1], "refit": True}], ()),  # two for one month
                          ([{**LINES[0], "month_end": 5}], ()),
                          ([nan], ("--json",))):
        _file(tmp_path, damaged)
        code, output = _models(log, *args)
        assert code == 1 and "models.jsonl cannot be read" in output
    for tail in ("{not json\n", "[" * 100_000 + "\n"):
        _file(tmp_path, LINES, tail)
        code, output = _models(log)
        assert code == 1 and "models.jsonl cannot be read" in output
        assert behind(tmp_path / "models.jsonl", {"event_time": "2022-07-01T00:00:00Z",
                                                  "model_version": "online-1"}) is None


def test_a_warning_no_model_made_has_no_choice_behind_it(tmp_path: Path) -> None:
    """A default's or a hard event's warning carries no ``model_version``: no model made
    it, so no choice is read for it (rather than one flagged as of another run)."""
    path = _file(tmp_path, LINES)
    assert behind(path, {"event_time": "2022-07-01T00:00:00Z", "model_version": ""}) is None
    assert behind(path, {"event_time": "2022-07-01T00:00:00Z"}) is None


def test_a_line_a_live_run_is_still_writing_is_left_out(tmp_path: Path) -> None:
    """The workspace reads a live run's files while the run appends to them: a last line
    without its newline is still being written, so the choices read are those before it;
    a finished file read as such still refuses it."""
    from flows.jsonl import read_jsonl

    half = json.dumps(LINES[3])[:40]
    path = _file(tmp_path, LINES[:3], half)
    assert load_choices(path) == {line["month_end"]: line for line in LINES[:3]}
    with pytest.raises(ValueError):
        read_jsonl(path)
    assert read_jsonl(path, growing=True) == LINES[:3]
