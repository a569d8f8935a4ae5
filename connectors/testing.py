"""The contract suite of a source connector: what every `Feeds` must do for the monitor to
read each record exactly once, however often a run is resumed.

Call `check_source` from a test of your own, with a function that builds the source afresh
(a run builds it, and a resumed run builds it again):

    from connectors.testing import check_source

    def test_my_source_keeps_the_contract():
        check_source(lambda: erp_book(Settings(), folder="tests/export"), all_valid=True)

It reads every record of every input, then again from positions taken along the way, and
fails with an AssertionError naming the partition, input and record where the source breaks
the contract:

- partitions: a non-empty list of distinct names, the same from every build (fixed by the
  data, never by the number of workers);
- inputs: `RecordInput`s named as `Feeds.input_names` says, with the text attributes
  ``feed``, ``name`` and ``kind``;
- reading: `RawLine`s of bytes until the input has `ended` (one that is not live never
  answers None before its end), at positions that pickle (bytewax snapshots them);
- resuming: reopened at the position taken after any record, an input reads exactly the
  records after it;
- records: each one the contract accepts, or refuses with a `ContractError` (it becomes a
  dead letter); with ``all_valid``, each is accepted, and each input's accepted records come
  in event-time order, none more than ``lateness_days`` behind the latest before it (the
  monitor would refuse it as ``late``).

A live input (a topic read without an end) is read until it has caught up.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.errors import ContractError
from connectors.contracts import parse_record
from connectors.partition import Feeds, RawLine, RecordInput, checked_inputs
from detectors.clock import DAY

LIVE_PATIENCE_SECONDS = 60.0
"""How long a live input may read nothing, without catching up, before the suite fails."""


@dataclass(frozen=True, slots=True)
class _Read:
    """One record as an input gave it: its feed, bytes, and whether it could be read."""

    feed: str
    raw: bytes
    unreadable: bool


def check_source(build: Callable[[], Feeds], *, all_valid: bool = False,
                 resume_points: int = 5, lateness_days: int = 7) -> dict[str, int]:
    """Check the source ``build`` makes against the contract above; the records read per
    input (``partition/input``), for a test's own assertions."""
    feeds = build()
    partitions = feeds.partitions()
    assert isinstance(partitions, list) and partitions, (
        f"partitions() must be a non-empty list, got {partitions!r}")
    assert all(isinstance(p, str) for p in partitions), "partition names must be text"
    assert len(set(partitions)) == len(partitions), f"partition names repeat: {partitions}"
    assert build().partitions() == partitions, (
        "partitions() differ between two builds: a resumed run would not find its state")
    counts: dict[str, int] = {}
    for partition in partitions:
        names = feeds.input_names(partition)
        inputs = checked_inputs(partition, feeds.open(partition, {}))
        unread = list(inputs)
        try:
            assert [source.name for source in inputs] == names, (
                f"partition {partition!r}: open() gave inputs {[s.name for s in inputs]}, "
                f"input_names() says {names}")
            for source in inputs:
                where = f"partition {partition!r}, input {source.name!r}"
                unread.remove(source)
                try:  # closed before it is reopened to resume, as a resumed run does
                    records, positions = _read_all(source, where)
                finally:
                    source.close()
                counts[f"{partition}/{source.name}"] = len(records)
                _check_records(records, where, all_valid, lateness_days)
                for cut in _cut_points(len(records), resume_points):
                    rest = _resumed(build, partition, source.name, positions[cut], where)
                    assert rest == records[cut + 1:], (
                        f"{where}: resumed after record {cut + 1} of {len(records)}, it read "
                        f"{len(rest)} records, not the {len(records) - cut - 1} after it (or "
                        "other ones): a resumed run would lose or repeat records")
        finally:
            _close(unread)
    return counts


def _read_all(source: RecordInput, where: str) -> tuple[list[_Read], list[Any]]:
    """Every record of ``source`` to its end, and its position after each."""
    records: list[_Read] = []
    positions: list[Any] = []
    idle_since: float | None = None
    while True:
        line = source.read()
        if line is None:
            if source.ended or (source.live and source.caught_up()):
                break
            assert source.live, (
                f"{where}: read() gave None after record {len(records)} but the input has "
                "not ended (only a live input may have nothing now)")
            idle_since = idle_since or time.monotonic()
            assert time.monotonic() - idle_since < LIVE_PATIENCE_SECONDS, (
                f"{where}: a live input read nothing for {LIVE_PATIENCE_SECONDS} s and never "
                "caught up")
            time.sleep(0.01)
            continue
        idle_since = None
        assert isinstance(line, RawLine) and isinstance(line.raw, bytes), (
            f"{where}: record {len(records) + 1} is {type(line).__name__}, not a RawLine of "
            "bytes")
        position = source.position()
        try:
            pickle.dumps(position)
        except Exception as exc:
            raise AssertionError(f"{where}: the position after record {len(records) + 1} "
                                 f"does not pickle ({exc}): bytewax snapshots it") from exc
        records.append(_Read(line.feed or source.feed, line.raw, line.problem is not None))
        positions.append(position)
    return records, positions


def _resumed(build: Callable[[], Feeds], partition: str, name: str, position: Any,
             where: str) -> list[_Read]:
    """The records an input of a fresh build reads from ``position`` on."""
    inputs = checked_inputs(partition, build().open(partition, {name: position}))
    try:
        found = [source for source in inputs if source.name == name]
        assert found, f"{where}: reopened at a position, open() no longer gives the input"
        return _read_all(found[0], where)[0]
    finally:
        _close(inputs)


def _close(inputs: list[RecordInput]) -> None:
    for source in inputs:
        source.close()


def _cut_points(count: int, points: int) -> list[int]:
    """Up to ``points`` record indexes spread evenly over ``count`` records: the last (a
    resume after it reads nothing), and with two or more points the first."""
    if count == 0 or points < 1:
        return []
    if points == 1:
        return [count - 1]
    return sorted({round(i * (count - 1) / (points - 1)) for i in range(points)})


def _check_records(records: list[_Read], where: str, all_valid: bool,
                   lateness_days: int) -> None:
    """Each record accepted or refused by the contract, and with ``all_valid`` accepted and
    in event-time order."""
    latest: int | None = None
    for number, record in enumerate(records, start=1):
        if record.unreadable:
            assert not all_valid, f"{where}: record {number} could not be read"
            continue
        try:
            event = parse_record(record.feed, record.raw)
        except ContractError as exc:
            assert not all_valid, f"{where}: record {number} is refused: {exc}"
            continue
        except Exception as exc:
            raise AssertionError(f"{where}: record {number} neither parses nor is refused "
                                 f"by the contract: {type(exc).__name__}: {exc}") from exc
        if all_valid and latest is not None:
            behind = (latest - event.at) / DAY
            assert behind <= lateness_days, (
                f"{where}: record {number} is {behind:.1f} days behind the latest before it: "
                "the monitor would refuse it as late (records of an input come in event-time "
                "order)")
        latest = event.at if latest is None else max(latest, event.at)
