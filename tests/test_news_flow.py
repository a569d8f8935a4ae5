"""News intelligence in real runs of the monitor: the right customer, headlines read, stories
counted once, the review queue written, the same bytes on one and two workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedkit as fk
import pytest

from config.settings import Settings
from flows.news import NEWS_READINGS, NEWS_REVIEW
from flows.run import DEADLETTER, SCORES, run_folder

SETTINGS = Settings()
HOLLIS, HUAMEI = "C1", "C3"
INSOLVENCY = {"event_id": "n-insolvency", "event_time": "2024-03-12T08:00:00Z",
              "company_name": "Holis Metalworks GmbH", "source": "Wire",
              "headline": "Holis Metalworks GmbH files for insolvency amid fraud probe"}
"""Untagged, and the company's name misspelt."""


def _copies(count: int) -> list[dict[str, Any]]:
    """One story about the Chinese customer, by its short name, from ``count`` outlets."""
    return [{"event_id": f"n-story-{i}", "event_time": f"2024-03-{15 + i // 4:02d}T09:00:00Z",
             "company_name": "华美精密", "source": f"Outlet {i}", "language": "zh",
             "headline": "华美精密拖欠供应商货款" + ("超亿元" if i % 2 else "")}
            for i in range(count)]


def _feeds(folder: Path, insolvency: bool, copies: int) -> Path:
    customers = [fk.customer(HOLLIS, "2024-01-01", "Hollis Metalworks GmbH"),
                 fk.customer(HUAMEI, "2024-01-01", "上海华美精密机械股份有限公司")]
    payments = [fk.invoice(c, f"2024-{m:02d}-05", f"{c}-{m}", 20_000.0, f"2024-{m + 1:02d}-05")
                for c in (HOLLIS, HUAMEI) for m in range(1, 6)]
    news = [
        {"event_id": "n-other-company", "event_time": "2024-02-10T08:00:00Z",
         "company_name": "Hollis Metalworks AG", "source": "Wire",
         "headline": "Hollis Metalworks AG files for insolvency"},
        {"event_id": "n-unsure", "event_time": "2024-02-11T08:00:00Z",
         "company_name": "Hollis Metalwork Supply GmbH", "source": "Wire",
         "headline": "Hollis Metalwork Supply GmbH sued by customer"},
        {"event_id": "n-full-name", "event_time": "2024-02-12T08:00:00Z",
         "company_name": "上海华美精密机械股份有限公司", "source": "Wire", "language": "zh",
         "headline": "上海华美精密机械股份有限公司亮相苏州展会"},
        *(_copies(copies)),
        *([INSOLVENCY] if insolvency else []),
    ]
    return fk.write_feeds(folder, {"customers": customers, "payments": payments,
                                   "news": news})


def _run(tmp: Path, name: str, insolvency: bool = True, copies: int = 10,
         workers: int = 1) -> Path:
    out = tmp / name / "out"
    summary = run_folder(SETTINGS, _feeds(tmp / name / "feeds", insolvency, copies), out,
                         scores=True, workers=workers, notify=False)
    assert summary.balanced, summary
    return out


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _month_end(out: Path, customer: str, at: str) -> dict[str, Any]:
    return next(r for r in _rows(out / SCORES) if r["customer_id"] == customer
                and r["month_end"] and r["event_time"] == at)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("news")
    return {"all": _run(tmp, "all"), "no_insolvency": _run(tmp, "no_insolvency",
                                                           insolvency=False),
            "one_copy": _run(tmp, "one_copy", copies=1)}


def test_an_untagged_insolvency_headline_moves_the_customers_risk(
        runs: dict[str, Path]) -> None:
    reading = next(r for r in _rows(runs["all"] / NEWS_READINGS)
                   if r["event_id"] == "n-insolvency")
    assert reading["customer_id"] == HOLLIS and reading["match"]["method"] == "fuzzy"
    assert reading["feed"] == {"categories": [], "sentiment": None}
    assert reading["used"]["categories"] == ["insolvency", "fraud"]
    assert reading["used"]["from"] == "reader"
    read = _month_end(runs["all"], HOLLIS, "2024-04-01T00:00:00Z")
    unread = _month_end(runs["no_insolvency"], HOLLIS, "2024-04-01T00:00:00Z")
    assert unread["features"]["news_adverse"] == 0.0
    assert read["features"]["news_adverse"] > 1.0
    assert read["pd"] > unread["pd"]


def test_another_legal_form_is_not_the_customer_and_doubt_goes_to_review(
        runs: dict[str, Path]) -> None:
    dead = {d["event_id"]: d for d in _rows(runs["all"] / DEADLETTER)}
    assert dead["n-other-company"]["reason"] == "unknown_company"
    assert "another legal form" in dead["n-other-company"]["detail"]
    assert dead["n-unsure"]["reason"] == "needs_review"
    queue = _rows(runs["all"] / NEWS_REVIEW)
    assert [q["review_id"] for q in queue] == ["news:n-unsure"]
    assert queue[0]["candidates"][0]["customer_id"] == HOLLIS
    assert queue[0]["reading"]["categories"] == ["lawsuit"]
    before = _month_end(runs["no_insolvency"], HOLLIS, "2024-03-01T00:00:00Z")
    assert before["features"]["news_adverse"] == 0.0


def test_a_chinese_customer_by_full_and_short_name(runs: dict[str, Path]) -> None:
    readings = {r["event_id"]: r for r in _rows(runs["all"] / NEWS_READINGS)}
    assert readings["n-full-name"]["customer_id"] == HUAMEI
    assert readings["n-full-name"]["match"]["method"] == "name"
    assert readings["n-story-0"]["customer_id"] == HUAMEI
    assert readings["n-story-0"]["match"]["method"] == "short_name"
    assert readings["n-story-0"]["used"]["categories"] == ["default"]


def test_ten_syndicated_copies_count_once_with_their_sources(runs: dict[str, Path]) -> None:
    story = [r["story"] for r in _rows(runs["all"] / NEWS_READINGS)
             if r["event_id"].startswith("n-story-")]
    assert [s["counted"] for s in story] == [True] + [False] * 9
    assert story[-1]["copies"] == 10
    assert story[-1]["sources"] == [f"Outlet {i}" for i in range(10)]
    ten = _month_end(runs["all"], HUAMEI, "2024-04-01T00:00:00Z")
    one = _month_end(runs["one_copy"], HUAMEI, "2024-04-01T00:00:00Z")
    assert ten["features"]["news_adverse"] > 0
    assert ten["features"] == one["features"] and ten["pd"] == one["pd"]


def test_news_outputs_are_the_same_bytes_on_two_workers(runs: dict[str, Path],
                                                        tmp_path: Path) -> None:
    two = _run(tmp_path, "two", workers=2)
    for name in (NEWS_READINGS, NEWS_REVIEW, DEADLETTER, SCORES):
        assert (two / name).read_bytes() == (runs["all"] / name).read_bytes(), name
