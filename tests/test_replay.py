"""Replay of an audit log: every warning byte for byte with one and with two workers, a
prefix with ``--until``, and a tampered input that the report names."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from config.settings import Settings
from connectors.audit import AuditRecord
from connectors.simulator import simulate
from detectors.clock import parse_time
from flows.auditor_cli import replay_command
from flows.replay import REPORT, replay
from flows.run import AUDIT, MODEL_CHOICES, WARNINGS, read_jsonl, run_folder

SETTINGS = Settings()


def monitored(base: Path, customers: int, months: int, workers: int) -> Path:
    """Simulate a portfolio under ``base`` and monitor it; return the run's output folder."""
    simulate(customers=customers, months=months, seed=11, out=base / "feeds")
    run_folder(SETTINGS, base / "feeds", base / "out", scores=True, workers=workers,
               notify=False)
    return base / "out"


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return monitored(tmp_path_factory.mktemp("original"), 120, 12, workers=1)


def test_replay_reproduces_every_warning_byte_for_byte(original: Path, tmp_path: Path) -> None:
    out = tmp_path / "replay"
    report = replay(original / AUDIT, out, SETTINGS)
    assert report.ok, "\n".join(report.lines())
    warnings = read_jsonl(original / WARNINGS)
    assert any(w["kind"] == "early_warning" for w in warnings)
    assert (out / WARNINGS).read_bytes() == (original / WARNINGS).read_bytes()
    choices = (original / MODEL_CHOICES).read_bytes()  # and why each model scored
    assert choices and (out / MODEL_CHOICES).read_bytes() == choices
    assert report.choices_compared == len(choices.splitlines()) and not report.choices_differing
    assert report.identical == report.logged_warnings == len(warnings)
    assert not (report.missing or report.extra or report.changed)
    assert report.log_intact and report.logged_config_digests == [report.config_digest]
    assert json.loads((out / REPORT).read_text())["ok"] is True


def test_two_workers_log_and_replay_are_byte_identical(tmp_path: Path) -> None:
    original = monitored(tmp_path / "original", 60, 6, workers=2)
    report = replay(original / AUDIT, tmp_path / "replay", SETTINGS, workers=2)
    assert report.ok, "\n".join(report.lines())
    assert report.identical > 0
    assert (tmp_path / "replay" / WARNINGS).read_bytes() == (original / WARNINGS).read_bytes()


def test_until_replays_a_prefix_and_matches_the_prefix(original: Path, tmp_path: Path) -> None:
    until = datetime(2021, 7, 15, 12, tzinfo=UTC)
    result = CliRunner().invoke(
        replay_command, ["--log", str(original / AUDIT), "--until", "2021-07-15T12:00:00Z",
                         "--out", str(tmp_path / "replay")], obj={"settings": SETTINGS})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("IDENTICAL")
    lines = (original / WARNINGS).read_text().splitlines()
    prefix = [line for line in lines if parse_time(json.loads(line)["event_time"]) <= until]
    assert 0 < len(prefix) < len(lines)
    assert (tmp_path / "replay" / WARNINGS).read_text().splitlines() == prefix


def test_a_tampered_input_changes_the_replay_and_the_report_names_it(
    original: Path, tmp_path: Path
) -> None:
    warning = next(w for w in read_jsonl(original / WARNINGS)
                   if w["kind"] == "early_warning" and w["category"] == "news")
    removed = {f"news:{e}" for e in warning["evidence"]}
    log = tmp_path / "log"
    for segment in (original / AUDIT).glob("*/segment-*.jsonl"):
        (log / segment.parent.name).mkdir(parents=True, exist_ok=True)
        kept = [line for line in segment.read_bytes().split(b"\n")[:-1]
                if AuditRecord.from_line(line).id not in removed]
        (log / segment.parent.name / segment.name).write_bytes(
            b"".join(line + b"\n" for line in kept))

    report = replay(log, tmp_path / "replay", SETTINGS)
    assert not report.ok
    assert warning["warning_id"] in report.missing + report.changed
    named = [d for d in report.differences if d["warning_id"] == warning["warning_id"]]
    assert named or len(report.differences) == 10
    assert not report.log_intact and "deleted" in report.log_verdict
    result = CliRunner().invoke(replay_command, ["--log", str(log), "--out",
                                                 str(tmp_path / "again"), "--until",
                                                 warning["event_time"]],
                                obj={"settings": SETTINGS})
    assert result.exit_code == 1 and result.output.startswith("DIFFERENT"), result.output
    assert warning["warning_id"] in result.output


def test_a_models_file_that_the_log_does_not_produce_is_named_month_by_month(
        original: Path, tmp_path: Path) -> None:
    """The run's models.jsonl is not in the log: a choice edited, one cut off and one made
    up leave the warnings' verdict alone and are named by their month ends; a replay up to
    a time compares the month ends up to its last one; an unreadable file is not compared."""
    run = tmp_path / "run"
    shutil.copytree(original / AUDIT, run / AUDIT)
    lines = (original / MODEL_CHOICES).read_text().splitlines()
    assert len(lines) >= 3
    month_ends = [json.loads(line)["month_end"] for line in lines]
    edited = {**json.loads(lines[1]), "refit": not json.loads(lines[1])["refit"]}
    made_up = {**json.loads(lines[0]), "month_end": "2030-01-01T00:00:00Z"}
    (run / MODEL_CHOICES).write_text("\n".join(
        [lines[0], json.dumps(edited), *lines[2:-1], json.dumps(made_up)]) + "\n")
    report = replay(run / AUDIT, tmp_path / "replay", SETTINGS)
    assert report.ok  # the warnings, which the log holds, are reproduced
    assert report.choices_compared == len(lines) + 1
    assert report.choices_differing == [month_ends[1], month_ends[-1], made_up["month_end"]]
    assert (f"3 DIFFERENT ({month_ends[1]}, {month_ends[-1]}, {made_up['month_end']})"
            in "\n".join(report.lines()))

    until = parse_time(month_ends[1]) + timedelta(days=1)  # neither month end after reached
    report = replay(run / AUDIT, tmp_path / "prefix", SETTINGS, until=until)
    assert report.ok and report.choices_compared == 2
    assert report.choices_differing == [month_ends[1]]

    before_any = parse_time(month_ends[0]) - timedelta(days=40)
    report = replay(run / AUDIT, tmp_path / "replay", SETTINGS, until=before_any)
    assert report.choices_compared == 0  # the earlier replay's choices were cleared

    (run / MODEL_CHOICES).write_text(lines[0] + "\n{not json\n")
    report = replay(run / AUDIT, tmp_path / "unreadable", SETTINGS)
    assert report.ok and report.choices_compared is None
    assert "choices of model: not compared" in "\n".join(report.lines())
    assert any("the choices of model were not compared" in note for note in report.notes)
