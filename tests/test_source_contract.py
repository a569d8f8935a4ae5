"""The source contract suite (`connectors.testing.check_source`) holds for the built-in
sources and the README's connector, and fails, naming where, on sources that break it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_readme_connector import export, readme_connector

from config.settings import Settings
from connectors.files import FolderFeeds
from connectors.partition import Feeds, RawLine, RecordInput
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


class _LastLineAgain(RecordInput):
    """An input whose position after its last record points at that record, as an offset
    taken before the last line's end would: a resumed run reads it twice."""

    feed = name = "customers"
    kind = "plugin"

    def __init__(self, records: list[RawRecord], at: int, steps: list[str]) -> None:
        self.records, self.at, self.steps = records, at, steps

    def read(self) -> RawLine | None:
        if self.ended:
            return None
        self.at += 1
        return RawLine(self.records[self.at - 1].raw, self.at)

    @property
    def ended(self) -> bool:
        return self.at >= len(self.records)

    def position(self) -> int:
        return min(self.at, len(self.records) - 1)

    def close(self) -> None:
        self.steps.append("closed")


class _Flawed(Feeds):
    """A source of one `_LastLineAgain`; ``steps`` records each opening and closing."""

    def __init__(self, records: list[RawRecord], steps: list[str]) -> None:
        self.records, self.steps = records, steps

    def partitions(self) -> list[str]:
        return ["customers"]

    def input_names(self, partition: str) -> list[str]:
        return ["customers"]

    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        self.steps.append("opened")
        return [_LastLineAgain(self.records, positions.get("customers", 0), self.steps)]


@pytest.mark.parametrize("count", [2, 7, 10, 12])
def test_a_resume_after_the_last_record_that_reads_it_again_fails(count: int) -> None:
    """Whatever the number of records, the suite resumes after the last one; every input it
    opens is closed, the failure's included, and before it is opened again (a source may
    allow one reader)."""
    steps: list[str] = []
    with pytest.raises(AssertionError, match=f"resumed after record {count} of {count}, it "
                                             "read 1 records"):
        check_source(lambda: _Flawed(GOOD[:count], steps))
    assert steps == ["opened", "closed"] * (len(steps) // 2) and len(steps) > 2
