"""The embedded feed source: JSON Lines files in a folder, merged in event time.

Files are named after their feed (``payments.jsonl``, ``payments-0001.jsonl.gz``, ...); each
file is in event-time order and the partition merges them all. A partition's snapshot is its
byte position in every file, so a resumed run continues exactly where it stopped. Lines that
cannot be read (a truncated gzip member, a line over the size limit) become dead letters here;
everything else is passed on raw and validated by the flow.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from connectors.contracts import FEEDS, MAX_RECORD_BYTES
from connectors.intake import normalize_name
from connectors.records import DeadLetter, RawRecord, SourceDone, Watermark
from detectors.clock import DAY, parse_time, to_seconds

SourceItem = RawRecord | DeadLetter | Watermark | SourceDone
MAX_GAP_DAYS = 3660
"""A sharded partition steps through every day; a record dated this far ahead of the rest is
dead-lettered instead of making every partition walk to it."""
KEPT_OF_OVERSIZED = 65_536
_TIME = re.compile(rb'"event_time"\s*:\s*"([^"]{1,64})"')
_CUSTOMER = re.compile(rb'"customer_id"\s*:\s*"([^"]{0,256})"')
_COMPANY = re.compile(rb'"company_name"\s*:\s*"([^"]{0,256})"')


def feed_files(folder: Path) -> list[tuple[str, Path]]:
    """The feed files of a folder as (feed, path), in a fixed order; others are ignored."""
    found = []
    for feed in FEEDS:
        names = {p for pattern in (f"{feed}.jsonl", f"{feed}-*.jsonl", f"{feed}.jsonl.gz",
                                   f"{feed}-*.jsonl.gz") for p in folder.glob(pattern)}
        found.extend((feed, path) for path in sorted(names))
    return found


def event_seconds(line: bytes) -> int | None:
    """The event time of a raw line, read without parsing the JSON (for merging only)."""
    match = _TIME.search(line)
    if match is None:
        return None
    try:
        return to_seconds(parse_time(match.group(1).decode("ascii", "replace")))
    except ValueError:
        return None


def implausible(record: RawRecord, at: int, day: int) -> DeadLetter:
    """``record``, dated ``at``, as a dead letter: too far ahead of the feeds' ``day``. It must
    not move any clock (every partition would walk to a year like 2999)."""
    detail = (f"event time {at // DAY - day} days after the feeds' clock "
              f"(more than {MAX_GAP_DAYS}); probably a typo in the date")
    return DeadLetter(record.feed, "implausible_time", detail, record.raw, record.origin)


def oversized(feed: str, what: Literal["line", "message"], size: int, kept: bytes,
              origin: dict[str, Any]) -> DeadLetter:
    """A record of ``size`` bytes, over the limit, as a dead letter that keeps its head
    (``kept``) and says how to recognise it: its ``what`` is "line" or "message"."""
    detail = (f"{what} of {size} bytes exceeds {MAX_RECORD_BYTES}; the first {len(kept)} bytes "
              f"are kept (sha256 of kept part {hashlib.sha256(kept).hexdigest()})")
    return DeadLetter(feed, "too_large", detail, kept, origin)


def first_day(files: list[tuple[str, Path]]) -> int:
    """The earliest event-time day at the head of any file: every partition starts there."""
    days = []
    for feed, path in files:
        cursor = _Cursor(feed, path, 0, 0)
        while (line := cursor.read()) is not None:
            if line.error is None and (at := event_seconds(line.raw)) is not None:
                days.append(at // DAY)
                break
        if not cursor.done:
            cursor._finish()
    return min(days, default=0)


class Sharding:
    """Which shard a line belongs to: by customer id, stable across runs and processes.

    News that names a company instead of a customer id goes to the shard of the customer
    with that name or alias, so it stays in step with that customer's other events. Every
    partition indexes all master records before reading, so all agree on every line; the
    flow still resolves names in event time, this index only places the line.
    """

    def __init__(self, shards: int):
        self.shards = shards
        self._names: dict[str, bytes] = {}

    def learn(self, line: bytes) -> None:
        """Index the names of a customers.jsonl line."""
        try:
            obj = json.loads(line)
            names = [obj["name"], *obj.get("aliases", [])]
            customer_id = obj["customer_id"].encode()
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return
        for name in names:
            if isinstance(name, str):
                self._names[normalize_name(name)] = customer_id

    def shard_of(self, line: bytes) -> int:
        if self.shards == 1:
            return 0
        match = _CUSTOMER.search(line)
        key = match.group(1) if match else None
        if key is None and (named := _COMPANY.search(line)):
            name = named.group(1).decode("utf-8", "replace")
            key = self._names.get(normalize_name(name), named.group(1))
        return zlib.crc32(key) % self.shards if key is not None else 0


@dataclass(slots=True)
class _Line:
    raw: bytes
    number: int
    offset: int
    oversized: int = 0
    error: str | None = None


class _Cursor:
    """Reads one file line by line from a byte offset, never holding more than one line."""

    def __init__(self, feed: str, path: Path, offset: int, line: int):
        self.feed = feed
        self.path = path
        self.line = line
        self.done = offset < 0
        if not self.done:
            opener: Any = gzip.open if path.suffix == ".gz" else open
            self._file: IO[bytes] = opener(path, "rb")
            self._file.seek(offset)

    def read(self) -> _Line | None:
        if self.done:
            return None
        offset = self._file.tell()
        try:
            raw = self._file.readline(MAX_RECORD_BYTES + 1)
            if not raw:
                return self._finish()
            size = len(raw)
            if size > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                raw = raw[:KEPT_OF_OVERSIZED]  # skip the rest of the line, keep its head
                while chunk := self._file.readline(MAX_RECORD_BYTES):
                    size += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
        except (EOFError, OSError, zlib.error) as exc:
            self._finish()
            self.line += 1
            return _Line(b"", self.line, offset, error=f"{type(exc).__name__}: {exc}")
        self.line += 1
        oversized = size if size > MAX_RECORD_BYTES else 0
        return _Line(raw.rstrip(b"\r\n"), self.line, offset, oversized)

    def position(self, head: _Line | None) -> tuple[int, int]:
        """Where a resumed run must start: at the unconsumed head line, else where we are."""
        if head is not None:
            return head.offset, head.number - 1
        return (self._file.tell() if not self.done else -1), self.line

    def _finish(self) -> None:
        self.done = True
        self._file.close()


class _FolderPartition(StatefulSourcePartition[SourceItem, dict[str, Any]]):
    def __init__(self, name: str, shard: int, shards: int, files: list[tuple[str, Path]],
                 resume: dict[str, Any] | None, progress: Callable[[int], None] | None):
        self._name, self._shard, self._shards = name, shard, shards
        self._progress = progress
        state = resume or {"files": {}, "read": 0, "clock": 0, "done": False, "day": None}
        self._read: int = state["read"]
        self._clock: int = state["clock"]
        self._done: bool = state["done"]
        self._sharding = Sharding(shards)
        self._cursors: list[_Cursor] = []
        self._heads: dict[int, _Line] = {}
        self._heap: list[tuple[int, int]] = []
        for feed, path in files:
            if feed == "customers" and shards > 1:
                self._index_names(feed, path)
        for index, (feed, path) in enumerate(files):
            offset, line = state["files"].get(str(path), (0, 0))
            self._cursors.append(_Cursor(feed, path, offset, line))
            self._advance(index)
        self._day: int = state["day"] if state["day"] is not None else first_day(files)

    def next_batch(self) -> list[SourceItem]:
        """Everything of one event-time day, so that with one epoch per batch all partitions
        move through event time in step (the k-th batch of every partition is the same day)."""
        if self._done:
            raise StopIteration
        if not self._heap:
            self._done = True
            # idle: a finished partition must not hold the portfolio clock back
            return [Watermark(self._name, self._shards, self._clock, idle=True),
                    SourceDone(self._name, self._read)]
        if self._shards == 1:
            self._day = max(self._day, self._heap[0][0] // DAY)  # alone: skip empty days
        out: list[SourceItem] = [Watermark(self._name, self._shards, self._day * DAY)]
        end = (self._day + 1) * DAY
        consumed = 0
        while self._heap and self._heap[0][0] < end:
            at, index = heapq.heappop(self._heap)
            line = self._heads.pop(index)
            self._clock = max(self._clock, at)
            self._read += 1
            consumed += len(line.raw) + 1
            out.append(self._item(self._cursors[index], line))
            self._advance(index)
        while self._heap and self._heap[0][0] // DAY > self._day + MAX_GAP_DAYS:
            at, index = heapq.heappop(self._heap)  # a typo like year 2999 must not stall us
            self._read += 1
            out.append(self._implausible(self._cursors[index], self._heads.pop(index), at))
            self._advance(index)
        self._day += 1
        if self._progress is not None:
            self._progress(consumed)
        return out

    def snapshot(self) -> dict[str, Any]:
        files = {str(c.path): c.position(self._heads.get(i)) for i, c in enumerate(self._cursors)}
        return {"files": files, "read": self._read, "clock": self._clock, "done": self._done,
                "day": self._day}

    def close(self) -> None:
        for cursor in self._cursors:
            if not cursor.done:
                cursor._finish()

    def _index_names(self, feed: str, path: Path) -> None:
        cursor = _Cursor(feed, path, 0, 0)
        while (line := cursor.read()) is not None:
            self._sharding.learn(line.raw)

    def _advance(self, index: int) -> None:
        """Read the file's next line of this shard into the merge heap."""
        cursor = self._cursors[index]
        while (line := cursor.read()) is not None:
            # Every line belongs to exactly one shard, unreadable ones to the first.
            shard = 0 if line.error is not None else self._sharding.shard_of(line.raw)
            if shard != self._shard:
                continue
            at = event_seconds(line.raw) if line.error is None else None
            self._heads[index] = line
            heapq.heappush(self._heap, (self._clock if at is None else at, index))
            return

    def _implausible(self, cursor: _Cursor, line: _Line, at: int) -> DeadLetter:
        origin = {"file": cursor.path.name, "line": line.number}
        return implausible(RawRecord(cursor.feed, line.raw, origin), at, self._day)

    def _item(self, cursor: _Cursor, line: _Line) -> SourceItem:
        origin = {"file": cursor.path.name, "line": line.number}
        if line.error is not None:
            return DeadLetter(cursor.feed, "unreadable_file", line.error, b"", origin)
        if line.oversized:
            return oversized(cursor.feed, "line", line.oversized, line.raw, origin)
        return RawRecord(cursor.feed, line.raw, origin)


