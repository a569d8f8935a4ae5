"""A run to explain: a small simulated book run once per test module, with scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from connectors.simulator import simulate
from flows.run import run_folder


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a run of 80 customers over 10 months (seed 4)."""
    base = tmp_path_factory.mktemp("explain")
    simulate(customers=80, months=10, seed=4, out=base / "feeds")
    run_folder(Settings(), base / "feeds", base / "out", scores=True, notify=False)
    return base / "out"
