"""Strings kept by number in one byte buffer, so a bucket of customers holds its event ids
(evidence, open invoices) without a Python object per id.

A handle is an int32 stored in a table column. Strings are never changed; one that is no
longer referenced is garbage until `StringTable.compact`, which keeps the live handles
(those still in the columns) and says where each moved.
"""

from __future__ import annotations

from array import array

import numpy as np

NONE = -1
"""The handle of no string."""


class StringView:
    """Strings of a `StringTable` by the handles they had when the view was taken."""

    __slots__ = ("_data", "_starts")

    def __init__(self, data: bytearray, starts: array) -> None:
        self._data = data
        self._starts = starts

    def get(self, handle: int) -> str:
        starts = self._starts
        return self._data[starts[handle]:starts[handle + 1]].decode("utf-8", "surrogatepass")

    def many(self, handles: np.ndarray) -> tuple[str, ...]:
        """The strings of ``handles``, skipping `NONE`, in order."""
        return tuple(self.get(h) for h in handles.tolist() if h != NONE)


class StringTable:
    """Append-only strings by handle.

    >>> strings = StringTable()
    >>> a, b, c = strings.add("inv-1"), strings.add("pay-2"), strings.add("nws-3")
    >>> strings.get(b), len(strings)
    ('pay-2', 3)
    >>> before = strings.view()
    >>> moved = strings.compact(np.array([c, a]))
    >>> [strings.get(int(moved[h])) for h in (a, c)], int(moved[b]), len(strings)
    (['inv-1', 'nws-3'], -1, 2)
    >>> before.get(b)  # a view taken before still reads the old handles
    'pay-2'
    """

    __slots__ = ("_data", "_starts")

    def __init__(self) -> None:
        self._data = bytearray()
        self._starts = array("q", [0])
        """Where each string starts, and where the next would."""

    def __len__(self) -> int:
        return len(self._starts) - 1

    def add(self, text: str) -> int:
        self._data += text.encode("utf-8", "surrogatepass")
        self._starts.append(len(self._data))
        return len(self._starts) - 2

    def get(self, handle: int) -> str:
        return self.view().get(handle)

    def nbytes(self) -> int:
        return len(self._data) + 8 * len(self._starts)

    def view(self) -> StringView:
        """The strings as they are now, readable later by their current handles, even
        after a compaction (which replaces the buffers rather than changing them)."""
        return StringView(self._data, self._starts)

    def compact(self, live: np.ndarray) -> np.ndarray:
        """Keep only the strings of the ``live`` handles (in handle order); return the new
        handle of every old one (`NONE` for those dropped)."""
        kept = np.unique(live[live != NONE])
        moved = np.full(len(self), NONE, dtype=np.int32)
        moved[kept] = np.arange(len(kept), dtype=np.int32)
        data = bytearray()
        starts = array("q", [0])
        for handle in kept.tolist():
            data += self._data[self._starts[handle]:self._starts[handle + 1]]
            starts.append(len(data))
        self._data, self._starts = data, starts
        return moved

    def __getstate__(self) -> tuple[bytes, array]:
        return bytes(self._data), self._starts

    def __setstate__(self, state: tuple[bytes, array]) -> None:
        self._data, self._starts = bytearray(state[0]), state[1]
