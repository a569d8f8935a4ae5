"""Feed sources as plugins, found by entry point, and the small base a new one needs.

A source plugin is an entry point in the group ``creditradar.sources`` naming a callable
``(settings, **options) -> bytewax Source``. Most connectors only know how to iterate their
records in event-time order; `IterableSource` turns such an iterator into a source the
monitor can run (one event-time day per batch, watermarks, a final count, resumable).
Notification channels have their own group, ``creditradar.channels`` (connectors.channels).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any

from bytewax.inputs import FixedPartitionedSource, Source, StatefulSourcePartition

from config.errors import ConnectorError
from config.settings import Settings
from connectors.files import SourceItem, event_seconds
from connectors.records import RawRecord, SourceDone, Watermark
from detectors.clock import DAY

SOURCE_GROUP = "creditradar.sources"


def available_sources() -> list[str]:
    """Names of the installed source plugins."""
    return sorted(ep.name for ep in entry_points(group=SOURCE_GROUP))


def load_source(name: str, settings: Settings, **options: Any) -> Source[Any]:
    """Build the source plugin ``name`` with ``options`` (strings from the command line)."""
    found = [ep for ep in entry_points(group=SOURCE_GROUP) if ep.name == name]
    if not found:
        raise ConnectorError(f"no source plugin {name!r}; installed: "
                             f"{', '.join(available_sources()) or 'none'}")
    factory = found[0].load()
    try:  # check the options against the signature, so a TypeError inside is not masked
        inspect.signature(factory).bind(settings, **options)
    except TypeError as exc:
        raise ConnectorError(f"source plugin {name!r} does not take options {options}") from exc
    return factory(settings, **options)


class _IterablePartition(StatefulSourcePartition[SourceItem, int]):
    def __init__(self, records: Iterator[RawRecord], skip: int):
        self._records = records
        self._position = skip
        for _ in range(skip):  # resume: the iterator restarts, so skip what was emitted
            next(self._records, None)
        self._pending: RawRecord | None = next(self._records, None)
        self._clock = 0
        self._done = False

    def next_batch(self) -> list[SourceItem]:
        if self._done:
            raise StopIteration
        if self._pending is None:
            self._done = True
            return [Watermark("iterable", 1, self._clock), SourceDone("iterable",
                                                                      self._position)]
        first = event_seconds(self._pending.raw)
        day = (first if first is not None else self._clock) // DAY
        out: list[SourceItem] = [Watermark("iterable", 1, day * DAY)]
        while self._pending is not None:
            at = event_seconds(self._pending.raw)
            if at is not None and at // DAY > day:
                break
            self._clock = max(self._clock, at or 0)
            out.append(self._pending)
            self._position += 1
            self._pending = next(self._records, None)
        return out

    def snapshot(self) -> int:
        return self._position


class IterableSource(FixedPartitionedSource[SourceItem, int]):
    """A source over ``records()``: raw records in event-time order, read again from the
    start on resume (the snapshot is how many were emitted)."""

    def __init__(self, records: Callable[[], Iterator[RawRecord]]):
        self.records = records

    def list_parts(self) -> list[str]:
        return ["iterable"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None
                   ) -> _IterablePartition:
        return _IterablePartition(self.records(), resume_state or 0)
