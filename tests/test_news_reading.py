"""Reading headlines (rules, the text model, corrections), stories counted once, and the
news step that puts them together."""

from __future__ import annotations

import pickle

from detectors import events as ev
from detectors.directory import DirectorySettings, NameDirectory
from detectors.events import Envelope, Origin
from detectors.news.classify import HeadlineReader
from detectors.news.knowledge import NewsKnowledge
from detectors.news.model import DISTRESS, HeadlineModel
from detectors.news.records import NewsReading, ReviewItem
from detectors.news.stories import SourceWeights, StoryDesk
from detectors.records import DeadLetter
from detectors.stage import Send


def test_rules_read_english_and_chinese_headlines() -> None:
    reader = HeadlineReader()
    cases = {
        "Hollis Metalworks files for insolvency amid fraud probe": ("insolvency", "fraud"),
        "Hollis Metalworks misses bond payment": ("default",),
        "Hollis Metalworks to cut 300 jobs at Leeds plant": ("layoffs",),
        "Hollis Metalworks CEO steps down": ("management_exit",),
        "Customer takes Hollis Metalworks to court": ("lawsuit",),
        "Moody's downgrades Hollis Metalworks": ("rating_action",),
        "Hollis Metalworks wins EUR 20m contract": ("positive",),
        "Hollis Metalworks presents products at trade fair": (),
        "华美精密申请破产重整": ("insolvency",),
        "华美精密被证监会立案调查": ("fraud",),
        "华美精密商票逾期": ("default",),
        "华美精密宣布裁员三成": ("layoffs",),
        "华美精密被供应商起诉": ("lawsuit",),
        "华美精密董事长辞职": ("management_exit",),
        "华美精密中标五亿元项目": ("positive",),
    }
    for headline, categories in cases.items():
        assert reader.read(headline, None).categories == categories, headline


def test_a_reading_says_why_and_gives_a_tone() -> None:
    reading = HeadlineReader().read("Acme files for insolvency", "en")
    assert reading.rules == (("insolvency", "insolvency"),) and reading.by == "rules"
    assert reading.sentiment < -0.5
    assert HeadlineReader().read("Acme wins big order", "en").sentiment > 0
    assert HeadlineReader().read("Moody's upgrades Acme", "en").sentiment > 0
    assert HeadlineReader().read("S&P cuts Acme to junk", "en").sentiment < 0


def test_denials_and_the_companys_own_name_are_not_news() -> None:
    reader = HeadlineReader()
    for headline in ("Acme denies insolvency rumours", "Acme rules out job cuts",
                     "华美精密否认破产传闻", "华美精密辟谣：不存在裁员计划"):
        reading = reader.read(headline, None)
        assert reading.categories == () and reading.denied, headline
    assert reader.read("Fraud Detection Systems Ltd opens office", "en",
                       "Fraud Detection Systems Ltd").categories == ("positive",)


def _trained(examples: list[tuple[str, tuple[str, ...]]], rounds: int = 30) -> HeadlineModel:
    model = HeadlineModel(min_examples=20)
    for _ in range(rounds):
        for text, categories in examples:
            model.learn(text, categories)
    return model


def test_the_model_learns_what_the_rules_miss_from_corrections() -> None:
    examples = [("Acme to wind down Leeds unit", ("layoffs",)),
                ("Brandt to wind down Lyon unit", ("layoffs",)),
                ("Acme presents products at fair", ()),
                ("Brandt opens showroom", ("positive",))]
    headline = "Kessler to wind down Turin unit"
    assert HeadlineReader().read(headline, "en").categories == ()
    reading = HeadlineReader(_trained(examples)).read(headline, "en")
    assert reading.categories == ("layoffs",) and reading.by == "model"
    assert dict(reading.model)["layoffs"] >= 0.8


def test_the_model_can_veto_a_rule_it_was_taught_is_wrong() -> None:
    examples = [("Acme hosts fraud awareness day", ()), ("Brandt hosts fraud awareness day", ()),
                ("Acme accused of fraud", ("fraud",)), ("Brandt accused of fraud", ("fraud",))]
    reading = HeadlineReader(_trained(examples, rounds=60)).read(
        "Kessler hosts fraud awareness day", "en")
    assert reading.categories == () and reading.by == "rules+model"


