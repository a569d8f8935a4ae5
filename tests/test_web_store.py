"""The workspace's data-access layer on SQLite and on a real PostgreSQL server: following a
run's files, the watchlist's filters and paging, cases and decisions, sessions; and the
whole application served on PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import text
from web_support import (
    Client,
    ErpReceiver,
    ServedWorkspace,
    add_people,
    password_of,
    web_settings,
)

from flows.run import WATCHLIST, read_jsonl
from web.app import build_app
from web.db import Store
from web.filters import Filters
from web.follow import Follower
from web.workspace import Workspace

_names = count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = Store.open(f"sqlite:///{tmp_path / 'workspace.sqlite3'}")
    else:
        server = request.getfixturevalue("postgres")
        opened = Store.open(server.database(f"workspace_{next(_names)}"))
    yield opened
    opened.close()


def _follow_all(follower: Follower) -> int:
    total = 0
    while taken := follower.poll():
        total += taken
    return total


def test_the_follower_copies_a_finished_run(store: Store, web_run: Path) -> None:
    assert _follow_all(Follower(web_run, store)) > 0
    assert _follow_all(Follower(web_run, store)) == 0  # nothing new: nothing read again
    expected = [r for r in read_jsonl(web_run / WATCHLIST) if not r["defaulted"]]
    rows, total = store.watchlist(Filters({}), None, offset=0, limit=10_000)
    assert total == len(expected) == len(rows)
    assert [r["pd"] for r in rows] == sorted((r["pd"] for r in expected), reverse=True)
    by_id = {r["customer_id"]: r for r in expected}
    for row in rows:
        assert row["grade"] == by_id[row["customer_id"]]["grade"]
        name = by_id[row["customer_id"]]["name"].replace("\x00", "\ufffd")  # (see web.tables.Str)
        assert row["name"] == name and row["tags"]
    warnings = read_jsonl(web_run / "warnings.jsonl")
    stored = store.customer_warnings(warnings[0]["customer_id"])
    assert warnings[0]["warning_id"] in {w["warning_id"] for w in stored}
    latest = {}  # each customer's latest score carries its published term structure
    for score in read_jsonl(web_run / "scores.jsonl"):
        latest[score["customer_id"]] = score
    for row in rows:
        assert store.customer(row["customer_id"])["pd_term"] == latest[row["customer_id"]][
            "pd_term"]


def test_the_inbox_holds_every_warning_of_a_default_to_come(store: Store, web_run: Path,
                                                            tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(web_run, run)
    warnings = read_jsonl(run / "warnings.jsonl")
    # A hard event's warning (critical news, a large judgment) is worked like any other.
    hard = {**next(w for w in warnings if w["kind"] == "early_warning"),
            "kind": "hard_event", "warning_id": "w-hard-event-test"}
    with (run / "warnings.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(hard) + "\n")
    _follow_all(Follower(run, store))
    listed = {w["warning_id"] for w in store.inbox(None, limit=100_000)}
    expected = {w["warning_id"] for w in [*warnings, hard]
                if w["kind"] in ("early_warning", "escalation", "hard_event")}
    assert "w-hard-event-test" in listed and listed == expected


def test_an_older_database_gains_the_new_columns_and_keeps_its_rows(store: Store,
                                                                     web_run: Path) -> None:
    _follow_all(Follower(web_run, store))
    before = store.watchlist(Filters({}), None, offset=0, limit=10_000)
    with store.begin() as connection:  # the customers table as an earlier version made it
        connection.execute(text("ALTER TABLE customers DROP COLUMN pd_term"))
    url = store.engine.url.render_as_string(hide_password=False)
    reopened = Store.open(url)
    try:
        assert reopened.watchlist(Filters({}), None, offset=0, limit=10_000) == before
        customer_id = before[0][0]["customer_id"]
        assert reopened.customer(customer_id)["pd_term"] == []  # until its next score
    finally:
        reopened.close()


def test_filters_and_pages_agree_with_the_whole_list(store: Store, web_run: Path) -> None:
    _follow_all(Follower(web_run, store))
    everything, total = store.watchlist(Filters({"include_defaulted": "yes"}), None,
                                        offset=0, limit=10_000)
    pages = [store.watchlist(Filters({"include_defaulted": "yes"}), None, offset=o,
                             limit=7)[0] for o in range(0, total, 7)]
    assert [r["customer_id"] for page in pages for r in page] == [
        r["customer_id"] for r in everything]
    sample = everything[len(everything) // 2]
    checks = {"grade": ("grade", sample["grade"]), "country": ("country", sample["country"]),
              "industry": ("industry", sample["industry"])}
    for name, (column, value) in checks.items():
        rows, n = store.watchlist(Filters({name: value, "include_defaulted": "yes"}), None,
                                  offset=0, limit=10_000)
        assert n == len(rows) == sum(r[column] == value for r in everything) > 0
    exposed = [r["exposure"] for r in everything if r["exposure"] is not None]
    low, high = sorted(exposed)[len(exposed) // 4], sorted(exposed)[3 * len(exposed) // 4]
    rows, _ = store.watchlist(Filters({"min_exposure": str(low), "max_exposure": str(high),
                                       "include_defaulted": "yes"}), None, offset=0,
                              limit=10_000)
    assert rows and all(low <= r["exposure"] <= high for r in rows)
    warned = [r for r in everything if r["warning_kind"] == "early_warning"]
    rows, _ = store.watchlist(Filters({"kind": "early_warning", "acknowledged": "no",
                                       "include_defaulted": "yes"}), None, offset=0,
                              limit=10_000)
    assert {r["customer_id"] for r in rows} == {r["customer_id"] for r in warned}
    sme = frozenset({"sme"})
    rows, _ = store.watchlist(Filters({"include_defaulted": "yes"}), sme, offset=0,
                              limit=10_000)
    assert rows and {r["customer_id"] for r in rows} == {
        r["customer_id"] for r in everything if "sme" in r["tags"]}
    hostile, _ = store.watchlist(Filters({"q": "%_\\", "include_defaulted": "yes"}), None,
                                 offset=0, limit=10)
    assert hostile == []  # wildcards in a search are plain characters


def test_grade_migration_between_any_two_consecutive_month_ends(store: Store,
                                                                web_run: Path) -> None:
    _follow_all(Follower(web_run, store))
    grades: dict[str, dict[str, str]] = {}  # month end (date) -> customer -> grade
    for row in read_jsonl(web_run / "scores.jsonl"):
        if row["month_end"] and not row["defaulted"]:  # a default leaves the grades
            grades.setdefault(row["event_time"][:10], {})[row["customer_id"]] = row["grade"]
    dates = sorted(grades, reverse=True)
    assert len(dates) >= 3
    latest = store.migration(None)
    assert [m[:10] for m in latest["months"]] == dates
    for k in (0, 1):  # the latest month end (the default), and the one before it
        asked = store.migration(None, latest["months"][k] if k else None)
        new, old = grades[dates[k]], grades[dates[k + 1]]
        expected = Counter((old[c], new[c]) for c in new.keys() & old.keys())
        assert (asked["to"][:10], asked["from"][:10]) == (dates[k], dates[k + 1])
        assert asked["counts"] == dict(expected) and sum(expected.values()) > 0
    assert store.migration(None, latest["months"][-1])["to"] == latest["months"][0]


def test_the_follower_waits_for_whole_lines_and_rereads_a_replaced_file(
        store: Store, web_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    lines = (web_run / "warnings.jsonl").read_bytes().split(b"\n")[:3]
    target = out / "warnings.jsonl"
    target.write_bytes(lines[0] + b"\n" + lines[1][:40])
    follower = Follower(out, store)
    assert follower.poll() == 1
    with target.open("ab") as handle:
        handle.write(lines[1][40:] + b"\n")
    assert follower.poll() == 1 and follower.poll() == 0
    replaced = out / "replacement"
    replaced.write_bytes(lines[2] + b"\n")
    target.unlink()
    shutil.move(replaced, target)  # a new run: a new file
    assert follower.poll() == 1
    ids = {json.loads(line)["warning_id"] for line in lines}
    assert all(store.warning(i) is not None for i in ids)


def _insert_lines(path: Path, extra: list[bytes]) -> int:
    """Put ``extra`` lines in the middle of the file at ``path``; the byte offset of the
    last of them."""
    lines = path.read_bytes().split(b"\n")
    middle = len(lines) // 2
    path.write_bytes(b"\n".join(lines[:middle] + extra + lines[middle:]))
    return sum(len(line) + 1 for line in lines[:middle] + extra[:-1])


def _damage(run: Path) -> dict[str, tuple[int, int]]:
    """Damaged lines in the middle of the run's warnings, scores and watchlist, each of
    which would change what the workspace shows if it were read: per file, how many and
    the byte offset of the last."""
    warning = read_jsonl(run / "warnings.jsonl")[0]
    score = next(s for s in read_jsonl(run / "scores.jsonl") if not s["defaulted"])
    listed = read_jsonl(run / WATCHLIST)[0]
    later = "2099-01-01T00:00:00Z"  # newer than anything: taken, it would be what is shown
    bad = {
        "warnings.jsonl": [b"{not json", b"[1, 2]",
                           json.dumps({**warning, "warning_id": "w-text-pd", "pd": "high",
                                       "event_time": later}).encode(),
                           json.dumps({**warning, "warning_id": "w-odd-1", "event_time": later,
                                       "horizon_months": "eight"}).encode(),
                           json.dumps({**warning, "warning_id": "w-odd-2", "event_time": later,
                                       "reasons": [{"code": "x", "value": "big",
                                                    "contribution": "much"}]}).encode(),
                           json.dumps({**warning, "warning_id": "w-odd-3", "event_time": later,
                                       "pd_term": "nope", "action": {"a": 1}}).encode()],
        "scores.jsonl": [json.dumps({**score, "pd": float("nan"), "event_time": later}).encode(),
                         json.dumps({**score, "rank": "first", "event_time": later}).encode(),
                         json.dumps({**score, "pd_term": "soon", "event_time": later}).encode(),
                         json.dumps({**score, "event_time": "yesterday"}).encode()],
        "watchlist.jsonl": [b"{}", json.dumps({**listed, "pd": 2.0, "event_time": later,
                                               "grade": "A"}).encode()],
    }
    return {name: (len(lines), _insert_lines(run / name, lines)) for name, lines in bad.items()}


def test_damaged_lines_are_left_out_counted_and_the_rest_followed(
        store: Store, web_run: Path, tmp_path: Path) -> None:
    """A damaged line in a run's file (not JSON, not an object, a PD that is text, NaN or
    above 1, a rank or term structure of the wrong kind, a time that is not one, a warning
    whose horizon, reasons, term structure or action the pages could not show) is left
    out and counted with where and why; the workspace shows what the undamaged run shows,
    on SQLite and on PostgreSQL alike (which refuses text where it keeps numbers)."""
    run = tmp_path / "run"
    shutil.copytree(web_run, run)
    damaged = _damage(run)
    follower = Follower(run, store)
    _follow_all(follower)
    clean = Store.open(f"sqlite:///{tmp_path / 'clean.sqlite3'}")
    try:
        _follow_all(Follower(web_run, clean))
        everything = Filters({"include_defaulted": "yes"})
        expected = clean.watchlist(everything, None, offset=0, limit=10_000)
        assert store.watchlist(everything, None, offset=0, limit=10_000) == expected
        assert [w["warning_id"] for w in store.inbox(None, limit=100_000)] == [
            w["warning_id"] for w in clean.inbox(None, limit=100_000)]
        for row in expected[0]:  # each customer's page: latest score, term structure
            assert store.customer(row["customer_id"]) == clean.customer(row["customer_id"])
    finally:
        clean.close()
    skipped = follower.skipped()
    assert {name: (s["lines"], s["offset"]) for name, s in skipped.items()} == damaged
    assert "pd is not a probability" in skipped["watchlist.jsonl"]["reason"]
    with (run / "warnings.jsonl").open("ab") as handle:  # a good line more, read by a new
        handle.write((run / "warnings.jsonl").read_bytes().split(b"\n")[0] + b"\n")
    assert _follow_all(Follower(run, store)) == 1  # follower: the workspace started again
    assert Follower(run, store).skipped() == skipped  # the skipped lines counted once


def test_a_line_longer_than_a_read_is_left_out_and_the_next_ones_read(
        store: Store, web_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line longer than what one poll reads of a file (a damaged file: no run writes one)
    is left out and counted once its end is written; the lines after it are read."""
    monkeypatch.setattr("web.follow.CHUNK_BYTES", 4096)
    short = sorted((line for line in (web_run / "warnings.jsonl").read_bytes().splitlines()),
                   key=len)[:2]
    assert all(len(line) < 2048 for line in short)
    run = tmp_path / "run"
    run.mkdir()
    target = run / "warnings.jsonl"
    target.write_bytes(short[0] + b"\n" + b"x" * 10_000)
    follower = Follower(run, store)
    _follow_all(follower)
    assert follower.skipped() == {}  # the long line's end is not written yet
    with target.open("ab") as handle:
        handle.write(b"\n" + short[1] + b"\n")
    _follow_all(follower)
    assert all(store.warning(json.loads(line)["warning_id"]) is not None for line in short)
    skipped = follower.skipped()["warnings.jsonl"]
    assert (skipped["lines"], skipped["offset"]) == (1, len(short[0]) + 1)


