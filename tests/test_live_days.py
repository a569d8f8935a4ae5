"""How a live run's days complete when its inputs read a record at a time, each in an idle
spell of its own (a feed read in real time): the inputs' clocks and the first step's inbox,
driven as the run drives them (`connectors.partition.FeedPartition`, `detectors.inbox.Inbox`),
without a broker. Before, each idle spell moved a clock a day on, and each record that
arrived for a complete day completed the next: the book's days ran ahead of its records, a
day per record, until the records of the day were rejected as late."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from feedkit import status

from connectors.partition import FeedPartition, RawLine, RecordInput
from detectors.feedclock import FeedClock
from detectors.inbox import NOTHING_YET, Chunk, Inbox
from detectors.records import DeadLetter

EPOCH = date(1970, 1, 1)


class _Live(RecordInput):
    """A live input that holds what the test gives it, read at once, then has nothing."""

    live = True

    def __init__(self, name: str) -> None:
        self.feed, self.name, self.kind = "registry", name, "kafka"
        self.queue: list[bytes] = []
        self.read_so_far = 0

    def read(self) -> RawLine | None:
        if not self.queue:
            return None
        self.read_so_far += 1
        return RawLine(self.queue.pop(0), self.read_so_far)

    @property
    def ended(self) -> bool:
        return False

    def position(self) -> int:
        return self.read_so_far


class _LiveRun:
    """Inputs, their partition and the first step's inbox; `spell` reads what was given
    until every input has been idle."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.inputs = {name: _Live(name) for name in names}
        self.partition = FeedPartition(list(self.inputs.values()), lambda _: "ids", ("ids",),
                                       FeedClock, None, idle_seconds=0)
        self.inbox = Inbox(names, redate=True)
        self.applied: dict[str, int] = {}
        self.rejected: list[tuple[str | None, str]] = []

    def spell(self, name: str, event_id: str, day: int) -> None:
        record = status("C1", (EPOCH + timedelta(days=day)).isoformat(), "active")
        record["event_id"] = event_id
        self.inputs[name].queue.append(json.dumps(record).encode())
        quiet = 0
        while quiet < 3:
            out: list[Any] = self.partition.next_batch()
            quiet = 0 if out else quiet + 1
            for item in out:
                if isinstance(item, DeadLetter):
                    self.rejected.append((item.event_id, item.reason))
                elif isinstance(item, tuple) and isinstance(item[1], Chunk):
                    self.inbox.put(item[1])
            days, _ = self.inbox.complete()
            self.applied.update((e.event.event_id, day) for day, items in days for e in items)


def test_records_of_a_day_read_one_at_a_time_do_not_move_the_book() -> None:
    run = _LiveRun(("a", "b"))
    for day in range(20):  # caught up to day 19, a record a day on each input
        run.spell("a", f"a{day}", day)
        run.spell("b", f"b{day}", day)
    assert run.inbox.through == 19
    for i in range(30):  # then thirty more of day 19, each alone
        run.spell("a" if i % 2 else "b", f"today{i}", 19)
    assert run.inbox.through == 19 and not run.rejected
    assert not any(name.startswith("today") for name in run.applied)  # (they wait for day 20)
    run.spell("a", "tomorrow", 20)
    assert run.inbox.through == 20 and not run.rejected
    assert all(run.applied[f"today{i}"] == 20 for i in range(30))


def test_inputs_that_resume_after_a_pause_a_record_at_a_time_move_the_book_again() -> None:
    run = _LiveRun(("a", "b"))
    for day in range(80):
        run.spell("a", f"a{day}", day)
        run.spell("b", f"b{day}", day)
    for k in range(80):  # forty days' pause, then four records a day on each input
        run.spell("a", f"a-again{k}", 120 + k // 4)
        run.spell("b", f"b-again{k}", 120 + k // 4)
    assert not run.rejected and run.inbox.through == 139
    # Each applied on its day once enough came to be data, or (read after its day was
    # complete) on the next; none waits for more than the next day's records.
    applied = [run.applied[f"{name}-again{k}"] - (120 + k // 4)
               for name in "ab" for k in range(76)]
    assert set(applied) == {0, 1}, applied


def test_a_new_input_read_a_record_at_a_time_starts_on_its_second() -> None:
    run = _LiveRun(("a",))
    run.spell("a", "first", 100)
    assert run.inbox.through == NOTHING_YET  # one record: no clock, no day
    run.spell("a", "second", 101)
    assert run.inbox.through == 101 and run.applied == {"first": 100, "second": 101}
