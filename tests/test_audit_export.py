"""``audit export``: a warning with its evidence, lineage and place in the hash chain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from config.errors import ConfigError, ConnectorError
from config.settings import Settings
from connectors.simulator import simulate
from flows.audit_cli import audit
from flows.explain import export_warning
from flows.jsonl import json_document
from flows.run import AUDIT, WARNINGS, read_jsonl, run_folder

SETTINGS = Settings()


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("export")
    simulate(customers=40, months=6, seed=2, out=base / "feeds")
    run_folder(SETTINGS, base / "feeds", base / "out", notify=False)
    return base / "out"


def test_export_holds_the_warning_its_evidence_lineage_and_chain(original: Path) -> None:
    warning = read_jsonl(original / WARNINGS)[-1]
    doc = export_warning(original / AUDIT, warning["warning_id"], None, Settings())
    assert doc["warning"] == warning
    assert doc["lineage"] == {k: warning[k] for k in
                              ("model_version", "config_digest", "program_version")}
    assert [e["event_id"] for e in doc["evidence"]] == warning["evidence"]
    for event in doc["evidence"]:
        assert event["found"] and event["event_id"] in event["raw"]
        assert set(event["origin"]) == {"file", "line"}
        assert event["event_time"] <= warning["event_time"]
    record, anchor = doc["record"], doc["anchor"]
    assert record["id"] == warning["warning_id"] and len(record["hash"]) == 64
    assert anchor["seq"] > record["seq"] and anchor["records_between"] >= 0
    assert doc["verification"]["ok"] is True


def test_export_command_and_a_tampered_log(original: Path, tmp_path: Path) -> None:
    warning = read_jsonl(original / WARNINGS)[0]
    result = CliRunner().invoke(audit, ["export", warning["warning_id"], "--log",
                                        str(original / AUDIT)], obj={"settings": SETTINGS})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["warning"]["warning_id"] == warning["warning_id"]

    log = tmp_path / "log"
    shutil.copytree(original / AUDIT, log)
    segment = next(log.glob("ids-*/segment-*.jsonl"))
    text = segment.read_text(encoding="utf-8")  # back-date the first input by a year
    segment.write_text(text.replace('"event_time":"2021-', '"event_time":"2020-', 1),
                       encoding="utf-8")
    doc = export_warning(log, warning["warning_id"], None, Settings())
    assert doc["verification"]["ok"] is False and "edited" in doc["verification"]["verdict"]

    missing = CliRunner().invoke(audit, ["export", "w-nope", "--log", str(original / AUDIT)],
                                 obj={"settings": SETTINGS})
    assert missing.exit_code != 0 and "no warning w-nope" in missing.output



def test_a_record_holding_nan_is_refused_by_the_reader(original: Path, tmp_path: Path) -> None:
    """A damaged log can hold NaN (Python's JSON reader takes it), which JSON cannot carry."""
    warning = read_jsonl(original / WARNINGS)[0]
    log = tmp_path / "log"
    shutil.copytree(original / AUDIT, log)
    segment = sorted((log / "warnings").glob("segment-*.jsonl"))[0]
    text = segment.read_text(encoding="utf-8")
    assert f'"pd":{warning["pd"]}' in text
    segment.write_text(text.replace(f'"pd":{warning["pd"]}', '"pd":NaN', 1), encoding="utf-8")
    with pytest.raises(ConnectorError, match="audit record is not plain JSON"):
        export_warning(log, warning["warning_id"], None, Settings())


def test_a_document_holding_nan_is_refused_rather_than_printed() -> None:
    """What `audit export` and `explain --json` print: models.jsonl beside a log is not in
    it, and a damaged one can hold NaN."""
    assert json.loads(json_document({"auc": {"online": 0.75}})) == {"auc": {"online": 0.75}}
    for value in (float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="not finite"):
            json_document({"auc": {"online": [1.0, value]}})


def test_an_evidence_events_repeat_logged_after_it_is_not_given_as_its_evidence(
        original: Path, tmp_path: Path) -> None:
    """Every record read is logged, repeats too: the latest logged record with the id was
    given, a rejected duplicate_id (other content) where the applied record was cited."""
    feeds = original.parent / "feeds"
    warning = next(w for w in read_jsonl(original / WARNINGS) if w["evidence"])
    cited = warning["evidence"][0]
    copy = tmp_path / "feeds"
    shutil.copytree(feeds, copy)
    for path in sorted(copy.glob("*.jsonl")):
        lines = path.read_text().splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines)
                   if json.loads(line).get("event_id") == cited), None)
        if at is not None:
            repeat = {**json.loads(lines[at]), "amount": "1.00", "headline": "A REPEAT"}
            lines.insert(at + 1, json.dumps(repeat) + "\n")
            path.write_text("".join(lines))
            genuine = lines[at].rstrip("\n")
            break
    run_folder(SETTINGS, copy, tmp_path / "out", notify=False)
    dead = read_jsonl(tmp_path / "out" / "deadletter.jsonl")
    assert [(d["event_id"], d["reason"]) for d in dead] == [(cited, "duplicate_id")]

    doc = export_warning(tmp_path / "out" / AUDIT, warning["warning_id"], None, SETTINGS)
    assert doc["evidence"][0]["raw"] == genuine
