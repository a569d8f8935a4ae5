"""A compact memory of ids seen: 64-bit keys with a 32-bit value, kept for a number of days.

Event ids (feed-wide uniqueness) and settled invoices (a late extra payment is unapplied
cash, not an unknown invoice) are remembered this way. The newest keys sit in a dict; every
`RUN` of them is frozen into a sorted numpy run (12 bytes a key), and runs of similar size
are merged, so a lookup searches a handful of sorted arrays. A run is dropped once its newest
key is older than ``days``: every key is remembered at least that long.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

RUN = 8192


def key_of(text: str) -> int:
    """The 64-bit key an id is remembered by (stable across processes and restarts)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little")


@dataclass(slots=True)
class _Run:
    keys: np.ndarray  # uint64, sorted
    values: np.ndarray  # uint32, aligned with keys
    newest: int  # the latest day of any key in the run


@dataclass(slots=True)
class IdMemory:
    """Keys seen and a value for each, for at least ``days`` days.

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
    _recent_newest: int = -(10**9)
    _runs: list[_Run] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run.keys) for run in self._runs)

    def get(self, key: int) -> int | None:
        value = self._recent.get(key)
        if value is not None:
            return value
        probe = np.uint64(key)
        for run in self._runs:
            i = int(np.searchsorted(run.keys, probe))
            if i < len(run.keys) and run.keys[i] == probe:
                return int(run.values[i])
        return None

    def get_many(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For uint64 ``keys``: whether each was seen, and its value (0 where not)."""
        found = np.zeros(len(keys), dtype=bool)
        values = np.zeros(len(keys), dtype=np.uint32)
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
        self._recent[key] = value
        self._recent_newest = max(self._recent_newest, day)
        if len(self._recent) >= RUN:
            self._freeze()

    def expire(self, day: int) -> None:
        """Forget runs whose newest key is more than ``days`` before ``day``."""
        if self._recent and self._recent_newest < day - self.days:
            self._freeze()
        self._runs = [run for run in self._runs if run.newest >= day - self.days]

    def _freeze(self) -> None:
        keys = np.fromiter(self._recent.keys(), dtype=np.uint64, count=len(self._recent))
        values = np.fromiter(self._recent.values(), dtype=np.uint32, count=len(self._recent))
        order = np.argsort(keys, kind="stable")
        self._runs.append(_Run(keys[order], values[order], self._recent_newest))
        self._recent = {}
        self._recent_newest = -(10**9)
        while len(self._runs) >= 2 and len(self._runs[-2].keys) <= 2 * len(self._runs[-1].keys):
            newer, older = self._runs.pop(), self._runs.pop()
            keys = np.concatenate((older.keys, newer.keys))
            values = np.concatenate((older.values, newer.values))
            order = np.argsort(keys, kind="stable")
            self._runs.append(_Run(keys[order], values[order], max(older.newest, newer.newest)))
