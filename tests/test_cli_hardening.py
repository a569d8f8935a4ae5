"""The command line on damaged or unusual input: a damaged line of a run's outputs, a line
separator inside a JSON string, a path or port the operating system refuses, a bad channel
URL, an --as-of out of range, bad corrections and outcomes, an empty evaluation set, a
folder that is no run's output. Each is one line and exit status 1 (or a usage error), not
a traceback; no secret is shown."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from config.errors import ConfigError
from config.settings import Settings
from flows.cli import Commands, cli
from flows.run import read_jsonl

LS = "\u2028"
"""LINE SEPARATOR: valid inside a JSON string, and written raw in a run's outputs."""


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--log-level", "error", *args], env=env or {})


def one_line_error(result: Result) -> str:
    """The error of a command that failed on purpose: exit 1, one line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated book whose customer names and headlines end in U+2028, run with
    scores: ``feeds/`` and ``out/``."""
    root = tmp_path_factory.mktemp("book")
    feeds, out = root / "feeds", root / "out"
    assert invoke("simulate", "--customers", "120", "--months", "14", "--seed", "3",
                  "--out", str(feeds)).exit_code == 0
    for name, field in (("customers.jsonl", "name"), ("news.jsonl", "headline")):
        rows = [json.loads(line) for line in (feeds / name).read_bytes().split(b"\n") if line]
        for row in rows:
            row[field] += LS
        (feeds / name).write_text("".join(json.dumps(row, ensure_ascii=False,
                                                     separators=(",", ":")) + "\n"
                                          for row in rows), encoding="utf-8")
    result = invoke("run", "--feeds", str(feeds), "--out", str(out), "--scores", "--top", "0")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def afile(tmp_path: Path) -> Path:
    """A file where a folder is expected."""
    path = tmp_path / "afile"
    path.write_text("not a folder\n")
    return path