def test_a_watchlist_row_without_a_limit_is_read_beside_rows_with_one(
        store: Store, web_run: Path, tmp_path: Path) -> None:
    """The monitor leaves out a watchlist row's limits where it has none: such a row and
    rows with them are read alike, each customer's PD and grade as listed."""
    run = tmp_path / "run"
    shutil.copytree(web_run, run)
    rows = read_jsonl(run / WATCHLIST)
    assert all("credit_limit" in row for row in rows)
    rows[1] = {k: v for k, v in rows[1].items() if k not in ("credit_limit", "exposure")}
    (run / WATCHLIST).write_text("".join(json.dumps(row) + "\n" for row in rows))
    follower = Follower(run, store)
    _follow_all(follower)
    assert follower.skipped() == {}
    listed = store.watchlist(Filters({"include_defaulted": "yes"}), None, offset=0,
                             limit=10_000)[0]
    assert {r["customer_id"]: (r["pd"], r["grade"]) for r in listed} == {
        r["customer_id"]: (r["pd"], r["grade"]) for r in rows}


def test_the_auditor_page_names_the_lines_left_out(web_run: Path, tmp_path: Path) -> None:
    """Served over HTTP, the auditor's page says how many lines of which file were left
    out, where the latest was and why, with the file's text escaped."""
    run = tmp_path / "run"
    shutil.copytree(web_run, run)
    with (run / "warnings.jsonl").open("ab") as handle:
        handle.write(b'{"warning_id": "w-1", "event_time": "<script>"}\n')
    erp = ErpReceiver()
    workspace = Workspace.create(web_settings(tmp_path / "state", erp.port,
                                              data_dir=tmp_path), run)
    _follow_all(workspace.follower)
    add_people(workspace.store)
    server = ServedWorkspace(build_app(workspace, follow_run=False))
    client = Client(server.url)
    try:
        assert client.sign_in("audrey", password_of("audrey")).status_code == 303
        page = client.get("/auditor").text
    finally:
        client.close()
        server.stop()
        workspace.store.close()
        erp.stop()
    shown = page.split('id="skipped">')[1].split("</td>")[0]
    offset = (web_run / "warnings.jsonl").stat().st_size
    assert shown.startswith(f"1 line of warnings.jsonl could not be read and was left out "
                            f"(the latest at byte {offset}: ValueError: ")
    assert "&lt;script&gt;" in shown and "<script>" not in page


