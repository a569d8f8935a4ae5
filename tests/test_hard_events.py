"""Hard events warn on their own day: a large court judgment, news of insolvency or fraud."""

from __future__ import annotations

from pathlib import Path

import pytest
from feedkit import customer, invoice, record, write_feeds
from receivers import HttpReceiver

from config.settings import DetectorSettings, PolicySettings, Settings
from connectors.channels.worker import DeliveryWorker
from flows.run import WARNINGS, read_jsonl, run_folder

SETTINGS = Settings(policy=PolicySettings(hard_event_warnings="all"))
"""Every hard event warns: the rules of what is one, apart from the alert budget."""


def judgment(cid: str, when: str, amount: float) -> dict:
    return record("registry", customer_id=cid, event_time=when, type="court_judgment",
                  amount=amount, currency="EUR", kind="payment_order")


def book() -> dict[str, list[dict]]:
    """Three customers owing 10,000 each: BIG gets a judgment of 2,500 on 2 March, SMALL
    one of 500 (under a tenth of its exposure), NEWS a fraud headline on 3 March."""
    feeds: dict[str, list[dict]] = {"customers": [], "payments": [], "registry": [],
                                    "news": []}
    for cid in ("BIG", "SMALL", "NEWS"):
        feeds["customers"].append(customer(cid, "2024-01-01", f"{cid.title()} Trading SA"))
        feeds["payments"].append(invoice(cid, "2024-02-01", f"{cid}-1", 10_000, "2024-04-01"))
    feeds["registry"] += [judgment("BIG", "2024-03-02T10:00:00Z", 2_500),
                          judgment("SMALL", "2024-03-02T11:00:00Z", 500)]
    feeds["news"].append(record("news", customer_id="NEWS", company_name="News Trading SA",
                                event_time="2024-03-03T09:00:00Z",
                                headline="News Trading under fraud investigation",
                                source="wire", categories=["fraud"], sentiment=-0.8))
    return feeds


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feeds(tmp_path_factory.mktemp("feeds"), book())


def hard(out: Path) -> list[dict]:
    return [w for w in read_jsonl(out / WARNINGS) if w["kind"] == "hard_event"]


def test_a_large_judgment_and_fraud_news_warn_on_their_day_and_a_small_judgment_does_not(
        feeds: Path, tmp_path: Path) -> None:
    run_folder(SETTINGS, feeds, tmp_path / "out", notify=False)
    warnings = hard(tmp_path / "out")
    assert [(w["customer_id"], w["event_time"], w["category"]) for w in warnings] == [
        ("BIG", "2024-03-02T10:00:00Z", "registry"), ("NEWS", "2024-03-03T09:00:00Z", "news")]
    big, news = warnings
    assert big["reasons"][0]["code"] == "court_judgment" and big["reasons"][0]["value"] == 0.25
    assert news["reasons"][0]["value"] == "fraud" and news["severity"] == "critical"
    assert all(w["evidence"] and w["pd_term"][2]["pd"] == w["pd"] for w in warnings)


def test_the_threshold_is_a_setting_and_any_worker_count_writes_the_same_bytes(
        feeds: Path, tmp_path: Path) -> None:
    strict = SETTINGS.model_copy(update={"detectors": DetectorSettings(
        judgment_share_of_exposure=0.5, hard_news_categories=["insolvency"])})
    run_folder(strict, feeds, tmp_path / "strict", notify=False)
    assert hard(tmp_path / "strict") == []
    lenient = SETTINGS.model_copy(update={"detectors": DetectorSettings(
        judgment_share_of_exposure=0.05)})
    run_folder(lenient, feeds, tmp_path / "one", notify=False)
    assert [w["customer_id"] for w in hard(tmp_path / "one")] == ["BIG", "SMALL", "NEWS"]
    run_folder(lenient, feeds, tmp_path / "three", notify=False, workers=3)
    assert (tmp_path / "three" / WARNINGS).read_bytes() == (
        tmp_path / "one" / WARNINGS).read_bytes()


def test_hard_event_warnings_go_through_the_alert_routing(feeds: Path, tmp_path: Path) -> None:
    receiver = HttpReceiver()
    try:
        url = f"json://127.0.0.1:{receiver.port}"
        alerts = {"channels": {"now": f"{url}/now", "rest": f"{url}/rest"},
                  "receivers": {"desk": ["now"], "others": ["rest"]},
                  "route": {"receiver": "others", "group_wait": "0s", "group_interval": "0s",
                            "routes": [{"match": {"kind": ["hard_event"]}, "receiver": "desk"}],
                            "group_by": ["customer_id"]}}
        settings = SETTINGS.model_copy(update={"state_dir": tmp_path / "state",
                                               "alerts": Settings(alerts=alerts).alerts})
        run_folder(settings, feeds, tmp_path / "out")
        DeliveryWorker(settings.alerts, tmp_path / "state").drain(max_seconds=20)
    finally:
        receiver.stop()
    sent = "\n".join(r["body"] for r in receiver.requests if r["path"] == "/now")
    warnings = hard(tmp_path / "out")
    assert len(warnings) == 2 and all(w["warning_id"] in sent for w in warnings)


def test_within_the_alert_budget_only_the_customer_ranked_in_it_warns(
        feeds: Path, tmp_path: Path) -> None:
    """By default a hard event warns only a customer under warning or whose score of the
    day is in the warning zone and ranks within the budget: of three customers, one rank
    (BIG's judgment warns when every hard event does, above)."""
    run_folder(Settings(), feeds, tmp_path / "out", notify=False)
    [warned] = hard(tmp_path / "out")
    assert warned["customer_id"] == "NEWS" and warned["previous_grade"] is None
    assert warned["grade"] >= "C"


def test_hard_news_categories_are_the_contracts_in_any_case() -> None:
    """A category the contract leaves out of every item would never warn: it is refused."""
    from config.errors import ConfigError
    from detectors.hard import HardEventRules

    assert HardEventRules(0.1, ("Insolvency", " FRAUD")).news(("fraud",)) == "fraud"
    with pytest.raises(ConfigError, match="bankruptcy is no news category"):
        HardEventRules(0.1, ("insolvency", "bankruptcy"))


def test_a_run_refused_for_its_hard_news_categories_leaves_the_last_runs_outputs(
        feeds: Path, tmp_path: Path) -> None:
    from config.errors import ConfigError

    out = tmp_path / "out"
    run_folder(Settings(), feeds, out, notify=False)
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*")
              if path.is_file()}
    wrong = Settings(detectors=DetectorSettings(hard_news_categories=["bankruptcy"]))
    with pytest.raises(ConfigError, match="bankruptcy is no news category"):
        run_folder(wrong, feeds, out, notify=False)
    after = {path.relative_to(out): path.read_bytes() for path in out.rglob("*")
             if path.is_file()}
    assert after == before and (out / WARNINGS).stat().st_size > 0
