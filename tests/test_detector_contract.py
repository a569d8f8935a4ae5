"""One contract for every detector: its columns, its features read row by row, its state
pickled, and silence before any event."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import detectors.behaviour
import detectors.financials
import detectors.ledger
import detectors.signals
import detectors.tradelines
import detectors.trajectory  # noqa: F401 - imported so their detectors register as subclasses
from detectors.base import Detector
from detectors.book import BookSettings, CustomerBook
from detectors.features import empty
from detectors.strings import StringTable
from detectors.table import Table

ALL = sorted(Detector.__subclasses__(), key=lambda cls: cls.__name__)


def make(cls: type[Detector], table: Table) -> Detector:
    if cls is detectors.ledger.Ledgers:
        return cls(table, material=500.0, strings=StringTable())
    return cls(table)


def feed(detector: Detector, slot: int, scale: float) -> None:
    """Drive any detector through a year of plausible events for one customer."""
    for day in range(0, 360, 30):
        match detector:
            case detectors.behaviour.PaymentBehaviour():
                detector.invoiced(slot, 1000.0 * scale + day, day)
                detector.settled(slot, days_late=int(day * scale) // 10, day=day + 5)
            case detectors.tradelines.TradelineDetector():
                detector.update(slot, int(day * scale) // 6, 1000.0, 100.0, 2000.0,
                                40.0 * scale, day)
            case detectors.signals.NewsDetector():
                detector.item(slot, ("lawsuit",), -0.5 * scale, day)
            case detectors.signals.RegistryDetector():
                detector.judgment(slot, 1000.0 * scale, day)
            case detectors.financials.FinancialsDetector():
                detector.filed(slot, {"total_assets": 100.0 + day, "total_liabilities": 80.0,
                                      "current_assets": 30.0 * scale,
                                      "current_liabilities": 25.0, "retained_earnings": 5.0,
                                      "ebit": 2.0}, {}, day)
            case detectors.ledger.Ledgers():
                detector.invoice(slot, f"C{slot}", f"i{day}", 900.0 * scale, day,
                                 day + int(60 * scale), f"e{day}")
            case detectors.trajectory.Trajectory():
                X = empty(1)
                X[0, :] = scale * day
                detector.month_end(np.array([slot]), X)


def test_every_detector_is_covered_and_their_columns_never_collide() -> None:
    assert {cls.__name__ for cls in ALL} == {
        "Ledgers", "PaymentBehaviour", "TradelineDetector", "NewsDetector",
        "RegistryDetector", "FinancialsDetector", "Trajectory"}
    names = [column.name for cls in ALL for column in cls.COLUMNS]
    assert len(names) == len(set(names))
    book = CustomerBook("b", BookSettings())  # and the book holds every one of them
    assert set(names) <= {column.name for column in book.t.columns}


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_detector_contract(cls: type[Detector]) -> None:
    table = Table(cls.COLUMNS)
    detector = make(cls, table)
    slots = np.array([table.add() for _ in range(3)])
    for slot, scale in zip(slots.tolist(), (1.0, 2.5, 0.0), strict=True):
        feed(detector, slot, scale)
    together = today(3)
    detector.features(slots, 400, together)
    alone = np.vstack([_one(detector, slot) for slot in slots.tolist()])
    assert np.array_equal(together, alone, equal_nan=True)  # a row never depends on others
    assert not np.array_equal(together[0], together[1], equal_nan=True)
    restored = make(cls, pickle.loads(pickle.dumps(table)))
    if cls is detectors.ledger.Ledgers:
        restored = pickle.loads(pickle.dumps(detector))
    again = today(3)
    restored.features(slots, 400, again)
    assert np.array_equal(together, again, equal_nan=True)


def today(rows: int) -> np.ndarray:
    """A feature matrix whose figures are known (the trajectory reads them)."""
    X = empty(rows)
    X[:] = 7.0
    return X


def _one(detector: Detector, slot: int) -> np.ndarray:
    X = today(1)
    detector.features(np.array([slot]), 400, X)
    return X[0]


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_a_detector_without_events_says_nothing_alarming(cls: type[Detector]) -> None:
    table = Table(cls.COLUMNS)
    detector = make(cls, table)
    X = empty(1)
    detector.features(np.array([table.add()]), 100, X)
    known = X[0][~np.isnan(X[0])]
    assert np.all(known == 0.0)
