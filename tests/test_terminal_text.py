"""Feed text printed on a terminal is escaped: a customer's name with an escape sequence, a
line break or a bidi override neither drives the terminal nor forges a line of the run's
watchlist table or of `explain`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flows.cli import cli

HOSTILE = "Evil\x1b[31mRED\n  grade A  pd 0.01%\u202eevil\u2028end\r\x07"
FORGED = "  grade A  pd 0.01%"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--log-level", "error", *args], env={})


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small book whose riskiest customer at the end bears the hostile name, run with
    scores; the folder and that customer's id."""
    root = tmp_path_factory.mktemp("hostile")
    feeds, first = root / "feeds", root / "first"
    assert invoke("simulate", "--customers", "40", "--months", "10", "--seed", "7",
                  "--out", str(feeds)).exit_code == 0
    assert invoke("run", "--feeds", str(feeds), "--out", str(first), "--top", "0",
                  "--no-deliver").exit_code == 0
    top = json.loads((first / "watchlist.jsonl").read_text().splitlines()[0])["customer_id"]
    rows = [json.loads(line) for line in (feeds / "customers.jsonl").read_text().splitlines()]
    for row in rows:
        if row["customer_id"] == top:
            row["name"] = HOSTILE
    (feeds / "customers.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return root, top


def _safe(text: str) -> None:
    for raw in ("\x1b", "\u202e", "\u2028", "\r", "\x07"):
        assert raw not in text, repr(raw)
    assert not any(line.startswith(FORGED) for line in text.split("\n"))


def test_the_runs_watchlist_table_escapes_a_name(book: tuple[Path, str]) -> None:
    root, top = book
    result = invoke("run", "--feeds", str(root / "feeds"), "--out", str(root / "out"),
                    "--scores", "--top", "40", "--no-deliver")
    assert result.exit_code == 0, result.output
    _safe(result.output)
    row = next(line for line in result.output.split("\n") if top in line)
    assert "Evil\\x1b[31mRED\\x0a" in row


def test_explain_escapes_a_name_within_its_line(book: tuple[Path, str]) -> None:
    root, top = book
    result = invoke("explain", top, "--as-of", "2021-10-31", "--log",
                    str(root / "out" / "audit"))
    assert result.exit_code == 0, result.output
    _safe(result.output)
    assert "  Evil\\x1b[31mRED\\x0a  grade A" in result.output
