"""Source plugins: discovery by entry point, and a connector written in a few lines."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from feedkit import customer, drain, invoice, payment, write_feeds
from test_monitor_flow import deteriorating_portfolio

from config.errors import ConnectorError
from config.redact import error_line
from config.settings import Settings
from connectors.files import FolderFeeds
from connectors.partition import FeedSource
from connectors.plugins import IterableFeeds, available_sources, load_source
from connectors.records import RawRecord
from detectors.feedclock import FeedClock
from flows.run import WARNINGS, run_feeds, run_folder

SETTINGS = Settings()


def test_the_folder_source_is_an_installed_plugin(tmp_path: Path) -> None:
    assert "folder" in available_sources()
    feeds = load_source("folder", SETTINGS, path=str(tmp_path))
    assert isinstance(feeds, FolderFeeds) and feeds.folder == tmp_path


def test_unknown_plugins_and_options_are_clear_errors() -> None:
    with pytest.raises(ConnectorError, match="no source plugin 'nope'.*folder"):
        load_source("nope", SETTINGS)
    with pytest.raises(ConnectorError, match=r"options given: -o colour=\.\.\.\)"):
        load_source("folder", SETTINGS, colour="blue")


def test_a_refused_option_is_named_without_its_value(tmp_path: Path) -> None:
    token = "HUNTER2TOKEN"
    with pytest.raises(ConnectorError, match="options given: .*api_token") as raised:
        load_source("folder", SETTINGS, path=str(tmp_path), api_token=token)
    assert token not in str(raised.value) and str(tmp_path) not in str(raised.value)


def test_an_iterable_source_runs_the_same_monitor_as_the_folder(tmp_path: Path) -> None:
    feeds = deteriorating_portfolio()
    rows = sorted(((r["event_time"], i, feed, r) for i, (feed, rs) in enumerate(feeds.items())
                   for r in rs), key=lambda t: (t[0], t[1]))

    def records() -> Iterator[RawRecord]:
        for _, _, feed, row in rows:
            yield RawRecord(feed, json.dumps(row).encode())

    via_plugin = run_feeds(SETTINGS, IterableFeeds(records), tmp_path / "plugin")
    via_folder = run_folder(SETTINGS, write_feeds(tmp_path / "feeds", feeds), tmp_path / "f")
    assert via_plugin.warnings and via_plugin.read == via_folder.read
    assert (tmp_path / "plugin" / WARNINGS).read_bytes() == (tmp_path / "f" / WARNINGS).read_bytes()


def test_an_iterable_source_resumes_after_its_snapshot() -> None:
    rows = [customer("A", "2024-01-01", "A Ltd"),
            invoice("A", "2024-01-02", "I", 10, "2024-02-01"),
            payment("A", "2024-01-03", "I", 10)]
    feeds = IterableFeeds(lambda: iter(RawRecord("payments" if "type" in r else "customers",
                                                 json.dumps(r).encode()) for r in rows))
    source = FeedSource(feeds, lambda e: "ids", ("ids",), lambda: FeedClock(read_ahead=1))

    def ids(items: list) -> list[str]:
        return [e.event.event_id for i in items if isinstance(i, tuple) for _, e in i[1].items]

    part = source.build_part("feeds", "plugin", None)
    first = part.next_batch()
    resumed = source.build_part("feeds", "plugin", part.snapshot())
    assert ids(first) + ids(drain(resumed)) == [r["event_id"] for r in rows]


def _records(*items: object) -> Callable[[], Iterator[object]]:
    return lambda: iter(items)


GOOD = RawRecord("customers", b'{"event_id":"c1","event_time":"2024-01-02","customer_id":"C-1",'
                               b'"name":"Alpha GmbH","currency":"EUR"}')


@pytest.mark.parametrize(("records", "said"), [
    (_records(GOOD, None, GOOD), "yielded NoneType as record 2, not connectors.records"),
    (_records(GOOD, {"feed": "customers"}), "yielded dict as record 2"),
])
def test_a_plugin_yielding_no_record_stops_the_run_naming_it(
        tmp_path: Path, records: Callable[[], Iterator[RawRecord]], said: str) -> None:
    """A None (a mapper's skipped row) used to end the input there: the rest was lost, and
    the summary still added up."""
    with pytest.raises(Exception) as raised:
        run_feeds(SETTINGS, IterableFeeds(records, name="bank"), tmp_path / "out")
    assert said in (error_line(raised.value) or "")


def test_a_plugins_error_is_one_line_with_its_options_hidden(tmp_path: Path) -> None:
    def records() -> Iterator[RawRecord]:
        yield GOOD
        raise ConnectionError("bank API refused token HUNTER2 at https://u:pw@bank.example/x")

    with pytest.raises(Exception) as raised:
        run_feeds(SETTINGS, IterableFeeds(records, name="bank"), tmp_path / "out")
    line = error_line(raised.value, hidden=("HUNTER2",))
    assert line == ("source plugin input 'bank' failed reading record 2: ConnectionError: bank "
                    "API refused token *** at https://***@bank.example/x")


def test_a_plugins_plain_word_option_is_hidden_as_a_word_not_inside_others(
        tmp_path: Path) -> None:
    # An option ``mode=read`` made "reading record 2" read "***ing record 2".
    def records() -> Iterator[RawRecord]:
        yield GOOD
        raise ConnectionError("mode read refused: secret Xk9-77q-Zz for bank")

    with pytest.raises(Exception) as raised:
        run_feeds(SETTINGS, IterableFeeds(records, name="bank"), tmp_path / "out")
    line = error_line(raised.value, hidden=("read", "Xk9-77q-Zz", "bank"))
    assert line == ("source plugin input '***' failed reading record 2: ConnectionError: "
                    "mode *** refused: secret *** for ***")


def test_iterable_feeds_takes_the_function_not_its_records() -> None:
    def records() -> Iterator[RawRecord]:
        yield GOOD

    with pytest.raises(ConnectorError, match="takes a function .* not a generator"):
        IterableFeeds(records())  # type: ignore[arg-type]


def test_a_plugins_options_may_come_from_the_settings_and_the_command_line_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token in the settings or the environment stays off the command line (ps, history)."""
    from config.settings import load_settings, redacted

    (tmp_path / "env").mkdir()
    monkeypatch.setenv("CREDITRADAR_SOURCES__FOLDER__PATH", str(tmp_path / "env"))
    settings = load_settings()
    assert load_source("folder", settings).folder == tmp_path / "env"
    assert load_source("folder", settings, path=str(tmp_path)).folder == tmp_path
    assert redacted(settings)["sources"] == {"folder": {"path": "***"}}


def test_an_option_given_twice_is_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flows.cli import cli

    result = CliRunner().invoke(cli, ["run", "--source", "folder", "-o", f"path={tmp_path}",
                                      "-o", "path=elsewhere", "--out", str(tmp_path / "o")],
                                env={})
    assert result.exit_code == 2 and "path is given twice" in result.output, result.output


@pytest.mark.parametrize("processes", [1, 2])
def test_a_plugins_error_in_every_process_is_one_line_with_its_options_hidden(
        tmp_path: Path, processes: int) -> None:
    """Each process of a cluster builds the source itself: its error was a traceback quoting
    the options' values."""
    token = "HUNTER2-not-a-folder"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--log-level", "error", "run", "--source",
         "folder", "-o", f"path={tmp_path / token}", "--out", str(tmp_path / "out"),
         "--no-deliver", "--processes", str(processes)],
        capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert token not in result.stderr and "Traceback" not in result.stderr, result.stderr
    said = [line for line in result.stderr.splitlines()
            if "source plugin 'folder' failed to start: FileNotFoundError" in line]
    assert said and all(line.endswith("'***'") for line in said), result.stderr
    if processes > 1:  # (another process may be stopped by the first one's failure)
        assert all(line.startswith("creditradar process ") for line in said), said


