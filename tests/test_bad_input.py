"""Bad input at volume: a simulated book with a few thousand mutated records mixed in
(`mutations.mutate_book`) gives exactly the results of the clean book, on one and two
workers, with and without recovery; a book whose valid text is hostile runs cleanly too."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from mutations import Manifest, hostile_book, mutate_book

from config.settings import RecoverySettings, Settings
from connectors.simulator import simulate
from flows.run import DEADLETTER, SCORES, STATS, WARNINGS, WATCHLIST, RunSummary, run_folder

SETTINGS = Settings()
RESULTS = (WARNINGS, SCORES, WATCHLIST)
SEED = 11
AMBIGUOUS = frozenset(("late", "implausible_time"))
"""Reasons the manifest cannot pin down: a record years away is one or the other."""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feeds = tmp_path_factory.mktemp("book")
    simulate(300, 24, seed=21, out=feeds)
    return feeds


@pytest.fixture(scope="module")
def clean(book: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunSummary]:
    out = tmp_path_factory.mktemp("clean")
    return out, run_folder(SETTINGS, book, out, scores=True, notify=False)


@pytest.fixture(scope="module")
def mutated(book: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    feeds = tmp_path_factory.mktemp("mutated")
    return feeds, mutate_book(book, feeds, seed=SEED)


def _assert_every_line_is_json(out: Path) -> None:
    for name in (*RESULTS, DEADLETTER, STATS):
        path = out / name
        for line in path.read_bytes().split(b"\n")[:-1] if path.exists() else ():
            json.loads(line)


@pytest.mark.parametrize(("workers", "recovery"), [(1, False), (2, False), (2, True)])
def test_mutated_records_change_nothing_but_the_dead_letters(
        clean: tuple[Path, RunSummary], mutated: tuple[Path, Manifest], tmp_path: Path,
        workers: int, recovery: bool) -> None:
    (clean_out, base), (feeds, manifest) = clean, mutated
    settings = SETTINGS
    if recovery:
        settings = SETTINGS.model_copy(
            update={"recovery": RecoverySettings(directory=tmp_path / "recovery")})
    out = tmp_path / "out"
    summary = run_folder(settings, feeds, out, scores=True, workers=workers, notify=False)

    assert summary.balanced, summary
    assert summary.read == base.read + manifest.added
    assert summary.accepted == base.accepted
    assert summary.duplicates == base.duplicates + manifest.duplicates
    assert summary.rejected == base.rejected + manifest.rejected
    for name in RESULTS:
        assert (out / name).read_bytes() == (clean_out / name).read_bytes(), name
    _assert_every_line_is_json(out)

    dead = [json.loads(line) for line in (out / DEADLETTER).read_bytes().splitlines()]
    found = {(row["origin"]["file"], row["origin"]["line"]): row["reason"] for row in dead}
    wrong = Counter()
    for mutant in manifest.mutants:
        reason = found.get((mutant.file, mutant.line))
        expected = "duplicate" if mutant.outcome == "duplicate" else mutant.reason
        if reason != expected and not {reason, expected} <= AMBIGUOUS:
            wrong[(mutant.kind, expected, reason)] += 1
    assert not wrong, wrong


def test_hostile_text_in_valid_records_runs_alike_on_any_number_of_workers(
        book: Path, clean: tuple[Path, RunSummary], tmp_path: Path) -> None:
    feeds = tmp_path / "hostile"
    hostile_book(book, feeds, seed=SEED)
    one = run_folder(SETTINGS, feeds, tmp_path / "one", scores=True, notify=False)
    two = run_folder(SETTINGS, feeds, tmp_path / "two", scores=True, workers=2, notify=False)
    assert one == two and one.accepted == clean[1].accepted and one.rejected == 0
    assert one.warnings == clean[1].warnings
    for name in RESULTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    _assert_every_line_is_json(tmp_path / "one")