class FeedFolderSource(FixedPartitionedSource[SourceItem, dict[str, Any]]):
    """All feeds of a folder as one event-time-ordered stream per shard, a day per batch.

    With ``shards`` > 1 each partition reads every file but keeps only its customers'
    records (by a stable hash of the customer id), so workers split the portfolio. Run it with
    ``epoch_interval=timedelta(0)``: every batch is then an epoch, and since every partition's
    k-th batch holds the same day, bytewax's stateful steps see the days in order across
    workers, which is what makes a cluster decide exactly like one worker.
    """

    def __init__(self, folder: Path, shards: int = 1,
                 progress: Callable[[int], None] | None = None):
        self.folder = Path(folder)
        self.shards = shards
        self.progress = progress
        """Called with the bytes consumed after each batch (for a progress bar)."""

    def list_parts(self) -> list[str]:
        return [f"shard-{i}-of-{self.shards}" for i in range(self.shards)]

    def build_part(
        self, step_id: str, for_part: str, resume_state: dict[str, Any] | None
    ) -> _FolderPartition:
        shard = int(for_part.split("-")[1])
        files = feed_files(self.folder)
        return _FolderPartition(for_part, shard, self.shards, files, resume_state,
                                self.progress)


def folder_source(settings: Any, path: str, shards: int | str = 1) -> FeedFolderSource:
    """The ``folder`` source plugin: ``creditradar run --source folder -o path=feeds/``."""
    return FeedFolderSource(Path(path), shards=int(shards))