def _damaged_copy(out: Path, to: Path, name: str) -> Path:
    """A copy of the run folder ``out`` whose file ``name`` has its first line cut in half."""
    shutil.copytree(out, to)
    lines = (to / name).read_bytes().split(b"\n")
    lines[0] = lines[0][:len(lines[0]) // 2]
    (to / name).write_bytes(b"\n".join(lines))
    return to / name


DESK_READS = [
    ("watchlist.jsonl", ["check", "C000034", "--amount", "100"]),
    ("warnings.jsonl", ["check", "C000034", "--amount", "100"]),
    ("watchlist.jsonl", ["limits"]),
    ("watchlist.jsonl", ["collections"]),
    ("overdue.jsonl", ["collections"]),
    ("watchlist.jsonl", ["backtest", "--outcomes", "OUTCOMES"]),
    ("warnings.jsonl", ["backtest", "--outcomes", "OUTCOMES"]),
]
"""A run's output file and a desk's command that reads it."""


def _desk_command(book: Path, command: list[str], out: Path) -> Result:
    args = [str(book / "feeds" / "outcomes.jsonl") if a == "OUTCOMES" else a for a in command]
    return invoke(*args, "--out", str(out))


@pytest.mark.parametrize(("name", "command"), DESK_READS)
def test_a_damaged_line_of_a_run_is_one_line_naming_the_file_and_line(
        book: Path, tmp_path: Path, name: str, command: list[str]) -> None:
    damaged = _damaged_copy(book / "out", tmp_path / "out", name)
    line = one_line_error(_desk_command(book, command, tmp_path / "out"))
    assert line.startswith(f"Error: {damaged}, line 1: not JSON (JSONDecodeError")


def _reshaped_copy(out: Path, to: Path, name: str, change: Callable[[dict], None]) -> Path:
    """A copy of the run folder ``out`` whose file ``name`` has its second row changed (still
    a JSON object on one line)."""
    shutil.copytree(out, to)
    rows = [json.loads(line) for line in (to / name).read_bytes().split(b"\n") if line]
    change(rows[1])
    (to / name).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return to / name


@pytest.mark.parametrize(("name", "command"), DESK_READS)
def test_a_row_lacking_its_fields_is_one_line_naming_the_file_and_line(
        book: Path, tmp_path: Path, name: str, command: list[str]) -> None:
    def strip(row: dict) -> None:
        row.clear()
        row["note"] = "edited"

    damaged = _reshaped_copy(book / "out", tmp_path / "out", name, strip)
    first_read = "kind" if (name, command[0]) == ("warnings.jsonl", "backtest") else "customer_id"
    line = one_line_error(_desk_command(book, command, tmp_path / "out"))
    assert line == (f"Error: {damaged}, line 2: a field missing or of another kind "
                    f"(KeyError: '{first_read}')")


@pytest.mark.parametrize(("field", "command"), [
    ("customer_exposure", ["limits"]),
    ("customer_insured_limit", ["collections"]),
    ("credit_limit", ["check", "CUSTOMER", "--amount", "100"]),
    ("grade", ["check", "CUSTOMER", "--amount", "100"]),
])
def test_a_field_of_another_kind_is_one_line_naming_the_file_and_line(
        book: Path, tmp_path: Path, field: str, command: list[str]) -> None:
    """Found on the row that holds it, though the command uses it later (the collections'
    worklist reads it with the overdue invoices, check after the file)."""
    customer = ""

    def reword(row: dict) -> None:
        nonlocal customer
        customer = row["customer_id"]
        row["fx_rate"], row[field] = 1.0, "a lot"

    damaged = _reshaped_copy(book / "out", tmp_path / "out", "watchlist.jsonl", reword)
    args = [customer if arg == "CUSTOMER" else arg for arg in command]
    line = one_line_error(invoke(*args, "--out", str(tmp_path / "out")))
    assert line.startswith(f"Error: {damaged}, line 2: a field missing or of another kind ("), \
        line
    assert "'a lot'" in line


@pytest.mark.parametrize(("field", "value", "command"), [
    ("pd", float("nan"), ["limits"]),
    ("pd", float("nan"), ["collections"]),
    ("pd", float("nan"), ["check", "CUSTOMER", "--amount", "100"]),
    ("pd", 5, ["limits"]),
    ("pd", 5, ["collections"]),
    ("fx_rate", -1.0, ["limits"]),
    ("fx_rate", float("inf"), ["collections"]),
    ("customer_exposure", 1e999, ["limits"]),
])
def test_a_number_no_run_writes_is_one_line_naming_the_file_and_line(
        book: Path, tmp_path: Path, field: str, value: float, command: list[str]) -> None:
    """Python's JSON reader takes NaN and Infinity: a watchlist holding them ranked the
    invoices of an unknown loss first, doubled a limit, and wrote NaN into the derived
    files; a PD of 5 or a negative rate gave advice as well."""
    customer = ""

    def reword(row: dict) -> None:
        nonlocal customer
        customer = row["customer_id"]
        row["fx_rate"], row[field] = 1.0, value
        if field == "pd":
            row["pd_term"] = [{"months": 3, "pd": value}]

    damaged = _reshaped_copy(book / "out", tmp_path / "out", "watchlist.jsonl", reword)
    args = [customer if arg == "CUSTOMER" else arg for arg in command]
    line = one_line_error(invoke(*args, "--out", str(tmp_path / "out")))
    assert line.startswith(f"Error: {damaged}, line 2: "), line
    assert not any((tmp_path / "out" / name).exists()
                   for name in ("limits.jsonl", "collections.jsonl"))


@pytest.mark.parametrize("literal", ["1e999", "9" * 401])
@pytest.mark.parametrize("command", [["limits"], ["collections"]])
def test_a_number_beyond_a_float_is_one_line_naming_the_file_and_line(
        book: Path, tmp_path: Path, literal: str, command: list[str]) -> None:
    """1e999 reads as an infinity without NaN's or Infinity's spelling (limits wrote
    "exposure": Infinity and doubled the limit); an integer of 401 digits overflowed a float
    with a traceback."""
    damaged = _reshaped_copy(book / "out", tmp_path / "out", "watchlist.jsonl",
                             lambda row: row.update(customer_exposure="LITERAL", fx_rate=1.0))
    damaged.write_text(damaged.read_text().replace('"LITERAL"', literal))
    line = one_line_error(invoke(*command, "--out", str(tmp_path / "out")))
    assert line.startswith(f"Error: {damaged}, line 2: "), line


def test_a_line_separator_inside_a_string_does_not_split_its_line(book: Path) -> None:
    out = book / "out"
    readings, warnings = out / "news_readings.jsonl", out / "warnings.jsonl"
    for path in (readings, warnings):
        assert LS in path.read_text(encoding="utf-8")  # the case under test is there
    rows = [json.loads(line) for line in readings.read_text(encoding="utf-8").split("\n")
            if line]
    result = invoke("learn-news", "--knowledge", str(book / "knowledge.json"), "--readings",
                    str(readings), "--outcomes", str(book / "feeds" / "outcomes.jsonl"))
    assert result.exit_code == 0, result.output
    examples = json.loads(result.output)["outcome_examples"]
    assert 0 < examples <= sum(1 for r in rows if r.get("customer_id") and r.get("headline"))
    result = invoke("alerts", "check-config", "--samples", str(warnings))
    assert result.exit_code == 0, result.output
    shown = result.output.split("samples:\n")[1].splitlines()[:-1]
    assert len(shown) == warnings.read_bytes().count(b"\n")


@pytest.mark.parametrize("args", [
    ["simulate", "--customers", "5", "--months", "3", "--out", "{afile}/sub"],
    ["run", "--feeds", "{feeds}", "--out", "{afile}/sub"],
    ["replay", "--log", "{out}/audit", "--out", "{afile}/sub"],
    ["evaluate", "--feeds", "{feeds}", "--report", "{afile}/sub"],
    ["schema", "export", "--out", "{afile}/sub"],
    ["rates", "{rates}", "--out", "{afile}/fx.jsonl"],
    ["learn-news", "--knowledge", "{afile}/k.json", "--corrections", "{corrections}"],
    ["evaluate-news", "--data", "{news_set}", "--json", "{afile}/x.json"],
    ["audit", "init", "--key-file", "{afile}/k"],
])
def test_a_path_the_system_refuses_is_one_line_naming_it(
        book: Path, afile: Path, tmp_path: Path, args: list[str]) -> None:
    rates = tmp_path / "r.csv"
    rates.write_text("Date,USD\n2024-01-02,1.1\n")
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text('{"company_name": "Acme", "customer_id": "C1"}\n')
    places = {"afile": afile, "feeds": book / "feeds", "out": book / "out", "rates": rates,
              "corrections": corrections, "news_set": _news_set(tmp_path / "set", True)}
    result = invoke(*(arg.format(**places) for arg in args))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    line = result.output.splitlines()[-1]  # evaluate-news prints its report first
    assert line.startswith(f"Error: cannot use {afile}"), line
    assert line.endswith(("Not a directory", "File exists"))


@pytest.mark.parametrize("args", [
    ["alerts", "status"], ["alerts", "history"], ["alerts", "deliver"],
    ["alerts", "silence", "--customer", "C1", "--until", "2030-01-01"]])
def test_a_state_folder_that_is_a_file_is_one_line(afile: Path, args: list[str]) -> None:
    line = one_line_error(invoke(*args, env={"CREDITRADAR_STATE_DIR": str(afile)}))
    assert line == f"Error: cannot use {afile}: File exists"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("args", [["run", "--feeds", "FEEDS", "--out", "OUT", "--top", "0"],
                                  ["alerts", "deliver"]])
def test_an_ops_port_in_use_is_one_line_naming_it(book: Path, tmp_path: Path, busy_port: int,
                                                  args: list[str]) -> None:
    places = {"FEEDS": str(book / "feeds"), "OUT": str(tmp_path / "out")}
    result = invoke(*(places.get(a, a) for a in args), "--ops-port", str(busy_port),
                    env={"CREDITRADAR_STATE_DIR": str(tmp_path / "state")})
    line = one_line_error(result)
    assert line.startswith(f"Error: cannot serve on 127.0.0.1:{busy_port}: "), line


def test_a_bug_or_ctrl_c_keeps_its_traceback_or_clicks_handling() -> None:
    """Only errors raised on purpose and the system's refusals become one line."""
    @click.group(cls=Commands)
    def group() -> None:
        """A group of the real class, with commands that fail otherwise."""

    @group.command()
    def bug() -> None:
        {}["missing"]  # noqa: B018

    @group.command()
    def interrupted() -> None:
        raise KeyboardInterrupt

    assert isinstance(CliRunner().invoke(group, ["bug"]).exception, KeyError)
    result = CliRunner().invoke(group, ["interrupted"])
    assert result.exit_code == 1 and "Aborted!" in result.output


@pytest.mark.parametrize("url", ["risk-mail", "notaurl:x", "s3cret-T0ken-value"])
def test_alerts_test_with_neither_a_channel_nor_a_url_is_one_line_without_it(
        tmp_path: Path, url: str) -> None:
    line = one_line_error(invoke("alerts", "test", url,
                                 env={"CREDITRADAR_STATE_DIR": str(tmp_path)}))
    assert "neither a configured channel" in line and url not in line


@pytest.mark.parametrize(("bad", "problem"), [
    ('{"warning_id": "w-1", "kind": "early_warn', "not JSON (JSONDecodeError"),
    ('{"a": 1}', "not a warning (missing or invalid: warning_id, kind")])
def test_check_config_names_the_sample_line_that_is_no_warning(
        book: Path, tmp_path: Path, bad: str, problem: str) -> None:
    samples = tmp_path / "samples.jsonl"
    first = (book / "out" / "warnings.jsonl").read_text(encoding="utf-8").split("\n")[0]
    samples.write_text(f"{first}\n{bad}\n", encoding="utf-8")
    line = one_line_error(invoke("alerts", "check-config", "--samples", str(samples)))
    assert line.startswith(f"Error: {samples}, line 2: {problem}"), line


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1899-12-31T23:59:59Z"])
def test_explain_refuses_a_time_outside_the_clocks_years(book: Path, as_of: str) -> None:
    line = one_line_error(invoke("explain", "C000053", "--as-of", as_of, "--log",
                                 str(book / "out" / "audit")))
    assert "outside the years" in line and "1900-01-01T00:00:00Z" in line


@pytest.mark.parametrize(("corrections", "outcomes", "problem"), [
    ('{"headline": "x", "categories": [5]}', None, "corrections.jsonl:1: a correction has"),
    ('{"headline": "x", "categories": [["layoffs"]]}', None,
     "corrections.jsonl:1: a correction has"),
    (None, '{"customer_id": "C1", "default_date": "garbage"}',
     "outcomes.jsonl, line 2: not an outcome (ValueError"),
    (None, '{"default_date": "2024-06-30"}', "outcomes.jsonl, line 2: not an outcome (KeyError"),
])
def test_learn_news_refuses_a_bad_line_naming_it(
        tmp_path: Path, corrections: str | None, outcomes: str | None, problem: str) -> None:
    args = ["learn-news", "--knowledge", str(tmp_path / "k.json")]
    if corrections is not None:
        (tmp_path / "corrections.jsonl").write_text(corrections + "\n")
        args += ["--corrections", str(tmp_path / "corrections.jsonl")]
    if outcomes is not None:
        (tmp_path / "outcomes.jsonl").write_text(
            '{"customer_id": "C0", "default_date": null}\n' + outcomes + "\n")
        (tmp_path / "readings.jsonl").write_text(json.dumps(
            {"event_time": "2024-01-01T00:00:00Z", "customer_id": "C1",
             "headline": "Acme in liquidation"}) + "\n")
        args += ["--readings", str(tmp_path / "readings.jsonl"), "--outcomes",
                 str(tmp_path / "outcomes.jsonl")]
    assert problem in one_line_error(invoke(*args))
    assert not (tmp_path / "k.json").exists()


def _news_set(folder: Path, with_item: bool) -> Path:
    """A labelled news set of one customer and one English item in the test split, or
    none."""
    folder.mkdir()
    (folder / "customers.jsonl").write_text(json.dumps(
        {"event_id": "c", "event_time": "2024-01-01", "customer_id": "C1",
         "name": "Hollis Metalworks GmbH"}) + "\n", encoding="utf-8")
    row = {"id": "1", "split": "test", "language": "en", "company_name": "Hollis Metalworks",
           "headline": "Hollis Metalworks files for insolvency", "true_customer_id": "C1",
           "true_categories": ["insolvency"]}
    (folder / "en.jsonl").write_text(json.dumps(row) + "\n" if with_item else "",
                                     encoding="utf-8")
    return folder


@pytest.mark.parametrize(("change", "problem"), [
    ({"identifiers": ["x"]}, "identifiers is not an object of texts"),
    ({"identifiers": {"lei": 5}}, "identifiers is not an object of texts"),
    ({"company_name": ["A"]}, "company_name is neither text nor null"),
    ({"case": ["x"]}, "case is neither text nor null"),
])
def test_evaluate_news_refuses_an_item_with_fields_of_another_kind(
        tmp_path: Path, change: dict[str, object], problem: str) -> None:
    data = _news_set(tmp_path / "set", True)
    row = {**json.loads((data / "en.jsonl").read_text()), **change}
    (data / "en.jsonl").write_text(json.dumps(row) + "\n")
    line = one_line_error(invoke("evaluate-news", "--data", str(data)))
    assert line == f"Error: {data / 'en.jsonl'}, line 1: not a labelled item ({problem})"


@pytest.mark.parametrize(("knowledge", "problem"), [
    ("[]\n", "ValueError: not a JSON object"),
    ('{"format": NaN}\n', "ValueError: NaN is no JSON number"),
    ("HUGE", "ValueError: a number of its model is not finite"),
])
def test_a_knowledge_file_that_is_no_knowledge_is_one_line(
        tmp_path: Path, knowledge: str, problem: str) -> None:
    if knowledge == "HUGE":  # a knowledge file learned once, its model's intercept edited
        (tmp_path / "c.jsonl").write_text('{"company_name": "Acme", "customer_id": "C1"}\n')
        assert invoke("learn-news", "--knowledge", str(tmp_path / "k.json"), "--corrections",
                      str(tmp_path / "c.jsonl")).exit_code == 0
        knowledge = re.sub(r'"intercept": ?[-0-9.e]+', '"intercept": 1e999',
                           (tmp_path / "k.json").read_text())
        assert "1e999" in knowledge
    (tmp_path / "k.json").write_text(knowledge)
    (tmp_path / "corrections.jsonl").write_text('{"company_name": "Acme", "customer_id": "C1"}\n')
    line = one_line_error(invoke("learn-news", "--knowledge", str(tmp_path / "k.json"),
                                 "--corrections", str(tmp_path / "corrections.jsonl")))
    assert line == f"Error: news.knowledge {tmp_path / 'k.json'} cannot be used: {problem}"


def test_learn_news_escapes_the_categories_it_names_and_refuses_readings_of_another_kind(
        tmp_path: Path) -> None:
    (tmp_path / "corrections.jsonl").write_text(json.dumps(
        {"headline": "x", "categories": ["\x1b[31mred\u2028"]}) + "\n")
    line = one_line_error(invoke("learn-news", "--knowledge", str(tmp_path / "k.json"),
                                 "--corrections", str(tmp_path / "corrections.jsonl")))
    assert "\x1b" not in line and "\\x1b[31mred\\u2028" in line
    (tmp_path / "outcomes.jsonl").write_text('{"customer_id": "C1", "default_date": null}\n')
    (tmp_path / "readings.jsonl").write_text(json.dumps(
        {"event_time": "2024-01-01T00:00:00Z", "customer_id": ["C1"], "headline": "x"}) + "\n")
    line = one_line_error(invoke("learn-news", "--knowledge", str(tmp_path / "k.json"),
                                 "--readings", str(tmp_path / "readings.jsonl"), "--outcomes",
                                 str(tmp_path / "outcomes.jsonl")))
    assert line.endswith("readings.jsonl:1: a reading's customer_id and headline are texts")


def test_evaluate_news_check_fails_where_a_language_has_no_items(tmp_path: Path) -> None:
    data = _news_set(tmp_path / "set", True)
    row = {**json.loads((data / "en.jsonl").read_text()), "split": "dev", "language": "de"}
    (data / "de.jsonl").write_text(json.dumps(row) + "\n")  # held out: none of its items
    result = invoke("evaluate-news", "--data", str(data), "--check")
    assert result.exit_code == 1
    assert "DOES NOT MEET the targets" in result.output
    assert result.output.splitlines()[-1].startswith("Error: --check: no labelled items")
    assert " in de of " in result.output.splitlines()[-1]
    result = invoke("evaluate-news", "--data", str(_news_set(tmp_path / "empty", False)),
                    "--check")
    assert result.exit_code == 1 and "[en] 0 items" in result.output
    assert "Error: --check: no labelled items (split: test) in en of" in result.output


def test_backtest_refuses_warnings_beside_an_empty_watchlist(book: Path,
                                                             tmp_path: Path) -> None:
    """An empty watchlist gave no customers and no defaulters but counted the warnings to
    them: false warnings at 0.0 per 1,000 customer-years, exit 0."""
    out = tmp_path / "out"
    shutil.copytree(book / "out", out)
    assert (out / "warnings.jsonl").read_text()  # the case under test: warnings to explain
    (out / "watchlist.jsonl").write_text("")
    line = one_line_error(invoke("backtest", "--out", str(out), "--outcomes",
                                 str(book / "feeds" / "outcomes.jsonl")))
    assert line == (f"Error: {out / 'warnings.jsonl'}, line 1: a warning, where "
                    "watchlist.jsonl lists no customer: the run's outputs do not belong "
                    "together")


def test_a_damaged_audit_log_is_one_line_naming_its_file_and_line(book: Path,
                                                                  tmp_path: Path) -> None:
    """backtest reads the run's audit log for its first input, check appends to its own:
    a record that is none gave a traceback or a line that named no file."""
    out = tmp_path / "out"
    shutil.copytree(book / "out", out)
    segment = sorted((out / "audit").glob("*/segment-000000.jsonl"))[0]
    text = segment.read_text(encoding="utf-8")
    segment.write_text(re.sub(r'"event_time":"[^"]*"', '"event_time":"garbage"', text, count=1),
                       encoding="utf-8")
    line = one_line_error(invoke("backtest", "--out", str(out), "--outcomes",
                                 str(book / "feeds" / "outcomes.jsonl")))
    assert line == (f"Error: {segment}, line 1: not an audit record: its event_time "
                    "'garbage' is no time")
    answer = invoke("check", "C000034", "--amount", "100", "--out", str(out))
    assert answer.exit_code in (0, 3, 4), answer.output  # approve, refer or decline
    checks = out / "checks" / "checks" / "segment-000000.jsonl"
    damaged = checks.read_bytes().count(b"\n") + 1
    with checks.open("a", encoding="utf-8") as handle:
        handle.write("{oops\n")
    line = one_line_error(invoke("check", "C000034", "--amount", "100", "--out", str(out)))
    assert line.startswith(f"Error: {checks}, line {damaged}: not a JSON line: "), line


def test_backtest_refuses_a_folder_that_is_no_run_and_warnings_taken_for_outcomes(
        book: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(invoke("backtest", "--out", str(empty), "--outcomes",
                                 str(book / "feeds" / "outcomes.jsonl")))
    assert line == f"Error: no warnings.jsonl under {empty}: is it a finished run's output?"
    assert not (empty / "backtest.json").exists()
    warnings = book / "out" / "warnings.jsonl"
    line = one_line_error(invoke("backtest", "--out", str(book / "out"), "--outcomes",
                                 str(warnings)))
    assert line.startswith(f"Error: {warnings}, line 1: not an outcome (KeyError: "
                           "'default_date')")


def test_the_top_level_help_shows_how_to_get_one_commands_help() -> None:
    shown = invoke("--help").output
    assert "creditradar COMMAND -h" in shown and "run COMMAND" not in shown


@pytest.mark.parametrize("limit", ["-1", "0", str(10**20)])
def test_alerts_history_refuses_a_limit_out_of_range(tmp_path: Path, limit: str) -> None:
    result = invoke("alerts", "history", "--limit", limit,
                    env={"CREDITRADAR_STATE_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output
    assert invoke("alerts", "history", "--limit", "1",
                  env={"CREDITRADAR_STATE_DIR": str(tmp_path)}).exit_code == 0


def test_a_new_run_into_a_folder_removes_what_commands_derived_from_the_last(
        tmp_path: Path) -> None:
    """limits.jsonl, collections.jsonl and backtest.json describe the run they were derived
    from: a new run into the same folder must not leave them beside its own outputs."""
    from flows.jsonl import DERIVED
    from flows.run import start_fresh

    out = tmp_path / "out"
    out.mkdir()
    for name in DERIVED:
        (out / name).write_text("{}\n")
    (out / "notes.txt").write_text("mine\n")
    start_fresh(Settings(), out)
    assert DERIVED and not any((out / name).exists() for name in DERIVED)
    assert (out / "notes.txt").exists()


@pytest.mark.parametrize("amount", ["nan", "inf", "1e308"])
def test_check_refuses_an_amount_that_is_no_amount(amount: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "C1", "--amount", amount, "--out",
                                      str(tmp_path)], env={})
    assert result.exit_code == 2 and "--amount" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("start", "months"), [("9999-11-01", 3), ("1800-01-01", 3),
                                               ("9998-06-01", 24)])
def test_simulate_refuses_a_start_outside_the_clocks_years(start: str, months: int,
                                                           tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["simulate", "--customers", "5", "--months", str(months),
                                      "--start", start, "--out", str(tmp_path / "f")], env={})
    assert result.exit_code == 2 and "--start" in result.output, result.output
    assert not (tmp_path / "f").exists()


def test_simulate_refuses_a_start_within_a_month(tmp_path: Path) -> None:
    """The book runs in calendar months; a start on the 15th was moved to the 1st without a
    word, so the feeds began before the day asked for."""
    result = CliRunner().invoke(cli, ["simulate", "--customers", "5", "--months", "3",
                                      "--start", "2021-03-15", "--out", str(tmp_path / "f")],
                                env={})
    assert result.exit_code == 2 and "2021-03-01" in result.output, result.output
    assert not (tmp_path / "f").exists()


def test_a_run_of_empty_feed_files_writes_empty_outputs_the_desk_commands_read(
        tmp_path: Path) -> None:
    feeds, out = tmp_path / "feeds", tmp_path / "out"
    feeds.mkdir()
    for name in ("customers.jsonl", "payments.jsonl"):
        (feeds / name).write_bytes(b"")
    result = invoke("run", "--feeds", str(feeds), "--out", str(out), "--scores", "--top", "0")
    assert result.exit_code == 0, result.output
    for name in ("watchlist.jsonl", "scores.jsonl", "warnings.jsonl"):
        assert (out / name).read_bytes() == b"", name
    result = invoke("limits", "--out", str(out))
    assert result.exit_code == 0 and "0 recommendations" in result.output, result.output


@pytest.mark.parametrize("options", [["--from", "end"], ["--stop-at-end"],
                                     ["-o", "region=eu"]])
def test_run_refuses_an_option_of_another_source(book: Path, tmp_path: Path,
                                                 options: list[str]) -> None:
    """An option the chosen source does not read would be silently ignored: a folder run
    with --from 2023-01-01 would read the whole folder."""
    result = invoke("run", "--feeds", str(book / "feeds"), "--out", str(tmp_path / "out"),
                    *options)
    assert result.exit_code == 2 and "only, not to --feeds" in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_run_refuses_read_damaged_on_a_source_it_does_not_check(tmp_path: Path) -> None:
    result = invoke("run", "--kafka", "127.0.0.1:9", "--out", str(tmp_path / "out"),
                    "--read-damaged")
    assert result.exit_code == 2, result.output
    assert "--read-damaged applies to --feeds only, not to --kafka" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("start", ["1969-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z"])
def test_a_kafka_start_before_1970_is_refused(start: str, tmp_path: Path) -> None:
    """-1 ms is librdkafka's "the end": the run read nothing and said nothing; year 1 failed
    with "API version not supported". Refused before the broker is asked."""
    line = one_line_error(invoke("run", "--kafka", "127.0.0.1:1", "--from", start,
                                 "--stop-at-end", "--out", str(tmp_path / "out")))
    assert line == (f"Error: --from {start!r} is before 1970, where Kafka's timestamps begin: "
                    "use beginning")


@pytest.mark.parametrize(("args", "option"), [
    (["run", "--feeds", ".", "--out", "OUT", "--deliver-wait", "inf"], "--deliver-wait"),
    (["run", "--feeds", ".", "--out", "OUT", "--deliver-wait", "nan"], "--deliver-wait"),
    (["alerts", "deliver", "--max-seconds", "nan"], "--max-seconds"),
    (["alerts", "deliver", "--max-seconds", "inf"], "--max-seconds"),
])
def test_a_wait_that_is_no_number_is_refused(args: list[str], option: str,
                                             tmp_path: Path) -> None:
    args = [str(tmp_path / "out") if arg == "OUT" else arg for arg in args]
    result = CliRunner().invoke(cli, args, env={"CREDITRADAR_STATE_DIR": str(tmp_path)})
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output, (
        result.output)
    assert not (tmp_path / "out").exists()


def test_a_recovery_directory_of_other_inputs_is_refused_naming_them(book: Path,
                                                                     tmp_path: Path) -> None:
    """Its state is keyed by the source's partitions: bytewax stopped with a panic on one
    the new source lacks (a renamed file, another plugin)."""
    state = tmp_path / "state"
    first = invoke("run", "--feeds", str(book / "feeds"), "--out", str(tmp_path / "a"),
                   "--recovery-dir", str(state), "--top", "0", "--no-deliver")
    assert first.exit_code == 0, first.output
    renamed = tmp_path / "renamed"
    shutil.copytree(book / "feeds", renamed)
    (renamed / "payments.jsonl").rename(renamed / "payments-0001.jsonl")
    result = invoke("run", "--feeds", str(renamed), "--out", str(tmp_path / "b"),
                    "--recovery-dir", str(state), "--top", "0", "--no-deliver")
    line = one_line_error(result)
    assert "holds the state of inputs this source does not have (1: 'payments.jsonl')" in line


def test_a_recovery_directorys_damaged_list_of_inputs_is_refused_naming_it(
        book: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = ["run", "--feeds", str(book / "feeds"), "--recovery-dir", str(state), "--top", "0",
            "--no-deliver"]
    first = invoke(*args, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    listed = state / "creditradar-inputs.json"
    whole = listed.read_text()
    for damaged in (whole[:len(whole) // 2], "{}", '["payments.jsonl", 3]'):
        listed.write_text(damaged)
        line = one_line_error(invoke(*args, "--out", str(tmp_path / "b")))
        assert line == (f"Error: {listed} is damaged (not a JSON list of the directory's "
                        "inputs): resume with the file as the run wrote it, or start again "
                        "with a fresh directory")


def _outcomes_lines(book: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (book / "feeds" / "outcomes.jsonl").read_text().splitlines()]


def _write_outcomes(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize(("change", "said"), [
    (lambda rows: rows + rows[:1], "again (first at line 1): one line per customer"),
    (lambda rows: [{**rows[0], "default_date": ""}, *rows[1:]], "Invalid isoformat string"),
    (lambda rows: [{**rows[0], "default_date": False}, *rows[1:]], "neither a date nor null"),
])
def test_an_outcomes_file_that_is_no_one_line_per_customer_is_refused(
        book: Path, tmp_path: Path, change: Callable[[list], list], said: str) -> None:
    from flows.outcomes import load_defaults

    path = _write_outcomes(tmp_path / "outcomes.jsonl", change(_outcomes_lines(book)))
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_defaults(path)


def test_an_outcome_giving_a_key_twice_is_refused(tmp_path: Path) -> None:
    """Python's reader keeps the last: a defaulter became a customer that never defaulted."""
    from flows.outcomes import load_defaults

    path = tmp_path / "outcomes.jsonl"
    path.write_text('{"customer_id": "C1", "default_date": "2022-04-30", '
                    '"default_date": null}\n')
    with pytest.raises(ConfigError, match=re.escape(
            "line 1: not an outcome (not JSON (ValueError: the key 'default_date' given twice")):
        load_defaults(path)


def test_evaluate_says_why_no_row_is_left_and_refuses_empty_outcomes_before_the_run(
        book: Path, tmp_path: Path) -> None:
    """Outcomes of another period, every default before it, left no row: the error asked
    whether the period was under a month. An empty outcomes file failed after the run."""
    from flows.evaluate import evaluate_run
    from flows.outcomes import load_defaults

    defaults = load_defaults(book / "feeds" / "outcomes.jsonl")
    with pytest.raises(ConfigError, match="every customer's default before it"):
        evaluate_run(Settings(), book / "out", dict.fromkeys(defaults, 0))
    empty = tmp_path / "outcomes.jsonl"
    empty.write_text("")
    line = one_line_error(invoke("evaluate", "--feeds", str(book / "feeds"), "--outcomes",
                                 str(empty), "--report", str(tmp_path / "report")))
    assert line == f"Error: {empty} holds no outcome: one line per customer of the book"
    assert not (tmp_path / "report" / "run").exists()


def test_evaluate_refuses_outcomes_without_the_runs_customers_and_leaves_later_defaults_out(
        book: Path) -> None:
    """An outcomes file of another book, or of part of this one, gave every warning as false
    and no defaulter; a default years after the book counted as a lead of 155 months."""
    from flows.evaluate import evaluate_run
    from flows.outcomes import load_defaults

    defaults = load_defaults(book / "feeds" / "outcomes.jsonl")
    with pytest.raises(ConfigError, match=r"customers have no line in the outcomes \(C000000"):
        evaluate_run(Settings(), book / "out", {c: d for c, d in defaults.items()
                                                if c != "C000000"})
    healthy = next(c for c, d in sorted(defaults.items()) if d is None)
    later = evaluate_run(Settings(), book / "out", {**defaults, healthy: 2_000_000_000})
    as_is = evaluate_run(Settings(), book / "out", defaults)
    assert later.defaulters == as_is.defaulters
    assert later.full["monitor"].metrics == as_is.full["monitor"].metrics


def test_backtest_counts_the_runs_customers_whatever_else_the_outcomes_hold(
        book: Path, tmp_path: Path) -> None:
    rows = _outcomes_lines(book)
    extra = [{"customer_id": f"X{n:05d}", "default_date": None} for n in range(2000)]
    results = [json.loads(invoke("backtest", "--out", str(book / "out"), "--outcomes",
                                 str(_write_outcomes(tmp_path / f"{n}.jsonl", lines))).output
                          and (book / "out" / "backtest.json").read_text())
               for n, lines in enumerate((rows, rows + extra))]
    assert results[0] == results[1] and results[0]["customers"] == 120
    line = one_line_error(invoke("backtest", "--out", str(book / "out"), "--outcomes",
                                 str(_write_outcomes(tmp_path / "part.jsonl", rows[1:]))))
    assert "of the run's 120 customers have no line in" in line


def _edited(out: Path, to: Path, customer_id: str, field: str, value: object) -> Path:
    """A copy of the run ``out`` whose log has one input of ``customer_id`` edited (its hash
    left as it was) to hold ``value`` in its body's ``field``; the copy's log."""
    shutil.copytree(out, to)
    for segment in sorted((to / "audit").glob("ids-*/segment-*.jsonl")):
        lines = segment.read_text(encoding="utf-8").split("\n")  # (names end in U+2028)
        for i, line in enumerate(lines[:-1]):
            record = json.loads(line)
            if record["kind"] == "input" and f'"{customer_id}"' in record["body"]["raw"]:
                record["body"][field] = value
                lines[i] = json.dumps(record, ensure_ascii=False)
                segment.write_text("\n".join(lines), encoding="utf-8")
                return to / "audit"
    raise AssertionError(f"no input of {customer_id}")


@pytest.mark.parametrize(("field", "value"), [("day", "x"), ("origin", "x"), ("day", None)])
def test_an_edited_record_of_the_wrong_type_is_the_logs_verdict_not_a_traceback(
        book: Path, tmp_path: Path, field: str, value: object) -> None:
    warning = read_jsonl(book / "out" / "warnings.jsonl")[0]
    customer_id, at = warning["customer_id"], warning["event_time"]
    log = _edited(book / "out", tmp_path / "out", customer_id, field, value)
    for args in (["replay", "--log", str(log), "--out", str(tmp_path / "replay")],
                 ["explain", customer_id, "--as-of", at, "--log", str(log)],
                 ["audit", "export", warning["warning_id"], "--log", str(log)]):
        line = one_line_error(invoke(*args))
        assert (line.startswith(f"Error: the audit log {log} is not intact: edited: ")
                or "is not an input record with feed, raw and origin" in line), line
    line = one_line_error(invoke("audit", "export", "w-none", "--log", str(log)))
    assert line.startswith("Error: no warning w-none in the audit log"), line


@pytest.mark.parametrize("when", ["0001-01-01T00:59:60+01:00", "9999-12-31T23:59:60-01:00"])
def test_a_leap_second_outside_the_years_utc_holds_is_a_usage_error(book: Path,
                                                                    when: str) -> None:
    result = invoke("explain", "C000001", "--as-of", when, "--log", str(book / "out" / "audit"))
    assert result.exit_code == 2 and "is not an RFC 3339 time or a date" in result.output


def test_json_documents_write_feed_text_that_could_drive_a_terminal_as_json_escapes(
        book: Path) -> None:
    """The names end in U+2028, a line break for Unicode-aware readers: printed raw in the
    JSON of `explain --json` and `audit export` (valid JSON, but not inert on a terminal)."""
    warning = read_jsonl(book / "out" / "warnings.jsonl")[0]
    log = str(book / "out" / "audit")
    for args in (["explain", warning["customer_id"], "--as-of", warning["event_time"],
                  "--log", log, "--json"], ["audit", "export", warning["warning_id"],
                                            "--log", log]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "\u2028" not in result.output and "\\u2028" in result.output
        assert "\u2028" in json.dumps(json.loads(result.output), ensure_ascii=False)
