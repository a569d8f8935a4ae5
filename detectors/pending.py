"""Month-end snapshots a customer holds until their label is known (a horizon's worth)."""

from __future__ import annotations

from array import array

_NAME_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}
"""One shared tuple per distinct set of feature names: thousands of snapshots share a few."""


def _shared(names: tuple[str, ...]) -> tuple[str, ...]:
    return _NAME_SETS.setdefault(names, names)


class PendingSnapshots:
    """Month-end snapshots awaiting their label, oldest first, packed: float32 values in one
    array and shared name tuples, as every customer holds a horizon's worth of them.

    >>> pending = PendingSnapshots()
    >>> pending.append(100, {"dso": 40.0, "max_dpd": 3.0})
    >>> pending.append(200, {"dso": 45.5})
    >>> len(pending), pending.first_time(), pending.pop_first()
    (2, 100, (100, {'dso': 40.0, 'max_dpd': 3.0}))
    >>> pending.drain()
    [(200, {'dso': 45.5})]
    """

    __slots__ = ("_times", "_names", "_values")

    def __init__(self) -> None:
        self._times = array("q")
        self._names: list[tuple[str, ...]] = []
        self._values = array("f")

    def __len__(self) -> int:
        return len(self._times)

    def append(self, at: int, features: dict[str, float]) -> None:
        self._times.append(at)
        self._names.append(_shared(tuple(features)))
        self._values.extend(features.values())

    def first_time(self) -> int:
        return self._times[0]

    def pop_first(self) -> tuple[int, dict[str, float]]:
        names = self._names.pop(0)
        values = self._values[: len(names)]
        del self._values[: len(names)]
        return self._times.pop(0), dict(zip(names, values, strict=True))

    def drain(self) -> list[tuple[int, dict[str, float]]]:
        return [self.pop_first() for _ in range(len(self))]

    def __getstate__(self) -> tuple[array, list[tuple[str, ...]], array]:
        return self._times, self._names, self._values

    def __setstate__(self, state: tuple[array, list[tuple[str, ...]], array]) -> None:
        self._times, names, self._values = state
        self._names = [_shared(n) for n in names]  # shared again after a restore