def test_the_distress_head_learns_from_outcomes() -> None:
    model = HeadlineModel(min_examples=20)
    for _ in range(40):
        model.learn_outcome("Acme auditors raise going concern doubts", True)
        model.learn_outcome("Acme presents products at fair", False)
    reading = HeadlineReader(model).read("Brandt auditors raise going concern doubts", "en")
    assert reading.categories == () and reading.sentiment < 0 and reading.by == "model"
    assert dict(reading.model)[DISTRESS] >= 0.8


def test_knowledge_round_trips_and_corrections_are_read_as_corrected() -> None:
    knowledge = NewsKnowledge()
    for _ in range(25):
        knowledge.correct("Acme to wind down Leeds unit", ("layoffs",))
        knowledge.correct("Acme opens showroom", ("positive",))
    knowledge.attach("Acme Intl", "C1")
    again = NewsKnowledge.from_json(knowledge.to_json())
    assert again.to_json() == knowledge.to_json()
    reader = HeadlineReader(again.model, again.corrections)
    assert reader.read("ACME to wind down  Leeds unit", "en").by == "correction"
    text = "Kessler to wind down Turin unit"
    assert reader.read(text, "en").categories == HeadlineReader(
        knowledge.model).read(text, "en").categories
    restored = pickle.loads(pickle.dumps(again.model))
    assert restored.probabilities(text) == again.model.probabilities(text)