def test_a_big_run_read_in_chunks_shows_what_one_read_of_it_shows(
        store: Store, web_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read a megabyte of a file at a time, by a new follower each time (a workspace started
    again and again), a finished run shows what it shows read in one go: a file's lines
    wait until the files before it (the log's profiles, warnings, scores, the watchlist)
    are read to their end, so an early score never overwrites the watchlist's figures."""
    whole = Store.open(f"sqlite:///{tmp_path / 'whole.sqlite3'}")
    try:
        _follow_all(Follower(web_run, whole))
        expected = whole.watchlist(Filters({"include_defaulted": "yes"}), None, offset=0,
                                   limit=10_000)[0]
    finally:
        whole.close()
    monkeypatch.setattr("web.follow.CHUNK_BYTES", 1 << 20)  # above the longest line
    assert (web_run / "scores.jsonl").stat().st_size > 4 << 20
    while Follower(web_run, store).poll():
        pass
    rows = store.watchlist(Filters({"include_defaulted": "yes"}), None, offset=0,
                           limit=10_000)[0]
    assert rows == expected


def _logged(feed: str, raw: dict) -> bytes:
    """One input record of the audit log, as the run writes it (fields the follower reads)."""
    return json.dumps({"kind": "input", "event_time": f"{raw['event_time']}T00:00:00Z",
                       "body": {"feed": feed, "raw": json.dumps(raw)}},
                      separators=(",", ":")).encode() + b"\n"


def test_a_follower_started_after_the_rates_converts_a_later_profile_at_them(
        store: Store, tmp_path: Path) -> None:
    """A workspace started again after reading the day's exchange rate converts a profile
    logged after that at the rate, as one that read both lines would."""
    rate = _logged("fx", {"event_time": "2021-01-01", "event_id": "fx-1", "base": "EUR",
                          "currency": "GBP", "rate": 0.85})
    profile = _logged("customers", {"event_time": "2021-01-02", "event_id": "c-1",
                                    "customer_id": "C1", "currency": "GBP",
                                    "credit_limit": "45000.00"})
    both, run = tmp_path / "both", tmp_path / "run"
    for folder in (both, run):
        (folder / "audit" / "ids-0").mkdir(parents=True)
    (both / "audit" / "ids-0" / "segment-000000.jsonl").write_bytes(rate + profile)
    segment = run / "audit" / "ids-0" / "segment-000000.jsonl"
    segment.write_bytes(rate)
    assert Follower(run, store).poll() == 1
    with segment.open("ab") as handle:
        handle.write(profile)
    assert Follower(run, store).poll() == 1  # a new follower: the workspace started again
    one_go = Store.open(f"sqlite:///{tmp_path / 'one-go.sqlite3'}")
    try:
        Follower(both, one_go).poll()
        expected = one_go.customer("C1")["credit_limit"]
    finally:
        one_go.close()
    assert store.customer("C1")["credit_limit"] == expected
    assert expected == pytest.approx(45000 / 0.85)


def test_a_new_run_in_the_folder_is_not_converted_at_the_last_runs_rates(
        store: Store, tmp_path: Path) -> None:
    """The same follower, after the run's log is replaced by a new run's, knows none of the
    old run's exchange rates: a profile in a currency the new run quotes no rate for has no
    limit in the reporting currency."""
    run = tmp_path / "run"
    (run / "audit" / "ids-0").mkdir(parents=True)
    segment = run / "audit" / "ids-0" / "segment-000000.jsonl"
    segment.write_bytes(_logged("fx", {"event_time": "2021-01-01", "event_id": "fx-1",
                                       "base": "EUR", "currency": "GBP", "rate": 0.85}))
    follower = Follower(run, store)
    assert follower.poll() == 1
    replacement = run / "replacement"
    replacement.write_bytes(_logged("customers", {
        "event_time": "2021-01-02", "event_id": "c-1", "customer_id": "C1", "currency": "GBP",
        "credit_limit": "45000.00"}))
    segment.unlink()
    shutil.move(replacement, segment)  # a new run: a new file
    assert follower.poll() == 1
    assert store.customer("C1")["credit_limit"] is None


def test_cases_and_decisions_are_stored_once(store: Store) -> None:
    case = {"case_id": "case-1", "warning_id": "w-1", "customer_id": "C1", "status": "open",
            "opened_by": "alice", "opened_at": "2026-01-01T00:00:00.000000Z"}
    assert store.add_case(case) and not store.add_case({**case, "case_id": "case-2"})
    store.add_proposal({"proposal_id": "case-1-p1", "case_id": "case-1",
                        "action": "hold_orders", "amount": None, "comment": "x",
                        "proposed_by": "alice", "proposed_at": "2026-01-01T00:00:01Z",
                        "idempotency_key": "k"})
    assert store.get_case("case-1")["status"] == "proposed"
    decision = {"decision": "approved", "decided_by": "bob", "decided_at": "t",
                "decision_comment": ""}
    assert store.decide("case-1-p1", "case-1", decision, "approved")
    assert not store.decide("case-1-p1", "case-1", {**decision, "decided_by": "eve"}, "open")
    assert store.proposal("case-1-p1")["decided_by"] == "bob"
    assert store.get_case("case-1")["status"] == "approved"


@pytest.mark.postgres
def test_the_workspace_serves_from_postgresql(web_run: Path, postgres: object,
                                             tmp_path: Path) -> None:
    """The same pages and answers on PostgreSQL as on SQLite."""
    answers = {}
    erp = ErpReceiver()
    try:
        for name, url in (("sqlite", None), ("postgres", postgres.database("served"))):
            settings = web_settings(tmp_path / name / "state", erp.port,
                                    data_dir=tmp_path / name,
                                    **({"database": url} if url else {}))
            workspace = Workspace.create(settings, web_run)
            assert workspace.store.dialect == name.replace("postgres", "postgresql")
            _follow_all(workspace.follower)
            add_people(workspace.store)
            server = ServedWorkspace(build_app(workspace, follow_run=False))
            client = Client(server.url)
            try:
                assert client.sign_in("bob", "pw-bob-long-enough").status_code == 303
                answers[name] = client.get("/api/watchlist?size=25&grade=E&include_defaulted"
                                           "=yes").json()
                assert client.get("/portfolio").status_code == 200
                assert "postgresql" not in client.get("/watchlist").text
            finally:
                client.close()
                server.stop()
                workspace.store.close()
    finally:
        erp.stop()
    assert answers["sqlite"] == answers["postgres"] and answers["sqlite"]["rows"]


TRICKY_TAGS = ["corporate", 'x", "corporate', '"corporate"', "corporate ", "Corporate",
               "corp%", "corpo_ate", "corporate\\", '\\"corporate', "\x00corporate",
               "corporate\x00", "corporat\u00e9", "\u202ecorporate", "\U0001f600", "[]", ""]
"""Tags that hold, or look like, another tag as the JSON list of tags spells it."""


def test_a_desk_has_the_customers_carrying_one_of_its_tags_whole(store: Store,
                                                                 tmp_path: Path) -> None:
    """On SQLite and PostgreSQL alike, a desk's customers (listed, or one opened) are those
    with a tag equal to one of the desk's, never one whose tag merely holds its text; a
    tag written with a NUL by an earlier version does not count as the text before it."""
    from sqlalchemy import update

    from web.tables import customers

    segment = tmp_path / "run" / "audit" / "ids-0" / "segment-000000.jsonl"
    segment.parent.mkdir(parents=True)
    tagged = {f"C{i}": ["sme", tag] for i, tag in enumerate(TRICKY_TAGS)}
    segment.write_bytes(b"".join(_logged("customers", {
        "event_time": "2021-01-02", "event_id": f"c-{cid}", "customer_id": cid,
        "name": cid, "tags": tags}) for cid, tags in tagged.items()))
    Follower(tmp_path / "run", store).poll()
    with store.begin() as connection:
        connection.execute(customers.insert().values(  # as an earlier version wrote it
            customer_id="OLD", tags=json.dumps(["corporate\x00x", "sme"])))
        connection.execute(update(customers).values(pd=0.1))
    desks = [frozenset({tag}) for tag in TRICKY_TAGS if "\x00" not in tag]
    for desk in [*desks, frozenset({"corporate", "corp%"}), frozenset({"nobody"})]:
        expected = {cid for cid, tags in tagged.items() if desk & set(tags)}
        listed, total = store.watchlist(Filters({}), desk, offset=0, limit=100)
        assert {r["customer_id"] for r in listed} == expected and total == len(expected), desk
        assert {cid for cid in tagged if store.in_portfolio(cid, desk)} == expected, desk
    assert not store.in_portfolio("OLD", frozenset({"corporate"}))
    assert store.customer("C9")["tags"] == ["sme", "\ufffdcorporate"]  # NUL kept as U+FFFD


def test_a_desks_filter_choices_and_open_cases_are_its_own(store: Store,
                                                           web_run: Path) -> None:
    """On SQLite and PostgreSQL alike, the watchlist's filter choices of a desk are the
    countries, industries and kinds of its own customers, and its open cases come a page at
    a time, newest first, with how many there are (finished cases and other desks' left
    out)."""
    from sqlalchemy import select

    from web.tables import customers

    _follow_all(Follower(web_run, store))
    with store.engine.connect() as connection:
        book = [dict(r._mapping) for r in connection.execute(select(customers))]
    for desk in (frozenset({"sme"}), frozenset({"corporate"}), None):
        mine = [r for r in book if desk is None or desk & set(json.loads(r["tags"]))]
        offered = store.choices(desk)
        for name, column in (("country", "country"), ("industry", "industry"),
                             ("kind", "warning_kind")):
            assert offered[name] == sorted({r[column] for r in mine if r[column]}), (desk, name)
    sme = [r["customer_id"] for r in book if "sme" in json.loads(r["tags"])]
    corporate = [r["customer_id"] for r in book if "corporate" in json.loads(r["tags"])]
    for number, (customer_id, status) in enumerate(
            [(c, "open") for c in sme[:4]] + [(sme[4], "proposed"), (sme[5], "closed"),
                                              (corporate[0], "open")]):
        store.add_case({"case_id": f"case-{number}", "warning_id": f"w-{number}",
                        "customer_id": customer_id, "status": status, "opened_by": "alice",
                        "opened_at": f"2026-01-01T00:00:0{number}.000000Z"})
    pages = [store.open_cases(frozenset({"sme"}), offset=offset, limit=2)
             for offset in (0, 2, 4)]
    assert [total for _, total in pages] == [5, 5, 5]
    assert [c["case_id"] for rows, _ in pages for c in rows] == [
        "case-4", "case-3", "case-2", "case-1", "case-0"]
    assert store.open_cases(None, offset=0, limit=200)[1] == 6
