"""Feed sources as plugins, found by entry point, and the small base a new one needs.

A source plugin is an entry point in the group ``creditradar.sources`` naming a callable
``(settings, **options) -> Feeds`` (see `connectors.partition`). Most connectors only know
how to iterate their records in event-time order; `IterableFeeds` turns such an iterator
into feeds the monitor can run: one input, validated and scheduled like any feed file,
resumable. Notification channels have their own group, ``creditradar.channels``
(connectors.channels).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any

from config.errors import ConnectorError
from config.settings import Settings
from connectors.partition import Feeds, RawLine, RecordInput
from connectors.records import RawRecord

SOURCE_GROUP = "creditradar.sources"


def available_sources() -> list[str]:
    """Names of the installed source plugins."""
    return sorted(ep.name for ep in entry_points(group=SOURCE_GROUP))


def configured_options(name: str, settings: Settings) -> dict[str, str]:
    """The options the settings hold for source plugin ``name`` (``sources.NAME``)."""
    return {key: value.get_secret_value()
            for key, value in settings.sources.get(name, {}).items()}


def load_source(name: str, settings: Settings, **options: Any) -> Feeds:
    """Build the source plugin ``name`` with ``options`` (strings from the command line) over
    those its settings hold (`configured_options`)."""
    options = {**configured_options(name, settings), **options}
    found = [ep for ep in entry_points(group=SOURCE_GROUP) if ep.name == name]
    if not found:
        raise ConnectorError(f"no source plugin {name!r}; installed: "
                             f"{', '.join(available_sources()) or 'none'}")
    try:
        factory = found[0].load()
    except Exception as exc:  # a typo in the entry point's module or function
        raise ConnectorError(f"source plugin {name!r} cannot be loaded from "
                             f"{found[0].value}: {type(exc).__name__}: {exc}") from exc
    try:  # check the options against the signature, so a TypeError inside is not masked
        inspect.signature(factory).bind(settings, **options)
    except TypeError as exc:
        # names only (bind's message too): a value may be a token given on the command line
        given = ", ".join(f"-o {key}=..." for key in sorted(options)) or "none"
        raise ConnectorError(f"source plugin {name!r}: {exc} (options given: {given})"
                             ) from exc
    try:
        feeds = factory(settings, **options)
    except ConnectorError:
        raise
    except Exception as exc:  # the message may quote an option: the command hides them
        raise ConnectorError(f"source plugin {name!r} failed to start: "
                             f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(feeds, Feeds):
        raise ConnectorError(f"source plugin {name!r} returned {type(feeds).__name__}, "
                             "not connectors.partition.Feeds")
    return feeds


class _IterableInput(RecordInput):
    """The records of an iterator, read again from the start on resume (its position is how
    many were read)."""

    kind = "plugin"

    def __init__(self, name: str, records: Iterator[RawRecord], skip: int) -> None:
        self.name = name
        self.feed = "plugin"
        self._records = records
        self._read = 0
        self._ended = False
        for _ in range(skip):
            self._next()

    @property
    def ended(self) -> bool:
        return self._ended

    def position(self) -> int:
        return self._read

    def read(self) -> RawLine | None:
        record = self._next()
        if record is None:
            return None
        return RawLine(record.raw, self._read, feed=record.feed)

    def _next(self) -> RawRecord | None:
        """The plugin's next record; None at its end. What the plugin raises, or yields that
        is no `RawRecord` (a None its mapper returned for a row it skipped would otherwise
        end the input there), is a `ConnectorError` naming the input and the record."""
        try:
            record = next(self._records, _END)
        except Exception as exc:
            raise ConnectorError(f"source plugin input {self.name!r} failed reading record "
                                 f"{self._read + 1}: {type(exc).__name__}: {exc}") from exc
        if record is _END:
            self._ended = True
            return None
        if not (isinstance(record, RawRecord) and isinstance(record.feed, str)
                and isinstance(record.raw, bytes | bytearray)):
            what = (f"RawRecord({type(record.feed).__name__}, {type(record.raw).__name__})"
                    if isinstance(record, RawRecord) else type(record).__name__)
            raise ConnectorError(f"source plugin input {self.name!r} yielded {what} as record "
                                 f"{self._read + 1}, not connectors.records.RawRecord(feed "
                                 "name, raw bytes)")
        self._read += 1
        return RawRecord(record.feed, bytes(record.raw))


_END = object()
"""What `next` gives at the end of a plugin's records (None could be one of them)."""


class IterableFeeds(Feeds):
    """Feeds from ``records()``: raw records (of any feeds) in event-time order, all feeds
    interleaved in one order (they share one clock: a feed yielded after another has ended
    would come late). ``records`` is called again on resume, and must give the same records
    in the same order (the first ones, already read, are skipped)."""

    def __init__(self, records: Callable[[], Iterator[RawRecord]], name: str = "plugin"):
        if not callable(records):
            raise ConnectorError(f"IterableFeeds takes a function that returns the records "
                                 f"(called again on resume), not a {type(records).__name__}")
        self.records = records
        self.name = name

    def partitions(self) -> list[str]:
        return [self.name]

    def input_names(self, partition: str) -> list[str]:
        return [self.name]

    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        try:
            records = iter(self.records())
        except Exception as exc:
            raise ConnectorError(f"source plugin input {self.name!r} failed to start: "
                                 f"{type(exc).__name__}: {exc}") from exc
        return [_IterableInput(self.name, records, positions.get(self.name, 0))]
