"""A compact memory of ids seen recently."""

from __future__ import annotations

import hashlib
from array import array


class RecentIds:
    """Ids seen at some time (a day or a second), remembered compactly, a 64-bit hash and
    the time each, until forgotten: every customer keeps settled invoices and recent events.

    >>> recent = RecentIds()
    >>> recent.add(RecentIds.key("inv-1"), at=10)
    >>> RecentIds.key("inv-1") in recent, RecentIds.key("inv-2") in recent
    (True, False)
    >>> recent.forget_before(11)
    >>> RecentIds.key("inv-1") in recent
    False
    """

    __slots__ = ("_hashes", "_times")

    def __init__(self) -> None:
        self._hashes = array("Q")
        self._times = array("q")

    def __len__(self) -> int:
        return len(self._times)

    @staticmethod
    def key(text: str) -> int:
        """The 64-bit hash an id is remembered by (stable across processes and restarts)."""
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def __contains__(self, key: int) -> bool:
        return key in self._hashes

    def add(self, key: int, at: int) -> None:
        self._hashes.append(key)
        self._times.append(at)

    def forget_before(self, at: int) -> None:
        if not self._times or min(self._times) >= at:  # nothing to forget: the usual case
            return
        kept = [i for i, d in enumerate(self._times) if d >= at]
        self._hashes = array("Q", (self._hashes[i] for i in kept))
        self._times = array("q", (self._times[i] for i in kept))

    def __getstate__(self) -> tuple[array, array]:
        return self._hashes, self._times

    def __setstate__(self, state: tuple[array, array]) -> None:
        self._hashes, self._times = state
