"""Fixed-width per-customer state: named numpy columns that grow together.

A customer is a row (its *slot*); each piece of state a detector keeps is a column of one
numeric type with a default for new rows. Rows are never removed, so a slot stays valid, and
a whole bucket's customers can be read at once (vectorised month ends) or one at a time
(events). Columns grow by a quarter at a time (a doubling would leave up to half of the
memory of a large book unused); rows past `size` are not customers yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Column:
    """A column: each row holds one ``dtype`` value, or an array of ``shape`` of them."""

    name: str
    dtype: str
    default: float | int = 0
    shape: tuple[int, ...] = ()

    def allocate(self, rows: int) -> np.ndarray:
        return np.full((rows, *self.shape), self.default, dtype=self.dtype)


class Table:
    """Columns ``name -> ndarray`` of equal length; ``size`` rows are in use.

    >>> t = Table((Column("level", "f8", np.nan), Column("count", "i4")))
    >>> t.add(), t.add(), t.size
    (0, 1, 2)
    >>> t.count[1] += 3
    >>> t.view("count").tolist(), np.isnan(t.view("level")).all()
    ([0, 3], np.True_)
    """

    def __init__(self, columns: tuple[Column, ...], capacity: int = 16) -> None:
        self.columns = columns
        self.size = 0
        for column in columns:
            setattr(self, column.name, column.allocate(capacity))

    def add(self) -> int:
        """A new row with every column at its default; its slot."""
        slot = self.size
        if slot == len(getattr(self, self.columns[0].name)):
            self._grow(slot + max(16, slot // 4))
        self.size += 1
        return slot

    def view(self, name: str) -> np.ndarray:
        """Column ``name`` over the rows in use (a view: writes go to the table)."""
        return getattr(self, name)[: self.size]

    def _grow(self, capacity: int) -> None:
        for column in self.columns:
            old = getattr(self, column.name)
            new = column.allocate(capacity)
            new[: len(old)] = old
            setattr(self, column.name, new)

    def __getstate__(self) -> dict[str, object]:
        # Only the rows in use: snapshots copy no spare capacity.
        state: dict[str, object] = {"columns": self.columns, "size": self.size}
        for column in self.columns:
            state[column.name] = self.view(column.name).copy()
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.columns = state["columns"]  # type: ignore[assignment]
        self.size = state["size"]  # type: ignore[assignment]
        for column in self.columns:
            values = state[column.name]
            capacity = self.size + max(16, self.size // 4)
            full = column.allocate(capacity)
            full[: self.size] = values
            setattr(self, column.name, full)
