"""A running monitor moves the prior scorecard's level to the defaults its book has shown:
a simulated card book, which defaults about three times as often as the hand-set level
gives it, run as a user runs it, with the level following the defaults and without."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from config.settings import Settings
from connectors.simulator import simulate
from detectors.clock import parse_time
from detectors.models.scorecard import PriorScorecard
from flows.jsonl import read_jsonl
from flows.metrics import horizon_label
from flows.run import SCORES, run_folder

HORIZON = Settings().horizon_months


@pytest.fixture(scope="module")
def card_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 card accounts over 20 months: the prior scores the first 9 or 10."""
    feeds = tmp_path_factory.mktemp("cards") / "feeds"
    simulate(3000, 20, 9, feeds, profile="cards")
    return feeds


def _seconds(text: str) -> int:
    return int(parse_time(text).timestamp())


def _month_ends(feeds: Path, out: Path, settings: Settings) -> dict[tuple[str, str], dict]:
    run_folder(settings, feeds, out, scores=True)
    return {(r["customer_id"], r["event_time"]): r for r in read_jsonl(out / SCORES)
            if r["month_end"] and not r["defaulted"]}


@pytest.mark.timeout(300)
def test_the_priors_pds_come_to_the_default_rate_the_book_has_shown(
        card_book: Path, tmp_path: Path) -> None:
    moved = _month_ends(card_book, tmp_path / "moved", Settings())
    off = Settings().model_copy(update={"model": Settings().model.model_copy(
        update={"prior_level_after_defaults": 0})})
    as_set = _month_ends(card_book, tmp_path / "as-set", off)
    assert moved.keys() == as_set.keys()
    defaults = {}
    for line in (card_book / "outcomes.jsonl").read_text().splitlines():
        outcome = json.loads(line)
        date = outcome["default_date"]
        defaults[outcome["customer_id"]] = _seconds(date) if date else None

    unmoved = f"prior-{PriorScorecard().digest()}"
    months = sorted({key[1] for key, row in moved.items()
                     if row["model_version"].startswith("prior-")
                     and row["model_version"] != unmoved})
    assert len(months) >= 2, "the level never moved"
    by_month: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for (customer, at), row in moved.items():
        if at in months:
            label = horizon_label(_seconds(at), defaults[customer], HORIZON)
            by_month[at].append((row["pd"], as_set[(customer, at)]["pd"], label))
    rows = [row for month in months for row in by_month[month]]
    observed = sum(label for _, _, label in rows) / len(rows)
    moved_pd = sum(pd for pd, _, _ in rows) / len(rows)
    set_pd = sum(pd for _, pd, _ in rows) / len(rows)
    assert observed > 0.05  # a card book's rate, well above the hand-set level's
    assert 0.67 * observed <= moved_pd <= 1.5 * observed
    assert set_pd < 0.5 * observed
    for month in months:  # the same order within every month end: only the level moved
        pairs = sorted(by_month[month])
        assert [b for _, b, _ in pairs] == sorted(b for _, b, _ in pairs)
    earlier = [row for key, row in moved.items() if key[1] < months[0]]
    assert all(row["pd"] == as_set[key]["pd"] for key, row in moved.items()
               if key[1] < months[0]) and earlier
