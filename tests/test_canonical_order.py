"""The canonical order of JSON Lines outputs, sorted in memory or in spilled chunks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pydantic import BaseModel

from connectors.sinks import json_line
from flows import run


def _rows() -> list[dict[str, object]]:
    rng = random.Random(5)
    rows: list[dict[str, object]] = [
        {"event_time": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
         "customer_id": rng.choice(["C1", "C2", "C\u20283", None]),
         "pd": rng.random(), "note": rng.choice(["a\u2028b", "ü", "\"q\""])}
        for _ in range(57)]
    rows += [  # score rows, whose key is read from the start of the line
        {"customer_id": rng.choice(["C1", 'C"\\2', "C\u20283", "", None]),
         "event_time": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", "pd": rng.random()}
        for _ in range(40)]
    rows.append({"input": "payments", "records": 3})  # a stats row: neither key
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    """The rows in shuffled order, as a run's sinks write them."""
    shuffled = rows[:]
    random.Random(9).shuffle(shuffled)
    path.write_text("".join(json_line(r) + "\n" for r in shuffled), encoding="utf-8")


@pytest.mark.parametrize("chunk", [1, 400, 1_000_000])  # characters
def test_any_chunk_size_writes_the_order_of_time_customer_and_line(
        chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows()
    path = tmp_path / "scores.jsonl"
    _write(path, rows)
    monkeypatch.setattr(run, "SORT_CHUNK", chunk)
    run.canonicalize(path)
    got = path.read_text(encoding="utf-8").split("\n")
    assert got.pop() == ""
    lines = [json_line(r) for r in rows]
    expected = sorted(lines, key=lambda line: (str(json.loads(line).get("event_time", "")),
                                               str(json.loads(line).get("customer_id") or ""),
                                               line))
    assert got == expected
    assert [p.name for p in tmp_path.iterdir()] == ["scores.jsonl"]  # no spill left behind


def test_a_models_line_is_spelled_like_a_dicts() -> None:
    """A pydantic model (a warning, a dead letter) is written in the form of every other
    line, since the sort keeps lines as written: Python's spelling of numbers, no spaces,
    text unescaped; an infinite float, which JSON lacks, is null."""
    class Row(BaseModel):
        customer_id: str
        pd: float
        tiny: float
        note: str

    row = Row(customer_id="C\u20281", pd=float("inf"), tiny=1e-05, note='ü"')
    assert json_line(row) == '{"customer_id":"C\u20281","pd":null,"tiny":1e-05,"note":"ü\\""}'
