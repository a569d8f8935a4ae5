"""The embedded feed source: JSON Lines files in a folder, one input per file.

Files are named after their feed (``payments.jsonl``, ``payments-0001.jsonl.gz``, ...) and
each is in event-time order. Every file is an input of its own partition (see
`connectors.partition`), so the workers share the files and the result never depends on how
many there are. A file's
position is its byte offset and line number. Lines end with LF or CRLF; a UTF-8 byte-order
mark at the start of a file is skipped. A line over the size limit, and the rest of a
truncated or corrupt gzip file, become dead letters here.
"""

from __future__ import annotations

import gzip
import os
import zlib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import IO, Any

from connectors.contracts import MAX_RECORD_BYTES
from connectors.partition import KEPT_OF_OVERSIZED, Feeds, RawLine, RecordInput, oversized
from detectors.events import FEEDS, Origin
from detectors.records import DeadLetter

BOM = b"\xef\xbb\xbf"
LINE_LIMIT = MAX_RECORD_BYTES + 2
"""Bytes read for one line at most: a record of the largest size and its CRLF."""


FEED_NAMING = (f"{', '.join(FEEDS)}; optionally -PART; .jsonl or .jsonl.gz")
"""How a feed file is named, as messages say it."""


def _named_as_feed(folder: Path) -> dict[Path, str]:
    """Every entry of ``folder`` named like a feed file (broken links too), with its feed;
    not one whose name is no UTF-8 (an input's name is text in every output)."""
    return {path: feed for path in folder.iterdir() for feed in FEEDS
            if _utf8(path.name) and any(fnmatchcase(path.name, pattern) for pattern in (
                f"{feed}.jsonl", f"{feed}-*.jsonl", f"{feed}.jsonl.gz", f"{feed}-*.jsonl.gz"))}


def _utf8(name: str) -> bool:
    """Whether a file name (bytes the file system gave as text, `os.fsdecode`) is UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def feed_files(folder: Path) -> list[tuple[str, Path]]:
    """The feed files of a folder as (feed, path), in a fixed order (a folder or a broken
    link named like one is no feed file: `ignored_entries` names it)."""
    named = _named_as_feed(folder)
    return [(feed, path) for feed in FEEDS
            for path in sorted(p for p, f in named.items() if f == feed and p.is_file())]


def ignored_entries(folder: Path) -> list[tuple[str, str]]:
    """(name, why) of every entry of a feeds folder that a run does not read, but hidden ones
    and evaluation's outcomes files: a misnamed feed, or a folder or broken link named like
    a feed file, is worth a word."""
    named = _named_as_feed(folder)
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "outcomes")) or (path in named and path.is_file()):
            continue
        if not _utf8(path.name):
            shown = os.fsencode(path.name).decode("utf-8", "backslashreplace")
            out.append((shown, "its name is not UTF-8; rename it to read it"))
        elif path in named:
            out.append((path.name, "not a file that can be read"))
        elif path.is_file():
            out.append((path.name, f"not a feed file ({FEED_NAMING})"))
    return out


class FileInput(RecordInput):
    """One feed file, read line by line from a byte offset, never holding more than a line."""

    kind = "file"

    def __init__(self, feed: str, path: Path, offset: int = 0, line: int = 0) -> None:
        self.feed = feed
        self.path = path
        self.name = path.name
        self._line = line
        self._ended = offset < 0
        self._file: IO[bytes] | None = None
        self._unopened: OSError | None = None
        """Why the file could not be opened (it went, or may not be read): the first `read`
        makes it a dead letter."""
        if not self._ended:
            opener: Any = gzip.open if path.suffix == ".gz" else open
            try:
                self._file = opener(path, "rb")
                self._file.seek(offset)  # type: ignore[union-attr]
            except OSError as exc:
                self._unopened = exc

    @property
    def ended(self) -> bool:
        return self._ended

    def position(self) -> tuple[int, int]:
        offset = -1 if self._ended or self._file is None else self._file.tell()
        return offset, self._line

    def read(self) -> RawLine | None:
        if self._unopened is not None:
            exc, self._unopened = self._unopened, None
            return self._unreadable(exc)
        if self._ended or self._file is None:
            return None
        at_start = self._line == 0
        try:
            limit = LINE_LIMIT + len(BOM) if at_start else LINE_LIMIT
            raw = self._file.readline(limit)
            if not raw:
                self._finish()
                return None
            size = len(raw)
            last = raw
            if size == limit and not raw.endswith(b"\n"):
                raw = raw[:KEPT_OF_OVERSIZED]  # skip the rest of the line, keep its head
                while chunk := self._file.readline(MAX_RECORD_BYTES):
                    size += len(chunk)
                    last = chunk
                    if chunk.endswith(b"\n"):
                        break
        except (EOFError, OSError, zlib.error) as exc:
            return self._unreadable(exc)
        if at_start and raw == BOM:  # a byte-order mark and nothing else: an empty file
            self._finish()
            return None
        self._line += 1
        if at_start and raw.startswith(BOM):
            raw = raw[len(BOM):]
            size -= len(BOM)
        size -= _line_end(last)
        raw = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
        if size > MAX_RECORD_BYTES:
            kept = raw[:KEPT_OF_OVERSIZED]
            return RawLine(kept, self._line, oversized(self.feed, "line", size, kept,
                                                       self._origin()))
        return RawLine(raw, self._line)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _origin(self) -> Origin:
        return Origin(self.kind, self.name, self._line)

    def _finish(self) -> None:
        self._ended = True
        self.close()

    def _unreadable(self, exc: Exception) -> RawLine:
        """The rest of the file as one dead letter: it cannot be read."""
        self._finish()
        self._line += 1
        problem = DeadLetter(self.feed, "unreadable_file", f"{type(exc).__name__}: {exc}",
                             b"", self._origin())
        return RawLine(b"", self._line, problem)


def damage(feed: str, path: Path) -> DeadLetter | None:
    """Why feed file ``path`` cannot be read whole (the ``unreadable_file`` dead letter a run
    would give, at the line where it would), or None. A gzip file is read to its end, since
    a file cut short breaks only there; another file is only opened."""
    reader = FileInput(feed, path)
    try:
        while (line := reader.read()) is not None:
            if line.problem is not None and line.problem.reason == "unreadable_file":
                return line.problem
            if path.suffix != ".gz":
                return None
        return None
    finally:
        reader.close()


def _line_end(line: bytes) -> int:
    """The length of the line end a line was read with (CRLF, LF or none at the file's end)."""
    if line.endswith(b"\r\n"):
        return 2
    return 1 if line.endswith(b"\n") else 0


class FolderFeeds(Feeds):
    """Every feed file of a folder, one partition and input each."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._files = {path.name: (feed, path) for feed, path in feed_files(self.folder)}

    def partitions(self) -> list[str]:
        return list(self._files)

    def input_names(self, partition: str) -> list[str]:
        return [partition]

    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        feed, path = self._files[partition]
        offset, line = positions.get(partition, (0, 0))
        return [FileInput(feed, path, offset, line)]


def folder_source(settings: Any, path: str) -> FolderFeeds:
    """The ``folder`` source plugin: ``creditradar run --source folder -o path=feeds/``."""
    return FolderFeeds(Path(path))