def test_ten_syndicated_copies_are_one_story_with_ten_sources() -> None:
    desk = StoryDesk()
    placed = [desk.place("C1", 100 + i // 4, f"n{i}", headline, f"Outlet {i}", ("insolvency",))
              for i, headline in enumerate(
                  ["Hollis Metalworks files for insolvency"] * 5
                  + ["Hollis Metalworks GmbH files for insolvency, 300 jobs at risk"] * 5)]
    assert [p.counted for p in placed] == [True] + [False] * 9
    story = placed[-1].story
    assert story.copies == 10 and story.sources == tuple(f"Outlet {i}" for i in range(10))
    other = desk.place("C1", 102, "x", "Hollis Metalworks wins order", "Wire", ("positive",))
    assert other.counted and other.story.story_id == "x" and story.story_id == "n0"
    desk.expire(110)
    assert desk.place("C1", 110, "late", "Hollis Metalworks files for insolvency", "Wire",
                      ("insolvency",)).counted


def test_two_pieces_of_news_about_one_company_are_two_stories_whatever_their_dress() -> None:
    """Headlines about one customer share its name: compared without it, an opening and a
    deal are two stories (with the name they read 83 % alike), and invisible characters
    or colour codes around a copy change nothing."""
    names = ("Quanel Handel GmbH & Co. KG", "Quanel Handel")
    desk = StoryDesk()
    opening = desk.place("C1", 0, "a", "Quanel Handel GmbH & Co. KG opens new site in Leeds",
                         "Wire", (), names)
    deal = desk.place("C1", 1, "b", "Quanel Handel GmbH & Co. KG signs framework deal in Leeds",
                      "Gazette", (), names)
    copy = desk.place("C1", 1, "c", "\x1b[1mQuanel Handel opens new\u200b site in Leeds\x1b[0m",
                      "Courier", (), names)
    assert (opening.counted, deal.counted, copy.counted) == (True, True, False)
    assert copy.story.story_id == "a" and deal.story.story_id == "b"


def test_reading_ignores_what_no_reader_sees() -> None:
    reader = HeadlineReader()
    plain = reader.read("Prosecutors examine accounting at Ostdorf AG", "en")
    dressed = reader.read("\x1b[1mP\u200brosecutors examine accounting at Ostdorf AG\u200d",
                          "en")
    assert dressed.categories == plain.categories == ("fraud",)


def test_source_weights_decide_when_a_story_is_believed() -> None:
    desk = StoryDesk(SourceWeights({"Blog": 0.3, "Spam": 0.0}, default=1.0), believe_from=0.5)
    first = desk.place("C1", 0, "a", "Acme sued", "Blog", ("lawsuit",))
    spam = desk.place("C1", 0, "b", "Acme sued by supplier", "Spam", ("lawsuit",))
    second = desk.place("C1", 1, "c", "Acme sued by supplier", "Blog2", ("lawsuit",))
    assert (first.counted, spam.counted, second.counted) == (False, False, True)
    assert second.story.sources == ("Blog", "Spam", "Blog2")
    assert desk.place("C2", 0, "d", "Beta sued", "Spam", ("lawsuit",)).counted is False


def _env(event: ev.Event, line: int = 0) -> Envelope:
    return Envelope(event, b"{}", Origin("file", "news.jsonl", line), 0)


def test_the_news_step_keeps_feed_tags_and_fills_in_what_is_missing() -> None:
    directory = NameDirectory(lambda c: "b0")
    customer = ev.CustomerRecord("c", 0, "C1", "Hollis Metalworks GmbH")
    tagged = ev.NewsItem("n1", 10, None, "Hollis Metalworks", "Hollis files for insolvency",
                         "Wire", ("lawsuit",), None)
    untagged = ev.NewsItem("n2", 20 * 86400, "C1", None, "Hollis Metalworks CEO resigns",
                           "Gazette")
    out = directory.day(0, [_env(customer), _env(tagged, 1)]) + directory.day(
        20, [_env(untagged, 2)])
    sent = [o.item.event for o in out if isinstance(o, Send)]
    assert [(e.categories, e.sentiment, e.match_method) for e in sent] == [
        (("lawsuit",), -0.9, "name"), (("management_exit",), -0.4, "customer_id")]
    readings = [o.to_json() for o in out if isinstance(o, NewsReading)]
    assert readings[0]["feed"]["categories"] == ["lawsuit"]
    assert readings[0]["read"]["categories"] == ["insolvency"]
    assert readings[0]["used"] == {"categories": ["lawsuit"], "sentiment": -0.9,
                                   "from": "feed+reader"}


def test_uncertain_items_go_to_review_and_the_dead_letters() -> None:
    directory = NameDirectory(lambda c: "b0", DirectorySettings())
    customers = [ev.CustomerRecord("c1", 0, "A", "Hollis Metalworks GmbH"),
                 ev.CustomerRecord("c2", 0, "B", "Hollis Metalworks AG")]
    items = [ev.NewsItem("n1", 5, None, "Hollis Metalworks", "Hollis cuts jobs", "Wire"),
             ev.NewsItem("n2", 6, None, "Hollis Metalwork Supply GmbH", "x sued", "Wire"),
             ev.NewsItem("n3", 7, None, "Nobody Inc.", "y", "Wire")]
    out = directory.day(0, [_env(e, i) for i, e in enumerate([*customers, *items])])
    reasons = [(o.event_id, o.reason) for o in out if isinstance(o, DeadLetter)]
    assert reasons == [("n1", "ambiguous_company"), ("n2", "needs_review"),
                       ("n3", "unknown_company")]
    queued = [o.to_json() for o in out if isinstance(o, ReviewItem)]
    assert [q["review_id"] for q in queued] == ["news:n1", "news:n2"]
    assert {c["customer_id"] for c in queued[0]["candidates"]} == {"A", "B"}
    assert queued[0]["reading"]["categories"] == ["layoffs"]
    assert not any(isinstance(o, Send) for o in out)


def test_copies_reach_the_book_but_only_one_carries_the_story() -> None:
    directory = NameDirectory(lambda c: "b0")
    copies = [ev.NewsItem(f"n{i}", 100 + i, None, "Hollis Metalworks GmbH",
                          "Hollis Metalworks files for insolvency", f"Outlet {i}")
              for i in range(10)]
    out = directory.day(0, [_env(ev.CustomerRecord("c", 0, "C1", "Hollis Metalworks GmbH"))]
                        + [_env(c, i + 1) for i, c in enumerate(copies)])
    sent = [o.item.event for o in out if isinstance(o, Send)]
    assert len(sent) == 10
    assert [e.categories for e in sent] == [("insolvency",)] + [()] * 9
    assert all(e.sentiment is None for e in sent[1:])
    last = [o for o in out if isinstance(o, NewsReading)][-1].to_json()["story"]
    assert last["copies"] == 10 and len(last["sources"]) == 10 and last["counted"] is False
