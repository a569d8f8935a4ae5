"""The index an explanation reads its lines through (`flows.explain_index`): the same
explanation as reading the log and the scores whole, following the files as they grow or
change, and stepping aside where a file holds a line it cannot vouch for."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from detectors.clock import parse_time, to_rfc3339
from flows.explain import READ_FOR_EVERY_CUSTOMER, explain
from flows.explain_index import LogIndex
from flows.run import AUDIT, SCORES, WARNINGS, read_jsonl

SETTINGS = Settings()


def copied(run: Path, to: Path) -> Path:
    shutil.copytree(run, to / "out")
    return to / "out"


def read_whole(customer_id: str, as_of: datetime, out: Path,
               monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The explanation with the index out of the way: the log and scores read whole."""
    with monkeypatch.context() as patched:
        patched.setattr(LogIndex, "find", lambda *args: None)
        return explain(customer_id, as_of, out / AUDIT, SETTINGS)


def indexed(customer_id: str, as_of: datetime, out: Path) -> dict[str, Any]:
    index = LogIndex(out / AUDIT, out / SCORES)
    assert index.find(customer_id, as_of, READ_FOR_EVERY_CUSTOMER) is not None, \
        "the index answers"
    return explain(customer_id, as_of, out / AUDIT, SETTINGS)


def test_an_indexed_explanation_is_the_one_read_from_the_files(
        original: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warned = list(dict.fromkeys(w["customer_id"] for w in read_jsonl(original / WARNINGS)))
    in_news = [r["customer_id"] for r in read_jsonl(original / "news_readings.jsonl")
               if r.get("customer_id")]
    assert warned and in_news
    start = parse_time("2021-01-01")
    for customer_id in dict.fromkeys([*warned[:3], *in_news[:3], "C000001", "NOBODY"]):
        for days in (40, 200, 365):
            as_of = start + timedelta(days=days)
            doc = indexed(customer_id, as_of, original)
            assert doc == read_whole(customer_id, as_of, original, monkeypatch), (customer_id, days)
            if doc.get("snapshot") is not None and doc.get("score") is not None:
                assert doc["score_consistent"] is True, (customer_id, days)
    assert (original / ".audit-explain.sqlite").is_file()


def test_the_index_follows_a_growing_scores_file_and_steps_aside_for_a_damaged_line(
        original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = copied(original, tmp_path)
    rows = [r for r in read_jsonl(out / SCORES) if not r.get("defaulted")]
    last = rows[-1]
    customer_id, at = last["customer_id"], parse_time(last["event_time"])
    assert indexed(customer_id, at, out)["score"] == last
    later = {**last, "event_time": to_rfc3339(int((at + timedelta(days=3)).timestamp())),
             "pd": 0.123}
    with (out / SCORES).open("a", encoding="utf-8") as scores:
        scores.write(json.dumps(later, separators=(",", ":")) + "\n")
        scores.write('{"customer_id":"' + customer_id + '","event_t')  # still being written
    doc = indexed(customer_id, at + timedelta(days=5), out)
    assert doc["score"] == later
    assert doc == read_whole(customer_id, at + timedelta(days=5), out, monkeypatch)
    with (out / SCORES).open("a", encoding="utf-8") as scores:
        scores.write('ime": not JSON}\n')
    index = LogIndex(out / AUDIT, out / SCORES)
    assert index.find(customer_id, at, READ_FOR_EVERY_CUSTOMER) is None
    doc = explain(customer_id, at, out / AUDIT, SETTINGS)
    assert doc["score"] is None and any("cannot be read" in n for n in doc["notes"])


def test_a_file_rewritten_is_indexed_again(
        original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = copied(original, tmp_path)
    rows = (out / SCORES).read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(rows[0])
    customer_id, at = first["customer_id"], parse_time("2022-12-31")
    before = indexed(customer_id, at, out)
    half = out / "half.jsonl"
    half.write_text("".join(rows[: len(rows) // 2]), encoding="utf-8")
    half.replace(out / SCORES)  # a new file where the indexed one was
    after = indexed(customer_id, at, out)
    assert after == read_whole(customer_id, at, out, monkeypatch)
    assert after["score"] != before["score"]


def test_a_file_rewritten_in_place_is_not_read_through_a_stale_index(
        original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two lines of equal length swapped where they lie, and a line appended: the same file,
    # grown, whose indexed lines moved (a sink resumed from a snapshot rewrites in place).
    out = copied(original, tmp_path)
    data = (out / SCORES).read_bytes()
    lines = data.split(b"\n")[:-1]
    rows = [json.loads(line) for line in lines]
    i, j = next((i, j) for i in range(len(lines)) for j in range(i + 1, len(lines))
                if len(lines[i]) == len(lines[j]) and rows[i]["customer_id"]
                != rows[j]["customer_id"] and not rows[i].get("defaulted")
                and rows[i]["event_time"] == rows[j]["event_time"])
    customer_id, at = rows[i]["customer_id"], parse_time(rows[i]["event_time"])
    assert indexed(customer_id, at, out)["score"]["customer_id"] == customer_id
    lines[i], lines[j] = lines[j], lines[i]
    with (out / SCORES).open("r+b") as scores:
        scores.write(b"\n".join(lines) + b"\n" + lines[0] + b"\n")
    doc = explain(customer_id, at, out / AUDIT, SETTINGS)
    assert doc == read_whole(customer_id, at, out, monkeypatch)
    assert doc["score"] is None or doc["score"]["customer_id"] == customer_id


def test_a_line_the_full_reading_refuses_is_refused_through_the_index_too(
        original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = copied(original, tmp_path)
    (out / SCORES).write_bytes(b"\xef\xbb\xbf" + (out / SCORES).read_bytes())  # a BOM
    first = read_jsonl(original / SCORES)[0]
    customer_id, at = first["customer_id"], parse_time(first["event_time"])
    doc = explain(customer_id, at, out / AUDIT, SETTINGS)
    assert doc == read_whole(customer_id, at, out, monkeypatch)
    assert doc["score"] is None and any("cannot be read" in n for n in doc["notes"])


def test_no_index_is_left_beside_what_is_no_log(original: Path, tmp_path: Path) -> None:
    out = copied(original, tmp_path)
    with pytest.raises(Exception, match="output folder"):
        explain("C000001", parse_time("2021-06-01"), out, SETTINGS)
    assert not (tmp_path / ".out-explain.sqlite").exists()
