"""What a source connector hands the monitor: raw records of a feed.

A connector needs nothing else from the core: the monitor validates each record against
the contract, and everything it writes is a `detectors.records` record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One undecoded record of ``feed`` as a source read it."""

    feed: str
    raw: bytes