FAILING_PLUGIN = '''
from connectors.plugins import IterableFeeds
from connectors.records import RawRecord

GOOD = {good!r}


def source(settings, mode, token):
    def rows():
        for number in range(5):
            yield RawRecord("customers", GOOD.replace(b"c1", b"c%d" % number))
        if mode == "midway":
            raise ConnectionError(f"upstream went away, token {{token}}")
        yield RawRecord(b"customers", GOOD)

    def records():
        if mode == "oncall":
            raise RuntimeError(f"login failed for {{token}}")
        return rows()
    return IterableFeeds(records, name="erp")
'''


def _installed_plugin(folder: Path) -> dict[str, str]:
    """A plugin ``failing`` as a distribution on PYTHONPATH (entry points are found there
    as from an installed package); the environment to run the command with."""
    (folder / "failing_plugin.py").write_text(FAILING_PLUGIN.format(good=GOOD.raw))
    info = folder / "failing_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: failing-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[creditradar.sources]\nfailing = failing_plugin:source\n")
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(folder)}


@pytest.mark.parametrize(("mode", "said"), [
    ("midway", "failed reading record 6: ConnectionError: upstream went away, token ***"),
    ("oncall", "failed to start: RuntimeError: login failed for ***"),
    ("badtypes", "yielded RawRecord(bytes, bytes) as record 6"),
])
@pytest.mark.parametrize("processes", [1, 2])
def test_a_plugins_failure_while_reading_is_named_by_its_process(
        tmp_path: Path, mode: str, said: str, processes: int) -> None:
    """With --processes 2 every process said "another process of the cluster ended", and
    none why; a plugin raising when called gave a traceback quoting its token, and a record
    of the wrong types a TypeError deep in the engine."""
    token = "HUNTER2-secret"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--log-level", "error", "run", "--source",
         "failing", "-o", f"mode={mode}", "-o", f"token={token}", "--out",
         str(tmp_path / "out"), "--no-deliver", "--processes", str(processes)],
        capture_output=True, text=True, timeout=300, env=_installed_plugin(tmp_path))
    assert result.returncode == 1, result.stderr[-2000:]
    assert token not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert said in result.stderr, result.stderr


def test_an_oversized_record_from_a_plugin_keeps_only_its_head(tmp_path: Path) -> None:
    """As a file's oversized line does: the whole record went to the dead letters."""
    from connectors.contracts import MAX_RECORD_BYTES
    from connectors.partition import KEPT_OF_OVERSIZED
    from flows.run import DEADLETTER, read_jsonl

    huge = RawRecord("customers", b'{"name":"' + b"x" * (2 * MAX_RECORD_BYTES) + b'"}')
    run_feeds(SETTINGS, IterableFeeds(_records(GOOD, huge), name="bank"), tmp_path / "out")
    [dead] = read_jsonl(tmp_path / "out" / DEADLETTER)
    assert dead["reason"] == "too_large" and f"exceeds {MAX_RECORD_BYTES}" in dead["detail"]
    assert len(dead["original"].encode()) <= KEPT_OF_OVERSIZED, len(dead["original"])
