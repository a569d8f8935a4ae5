"""A compact memory of ids seen: 64-bit keys with a 64-bit value, kept for a number of days.

Event ids (feed-wide uniqueness) and settled invoices (a late extra payment is unapplied
cash, not an unknown invoice) are remembered this way. Keys are kept by stretches of
`STRETCH_DAYS` days: the newest keys sit in a dict, every `RUN` of them is frozen into a
sorted numpy run (16 bytes a key), runs of one stretch are merged as they pile up, and a
stretch is forgotten whole once all of it is older than ``days``. So every key is
remembered at least ``days`` days, and memory never holds more than the stretches that
period overlaps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

RUN = 8192
STRETCH_DAYS = 30


def key_of(text: str) -> int:
    """The 64-bit key an id is remembered by (stable across processes and restarts)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little")


@dataclass(slots=True)
class _Run:
    keys: np.ndarray  # uint64, sorted
    values: np.ndarray  # uint64, aligned with keys
    stretch: int  # day // STRETCH_DAYS of the keys put into it


@dataclass(slots=True)
class IdMemory:
    """Keys seen and a value for each, for at least ``days`` days (a key put again gives
    its newest value).

    >>> memory = IdMemory(days=30)
    >>> memory.put(key_of("e-1"), 7, day=100)
    >>> memory.get(key_of("e-1")), memory.get(key_of("e-2"))
    (7, None)
    >>> memory.expire(day=120)
    >>> memory.get(key_of("e-1"))
    7
    >>> memory.expire(day=200)
    >>> memory.get(key_of("e-1")) is None
    True
    """

    days: int
    _recent: dict[int, int] = field(default_factory=dict)
    _recent_stretch: int = -(10**9)
    _runs: list[_Run] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run.keys) for run in self._runs)

    def get(self, key: int) -> int | None:
        value = self._recent.get(key)
        if value is not None:
            return value
        probe = np.uint64(key)
        for run in reversed(self._runs):  # the newest value, as `get_many` gives
            i = int(np.searchsorted(run.keys, probe))
            if i < len(run.keys) and run.keys[i] == probe:
                return int(run.values[i])
        return None

    def get_many(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For uint64 ``keys``: whether each was seen, and its value (0 where not)."""
        found = np.zeros(len(keys), dtype=bool)
        values = np.zeros(len(keys), dtype=np.uint64)
        for run in self._runs:
            i = np.searchsorted(run.keys, keys)
            inside = i < len(run.keys)
            hit = np.zeros(len(keys), dtype=bool)
            hit[inside] = run.keys[i[inside]] == keys[inside]
            values[hit] = run.values[i[hit]]
            found |= hit
        if self._recent:
            for n, key in enumerate(keys.tolist()):
                value = self._recent.get(key)
                if value is not None:
                    found[n], values[n] = True, value
        return found, values

    def put(self, key: int, value: int, day: int) -> None:
        stretch = day // STRETCH_DAYS
        if stretch > self._recent_stretch:
            self._freeze()
            self._recent_stretch = stretch
        self._recent[key] = value
        if len(self._recent) >= RUN:
            self._freeze()

    def expire(self, day: int) -> None:
        """Forget the stretches that ended more than ``days`` before ``day``."""
        oldest = (day - self.days) // STRETCH_DAYS  # stretches before this one are past
        if self._recent and self._recent_stretch < oldest:
            self._recent = {}
        self._runs = [run for run in self._runs if run.stretch >= oldest]

    def _freeze(self) -> None:
        if not self._recent:
            return
        keys = np.fromiter(self._recent.keys(), dtype=np.uint64, count=len(self._recent))
        values = np.fromiter(self._recent.values(), dtype=np.uint64, count=len(self._recent))
        order = np.argsort(keys, kind="stable")
        self._runs.append(_Run(keys[order], values[order], self._recent_stretch))
        self._recent = {}
        runs = self._runs
        while (len(runs) >= 2 and runs[-2].stretch == runs[-1].stretch
               and len(runs[-2].keys) <= 2 * len(runs[-1].keys)):
            newer, older = runs.pop(), runs.pop()
            keys = np.concatenate((older.keys, newer.keys))
            values = np.concatenate((older.values, newer.values))
            order = np.argsort(keys, kind="stable")
            keys, values = keys[order], values[order]
            last = np.append(keys[1:] != keys[:-1], True)  # a key put again: its newest value
            runs.append(_Run(keys[last], values[last], older.stretch))
