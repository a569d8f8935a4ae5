"""The source contract suite (`connectors.testing.check_source`) holds for the built-in
sources and the README's connector, and fails, naming where, on sources that break it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_readme_connector import export, readme_connector

from config.settings import Settings
from connectors.files import FolderFeeds
from connectors.plugins import IterableFeeds
from connectors.records import RawRecord
from connectors.simulator import simulate
from connectors.testing import check_source


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contract") / "feeds"
    simulate(30, 6, 3, path)
    return path


def test_the_folder_source_keeps_the_contract(book: Path) -> None:
    counts = check_source(lambda: FolderFeeds(book), all_valid=True)
    lines = {name: len((book / name).read_bytes().splitlines()) for name in
             FolderFeeds(book).partitions()}
    assert counts == {f"{name}/{name}": count for name, count in lines.items()}


def test_the_readmes_connector_keeps_the_contract(tmp_path: Path) -> None:
    export(tmp_path / "export")
    erp_book = readme_connector()["erp_book"]
    counts = check_source(lambda: erp_book(Settings(), folder=str(tmp_path / "export")),
                          all_valid=True)
    assert counts == {"erp/erp": 3 + 30 + 23}


GOOD = [RawRecord("customers", json.dumps({
    "event_id": f"c{n}", "event_time": f"2024-01-{n + 1:02d}", "customer_id": f"C{n}",
    "name": f"Firm {n}", "currency": "EUR"}).encode()) for n in range(12)]


def test_a_source_that_cannot_replay_its_records_fails_on_resume() -> None:
    """An iterator shared between builds (a queue, a cursor) gives a resumed run the records
    after the ones the first run read, not the same ones again."""
    shared = iter(GOOD * 3)

    def records() -> Iterator[RawRecord]:
        return shared

    with pytest.raises(AssertionError, match="resumed after record 1 of"):
        check_source(lambda: IterableFeeds(records, name="queue"))


def test_partitions_named_by_the_moment_fail_the_contract() -> None:
    builds = itertools.count()

    def build() -> IterableFeeds:
        return IterableFeeds(lambda: iter(GOOD), name=f"run-{next(builds)}")

    with pytest.raises(AssertionError, match="differ between two builds"):
        check_source(build)


def test_records_out_of_event_time_order_fail_a_valid_book() -> None:
    late = [*GOOD[8:], *GOOD[:8]]
    with pytest.raises(AssertionError, match="days behind the latest before it"):
        check_source(lambda: IterableFeeds(lambda: iter(late)), all_valid=True)
