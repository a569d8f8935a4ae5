"""Event ids are unique within their feed: the first record read with an id wins."""

from __future__ import annotations

from detectors import events as ev
from detectors.dedup import DIRECTORY, EventIds, Repeat, SecondChances, Seen
from detectors.events import Envelope, Origin
from detectors.records import DeadLetter
from detectors.stage import Send


def envelope(event: ev.Event, raw: bytes, position: int, day: int = 100,
             source: str = "payments.jsonl") -> Envelope:
    return Envelope(event, raw, Origin("file", source, position), day)


def pay(event_id: str, customer: str, amount: float, at: int = 100 * 86400) -> ev.Payment:
    return ev.Payment(event_id, at, customer, "I1", amount, "EUR")


def outcomes(outputs: list) -> tuple[list[str], dict[str, str]]:
    """Who was passed on (event id@customer), and each rejection's reason by position; a
    repeat sent on is judged as the customer's step judges one whose first was applied."""
    judged = [SecondChances(180).admit(o.item, 100) if isinstance(o, Send)
              and isinstance(o.item, Repeat) else o for o in outputs]
    passed = [f"{o.item.event.event_id}@{o.item.event.customer_id}" for o in judged
              if isinstance(o, Send)]
    rejected = {f"{o.event_id}@{o.customer_id}": o.reason for o in judged
                if isinstance(o, DeadLetter)}
    return passed, rejected


def ids() -> EventIds:
    return EventIds("ids-0", memory_days=180, bucket_of=lambda customer: f"bucket-{customer}")


def test_a_repeat_is_a_duplicate_and_a_reused_id_with_other_content_is_rejected() -> None:
    step = ids()
    first = envelope(pay("p-1", "A", 10.0), b'{"a"}', 1)
    same = envelope(pay("p-1", "A", 10.0), b'{"a"}', 2)
    other = envelope(pay("p-1", "B", 99.0), b'{"b"}', 3)  # another customer, same id
    passed, rejected = outcomes(step.day(100, [other, same, first]))  # in any arrival order
    assert passed == ["p-1@A"]
    assert rejected == {"p-1@A": "duplicate", "p-1@B": "duplicate_id"}


def test_ids_are_remembered_across_days_and_feeds_are_separate() -> None:
    step = ids()
    step.day(100, [envelope(pay("x", "A", 1.0), b"1", 1)])
    step.advance(130)
    later = envelope(pay("x", "A", 2.0, at=140 * 86400), b"2", 9, day=140)
    news = envelope(ev.NewsItem("x", 140 * 86400, "A", None, "h", "s"), b"3", 1, day=140,
                    source="news.jsonl")
    passed, rejected = outcomes(step.day(140, [later, news]))
    assert rejected == {"x@A": "duplicate_id"}  # the payment id, 40 days later
    assert passed == ["x@A"]  # the news item: ids are unique within a feed only


def test_ids_older_than_the_memory_count_as_new() -> None:
    step = EventIds("ids-0", memory_days=30, bucket_of=str)
    for day in range(100, 10_100, 1000):  # many runs of ids, one a long time ago
        step.day(day, [envelope(pay(f"e{day}", "A", 1.0, at=day * 86400), b"1", day, day)])
        step.advance(day)
    step.advance(20_000)
    passed, _ = outcomes(step.day(20_001, [envelope(pay("e100", "A", 1.0), b"1", 1, 20_001)]))
    assert passed == ["e100@A"]


def test_every_record_is_seen_and_master_data_and_named_news_reach_the_directory() -> None:
    step = ids()
    customer = envelope(ev.CustomerRecord("c-1", 0, "A", "Acme"), b"c", 1, source="c.jsonl")
    named = envelope(ev.NewsItem("n-1", 0, None, "Acme", "h", "s"), b"n", 1, source="n.jsonl")
    out = step.day(100, [named, customer])
    assert sum(isinstance(o, Seen) for o in out) == 2
    sends = sorted((o.to, o.item.event.event_id) for o in out if isinstance(o, Send))
    assert sends == [("bucket-A", "c-1"), (DIRECTORY, "c-1"), (DIRECTORY, "n-1")]


def test_a_record_arriving_after_its_day_is_applied_today_or_rejected_as_late() -> None:
    step = ids()
    today = 120
    recent = envelope(pay("recent", "C1", 5.0, at=115 * 86400), b"r", 1, day=116)
    old = envelope(pay("old", "C1", 5.0, at=100 * 86400), b"o", 2, day=101)
    out = step.day(today, [recent, old])
    passed, rejected = outcomes(out)
    assert passed == ["recent@C1"] and rejected == {"old@C1": "late"}
    seen = [o.envelope for o in out if isinstance(o, Seen)]
    assert [(e.event.event_id, e.day) for e in seen] == [("recent", today)]  # for the audit


def test_an_exchange_rate_goes_to_every_bucket_and_is_counted_once() -> None:
    from detectors.snapshots import Accepted

    step = EventIds("ids-0", memory_days=30, bucket_of=str, buckets=("b0", "b1", "b2"))
    rate = ev.FxRate("fx-1", 100 * 86400, None, "EUR", "USD", 1.08)
    again = envelope(ev.FxRate("fx-1", 100 * 86400, None, "EUR", "USD", 1.09), b"2", 2,
                     source="fx.jsonl")
    out = step.day(100, [envelope(rate, b"1", 1, source="fx.jsonl"), again])
    assert sorted(o.to for o in out if isinstance(o, Send)) == ["b0", "b1", "b2"]
    assert [o.reason for o in out if isinstance(o, DeadLetter)] == ["duplicate_id"]
    assert step.finish() == [Accepted("ids-0", 1)]
