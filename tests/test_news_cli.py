"""The news commands (evaluate-news, learn-news) and the simulator's news: untagged items,
Chinese customers and Chinese news, the same bytes for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import feedkit as fk
import pytest
from click.testing import CliRunner

from config.settings import Settings
from connectors.contracts import parse_record
from connectors.simulator import simulate
from flows.cli import cli
from flows.news import NEWS_READINGS
from flows.run import DEADLETTER, run_folder

ROOT = Path(__file__).resolve().parents[1]


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result.exit_code, result.output


def test_evaluate_news_reports_both_languages_and_meets_the_targets(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    code, out = _invoke("evaluate-news", "--data", str(ROOT / "data/news-eval"), "--check",
                        "--json", str(figures))
    assert code == 0, out
    assert "[en] 360 items" in out and "[zh] 360 items" in out
    result = json.loads(figures.read_text(encoding="utf-8"))
    assert result["split"] == "test" and result["meets_targets"]
    for language in ("en", "zh"):
        f = result["languages"][language]
        assert f["match_precision"] >= 0.99 and f["match_recall"] >= 0.95
        assert f["adverse_macro_f1"] >= 0.85
        assert set(f["categories"]) == {"insolvency", "fraud", "default", "layoffs",
                                        "lawsuit", "management_exit", "rating_action",
                                        "positive"}


def test_evaluate_news_fails_the_check_when_a_target_is_missed(tmp_path: Path) -> None:
    data = tmp_path / "set"
    data.mkdir()
    (data / "customers.jsonl").write_text(json.dumps(
        {"event_id": "c", "event_time": "2024-01-01", "customer_id": "C1",
         "name": "Hollis Metalworks GmbH"}) + "\n", encoding="utf-8")
    rows = [{"id": "1", "split": "test", "language": "en", "company_name": "HM Holding",
             "headline": "Hollis goes quiet", "true_customer_id": "C1",
             "true_categories": ["insolvency"]}]
    (data / "en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                   encoding="utf-8")
    code, out = _invoke("evaluate-news", "--data", str(data), "--check")
    assert code == 1 and "DOES NOT MEET" in out
    assert "matching   precision n/a (nothing to measure)  recall 0.000" in out


@pytest.mark.parametrize(("item", "said"), [
    ({"id": "y", "split": "test", "headline": "Nothing happened", "true_categories": []},
     "DOES NOT MEET"),
    ({"id": "y", "split": "test", "company_name": "Foo"}, "headline is not text"),
    ({"id": "y", "split": "test", "headline": "Foo files", "true_categories": "insolvency"},
     "true_categories is not a list of insolvency, "),
    ({"id": "y", "split": "test", "headline": "Foo files", "true_categories": ["bankrupt"]},
     "true_categories is not a list of insolvency, "),
    ({"id": "y", "split": "test", "headline": "Foo files", "true_customer_id": "C2"},
     "true_customer_id 'C2' is not in customers.jsonl"),
    ({"id": "y", "split": "tset", "headline": "Foo files"}, "split is neither dev nor test"),
])
def test_evaluate_news_measures_nothing_vacuously(tmp_path: Path, item: dict,
                                                  said: str) -> None:
    """A set without a match or an adverse label passed the check on figures of 1.0 that
    measured nothing; an item without a headline stopped it with a traceback; a string of
    categories was read as its letters; an unknown category or customer, or a split of
    neither part, lowered or swelled the figures without a word."""
    data = tmp_path / "set"
    data.mkdir()
    (data / "customers.jsonl").write_text(json.dumps(
        {"event_id": "c", "event_time": "2024-01-01", "customer_id": "C1",
         "name": "Hollis Metalworks GmbH"}) + "\n", encoding="utf-8")
    (data / "en.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    code, out = _invoke("evaluate-news", "--data", str(data), "--check")
    assert code == 1 and said in out, out


def test_learn_news_teaches_headlines_names_and_outcomes(tmp_path: Path) -> None:
    corrections = tmp_path / "corrections.jsonl"
    rows = ([{"headline": "Acme to wind down Leeds unit", "categories": ["layoffs"]},
             {"headline": "Acme hosts open day", "categories": []}] * 15
            + [{"company_name": "Acme Intl", "customer_id": "C1"}])
    corrections.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    knowledge = tmp_path / "knowledge.json"
    code, out = _invoke("learn-news", "--knowledge", str(knowledge), "--corrections",
                        str(corrections))
    assert code == 0, out
    assert json.loads(out) == {"corrected_headlines": 30, "attached_names": 1,
                               "outcome_examples": 0, "of_which_distressed": 0}
    readings = tmp_path / "news_readings.jsonl"
    readings.write_text("".join(json.dumps(
        {"event_time": f"2024-0{m}-01T00:00:00Z", "customer_id": c, "headline": h}) + "\n"
        for m in (1, 2, 3) for c, h in (("C1", "Acme misses payroll"), ("C2", "Beta opens")))
        + json.dumps({"event_time": "2024-09-01T00:00:00Z", "customer_id": "C1",
                      "headline": "Acme in liquidation"}) + "\n", encoding="utf-8")
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text('{"customer_id": "C1", "default_date": "2024-06-30"}\n'
                        '{"customer_id": "C2", "default_date": null}\n', encoding="utf-8")
    code, out = _invoke("learn-news", "--knowledge", str(knowledge), "--readings",
                        str(readings), "--outcomes", str(outcomes))
    assert code == 0, out
    assert json.loads(out)["outcome_examples"] == 6  # the item after the default teaches none
    assert json.loads(out)["of_which_distressed"] == 3
    saved = json.loads(knowledge.read_text(encoding="utf-8"))
    assert saved["aliases"] == {"Acme Intl": "C1"}
    assert saved["model"]["heads"]["distress"]["seen"] == [3, 3]
    assert saved["corrections"]["acme to wind down leeds unit"] == ["layoffs"]


def test_learn_news_refuses_a_bad_correction(tmp_path: Path) -> None:
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text('{"headline": "x", "categories": ["gossip"]}\n', encoding="utf-8")
    code, out = _invoke("learn-news", "--knowledge", str(tmp_path / "k.json"),
                        "--corrections", str(corrections))
    assert code == 1 and "corrections.jsonl:1" in out and "gossip" in out
    assert not (tmp_path / "k.json").exists()


def test_a_run_uses_what_analysts_taught(tmp_path: Path) -> None:
    headline = "HMW Group to wind down Leeds unit"
    corrections = tmp_path / "c.jsonl"
    corrections.write_text(json.dumps({"headline": headline, "categories": ["layoffs"]}) + "\n"
                           + json.dumps({"company_name": "HMW Group", "customer_id": "C1"})
                           + "\n", encoding="utf-8")
    knowledge = tmp_path / "knowledge.json"
    assert _invoke("learn-news", "--knowledge", str(knowledge), "--corrections",
                   str(corrections))[0] == 0
    feeds = fk.write_feeds(tmp_path / "feeds", {
        "customers": [fk.customer("C1", "2024-01-01", "Hollis Metalworks GmbH")],
        "news": [{"event_id": "n1", "event_time": "2024-01-05T08:00:00Z",
                  "company_name": "HMW Group", "headline": headline, "source": "Wire"}]})
    plain = Settings()
    taught = plain.model_copy(update={"news": plain.news.model_copy(
        update={"knowledge": knowledge})})
    run_folder(plain, feeds, tmp_path / "plain", notify=False)
    run_folder(taught, feeds, tmp_path / "taught", notify=False)
    dead = (tmp_path / "plain" / DEADLETTER).read_text(encoding="utf-8")
    assert json.loads(dead)["reason"] == "unknown_company"
    reading = json.loads((tmp_path / "taught" / NEWS_READINGS).read_text(encoding="utf-8"))
    assert reading["customer_id"] == "C1" and reading["match"]["method"] == "correction"
    assert reading["read"]["by"] == "correction"
    assert reading["used"]["categories"] == ["layoffs"]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    simulate(400, 18, 5, out)
    return out


def test_simulated_news_has_untagged_and_chinese_items(book: Path, tmp_path: Path) -> None:
    customers = [json.loads(line) for line in (book / "customers.jsonl").read_text(
        encoding="utf-8").splitlines()]
    chinese = {c["customer_id"] for c in customers if c["country"] == "CN"}
    names = {n: c["customer_id"] for c in customers for n in (c["name"], *c.get("aliases", ()))}
    news = [json.loads(line) for line in (book / "news.jsonl").read_text(
        encoding="utf-8").splitlines()]
    for line in (book / "news.jsonl").read_bytes().splitlines():
        parse_record("news", line)
    untagged = [n for n in news if "categories" not in n and "sentiment" not in n]
    in_chinese = [n for n in news if n["language"] == "zh"]
    assert 0.15 <= len(untagged) / len(news) <= 0.25
    assert chinese and in_chinese
    for item in in_chinese:
        about = item.get("customer_id") or names[item["company_name"]]
        assert about in chinese
    assert any("company_name" in n for n in in_chinese)
    simulate(400, 18, 5, tmp_path)
    for feed in ("customers.jsonl", "news.jsonl", "payments.jsonl"):
        assert (tmp_path / feed).read_bytes() == (book / feed).read_bytes(), feed
