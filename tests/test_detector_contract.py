"""One contract for every detector: it prints, clones, pickles and decides deterministically."""

from __future__ import annotations

import pickle

import pytest

import detectors.behaviour
import detectors.financials
import detectors.signals
import detectors.tradelines  # noqa: F401 - imported so their detectors register as subclasses
from detectors.base import Detector


def feed(detector: Detector) -> None:
    """Drive any detector through a few months of plausible events."""
    for day in range(0, 360, 30):
        match detector:
            case detectors.behaviour.PaymentBehaviour():
                detector.invoiced(1000.0 + day, day)
                detector.settled(days_late=day // 10, day=day + 5)
            case detectors.tradelines.TradelineDetector():
                detector.update(day // 6, 1000.0, 100.0, 2000.0, day)
            case detectors.signals.NewsDetector():
                detector.item(["lawsuit"], -0.5, day)
            case detectors.signals.RegistryDetector():
                detector.judgment(1000.0, day)
            case detectors.financials.FinancialsDetector():
                detector.filed({"total_assets": 100.0 + day, "total_liabilities": 80.0,
                                "current_assets": 30.0, "current_liabilities": 25.0,
                                "retained_earnings": 5.0, "ebit": 2.0}, {}, day)


ALL = sorted(Detector.__subclasses__(), key=lambda cls: cls.__name__)


def test_every_detector_is_covered() -> None:
    assert {cls.__name__ for cls in ALL} >= {"PaymentBehaviour", "TradelineDetector",
                                            "NewsDetector", "RegistryDetector",
                                            "FinancialsDetector"}


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_detector_contract(cls: type[Detector]) -> None:
    detector = cls()
    assert repr(detector).startswith(f"{cls.__name__}(")
    feed(detector)
    features = detector.features(400)
    assert features and all(v is None or isinstance(v, float) for v in features.values())
    restored = pickle.loads(pickle.dumps(detector))
    assert restored.features(400) == features
    twin = cls()
    feed(twin)
    assert twin.features(400) == features  # same events, same features
    fresh = detector.clone()
    assert repr(fresh) == repr(detector) and fresh.features(400) == cls().features(400)
    assert fresh.features(400) != features  # clone forgets the history


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_a_detector_without_events_says_nothing_alarming(cls: type[Detector]) -> None:
    values = [v for v in cls().features(100).values() if v is not None]
    assert all(v == 0.0 for v in values)
