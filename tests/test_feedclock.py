"""Only accepted records move time: a feed's clock, read ahead, lateness and typos."""

from __future__ import annotations

from detectors.clock import DAY
from detectors.events import Origin, StatusChange
from detectors.feedclock import FeedClock
from detectors.inbox import ENDED, NOTHING_YET
from detectors.reach import Reach


def schedule(days: list[int], read_ahead: int = 4) -> tuple[dict[str, int], dict[str, str]]:
    """Offer records dated ``days`` (ids r0, r1, ... in file order) to a clock, reading as
    a partition does; return each record's delivery day and each rejection's reason."""
    clock = FeedClock(read_ahead=read_ahead)
    delivered: dict[str, int] = {}
    rejected: dict[str, str] = {}
    pending = list(enumerate(days))
    while True:
        while clock.wants_more() and pending:
            i, day = pending.pop(0)
            clock.offer(StatusChange(f"r{i}", day * DAY, "C1", "active"), b"",
                        Origin("file", "f", i + 1))
        batch = clock.close(ended=not pending)
        rejected.update((d.event_id, d.reason) for d in clock.take_rejected())
        if batch is None:
            if not pending:
                return delivered, rejected
            continue
        for envelope in batch.envelopes:
            delivered[envelope.event.event_id] = envelope.day
        if batch.through >= ENDED:
            return delivered, rejected


def test_in_order_records_are_applied_on_their_own_day() -> None:
    days = [10, 10, 11, 13, 13, 20, 21, 40]
    delivered, rejected = schedule(days)
    assert rejected == {}
    assert delivered == {f"r{i}": day for i, day in enumerate(days)}


def test_one_record_dated_ahead_of_its_neighbours_moves_nothing() -> None:
    # A date 75 days ahead in the middle of the file: it waits for its day; the records
    # after it in the file keep theirs, none is late.
    days = [100, 101, 102, 177, 103, 104, 105, 106, 107, 108]
    delivered, rejected = schedule(days)
    assert rejected == {}
    assert delivered == {f"r{i}": day for i, day in enumerate(days)}


def test_a_typo_far_in_the_future_is_rejected_and_moves_nothing() -> None:
    days = [100, 101, 102, 376_000, 103, 104, 105, 106]  # year 2999 in the middle
    delivered, rejected = schedule(days)
    assert rejected == {"r3": "implausible_time"}
    assert delivered == {f"r{i}": day for i, day in enumerate(days) if i != 3}


def test_records_dated_far_ahead_cannot_fill_the_buffer_and_move_time() -> None:
    # More typos than the clock reads ahead, scattered through a file, each a year or more
    # ahead of its neighbours: they wait for their day without counting as the feed moving
    # on, so no valid record after them is made late.
    days = [100 + i // 3 for i in range(300)]
    for k, at in enumerate(range(10, 300, 20)):  # 15 typos, read_ahead 4
        days.insert(at, 500 + 40 * k)
    delivered, rejected = schedule(days)
    assert rejected == {}
    assert delivered == {f"r{i}": day for i, day in enumerate(days)}


def test_a_feed_that_jumps_a_season_is_read_ahead_only_as_far_as_the_buffer_holds() -> None:
    # After the jump no record is near the clock's day, so it reads ahead until its buffer
    # is full (16 x read_ahead) and then moves: every record still on its own day.
    days = [100, 101, 102] + [400 + i // 4 for i in range(200)]
    days[50], days[51] = days[51] + 3, days[50]  # a little out of order after the jump
    clock_days, rejected = schedule(days, read_ahead=2)
    assert rejected == {}
    assert clock_days == {f"r{i}": day for i, day in enumerate(days)}
    clock, read, left_102_after = FeedClock(read_ahead=2), 0, None
    while left_102_after is None:
        while clock.wants_more():
            clock.offer(StatusChange(f"r{read}", days[read] * DAY, "C1", "active"), b"",
                        Origin("file", "f", read + 1))
            read += 1
        batch = clock.close(ended=False)
        if batch is not None and batch.day == 102:
            left_102_after = read
    assert left_102_after == 3 + 16 * 2  # the buffer's bound, not the whole file


def _last_batch(days: list[int]) -> tuple[int, dict[str, int]]:
    """Read records dated ``days`` to the end: the input's supported end, and the days of
    the records its last batch delivers."""
    clock, pending = FeedClock(), list(enumerate(days))
    while True:
        while clock.wants_more() and pending:
            i, day = pending.pop(0)
            clock.offer(StatusChange(f"r{i}", day * DAY, "C1", "active"), b"",
                        Origin("file", "f", i + 1))
        batch = clock.close(ended=not pending)
        if batch is not None and batch.through >= ENDED:
            assert batch.reach is not None
            return batch.reach.end, {e.event.event_id: e.day for e in batch.envelopes}


def test_records_alone_after_the_rest_of_a_feed_are_past_its_supported_end() -> None:
    # A daily feed with typos a year and more ahead scattered through it: its supported end
    # is its own last day, and the typos all come in its last batch, on their own days, for
    # the first step to judge once every input has ended.
    days = [100 + i // 3 for i in range(600)]
    for k, at in enumerate((50, 200, 350, 500)):
        days.insert(at, 400 + 300 * k)
    end, last = _last_batch(days)
    assert end == 299
    assert {day for day in last.values() if day > end} == {400, 700, 1000, 1300}


def test_a_feed_ends_where_its_records_do_not_where_a_month_or_a_dense_quarter_follows() -> None:
    daily = [100 + i // 3 for i in range(600)]  # to day 299
    assert _last_batch(daily + [320, 345])[0] == 345  # each within a month of the one before
    assert _last_batch(daily + [400 + i // 8 for i in range(64)])[0] == 407  # a dense group
    assert _last_batch(daily + [400 + 20 * i for i in range(6)])[0] == 299  # a sparse tail
    yearly = [100 + 365 * (i // 3) + i % 3 for i in range(12)]  # a few records a year
    assert _last_batch(yearly)[0] == yearly[-1]
    weekly = [100 + 6 * i for i in range(60)]  # all still held at the end: judged alike
    assert _last_batch(weekly + [3400])[0] == weekly[-1]  # a typo nine years on


def _read(days: list[int], ended_with_last: bool) -> tuple[dict[str, int], Reach | None]:
    """Read records dated ``days`` as a partition does, its source saying it ended either
    with its last record (a bounded Kafka partition) or on the read after it (a file): each
    record's day, and the days the input supports."""
    clock, pending, delivered = FeedClock(), list(enumerate(days)), {}
    ended = False
    while True:
        while clock.wants_more() and not ended:
            if not pending:
                ended = True
                break
            i, day = pending.pop(0)
            clock.offer(StatusChange(f"r{i}", day * DAY, "C1", "active"), b"",
                        Origin("file", "f", i + 1))
            ended = ended_with_last and not pending
        batch = clock.close(ended=ended)
        if batch is not None:
            delivered.update((e.event.event_id, e.day) for e in batch.envelopes)
            if batch.through >= ENDED:
                return delivered, batch.reach


def test_an_inputs_end_is_judged_alike_whenever_its_source_says_it_ended() -> None:
    days = [100 + i // 3 for i in range(600)] + [340 + 40 * k for k in range(64)]
    assert _read(days, ended_with_last=True) == _read(days, ended_with_last=False)


def test_typos_at_the_head_of_a_file_do_not_start_its_clock() -> None:
    days = [376_000, -700_000, 100, 101, 102, 103, 104]  # 2999 and year 0 first
    delivered, rejected = schedule(days)
    assert rejected == {"r0": "implausible_time", "r1": "implausible_time"}
    assert delivered == {f"r{i}": day for i, day in enumerate(days) if i > 1}


def test_a_record_behind_its_feed_is_applied_today_within_the_lateness_else_late() -> None:
    # Days 110-114 are read before 108 and 90 come: the feed's clock has passed 108.
    days = [100, 110, 111, 112, 113, 114, 108, 90, 115]
    delivered, rejected = schedule(days, read_ahead=2)
    assert rejected == {"r7": "late"}  # 20 days behind; 7 are allowed
    assert 108 < delivered["r6"] <= 108 + 7  # a few days behind: applied on the feed's day
    assert all(delivered[f"r{i}"] == days[i] for i in (0, 1, 2, 3, 4, 5, 8))


def test_records_of_other_days_never_come_after_their_day_was_promised() -> None:
    clock = FeedClock(read_ahead=3)
    promised = -1
    for i, day in enumerate([5, 9, 6, 7, 30, 8, 31, 32, 33, 34]):
        clock.offer(StatusChange(f"r{i}", day * DAY, "C1", "active"), b"",
                    Origin("file", "f", i))
        while (batch := clock.close(ended=False)) is not None:
            assert all(e.day > promised for e in batch.envelopes)
            assert batch.day > promised and batch.through >= batch.day
            promised = batch.through


def _offer(clock: FeedClock, name: str, day: int, given: int | None = None) -> None:
    clock.offer(StatusChange(name, day * DAY, "C1", "active"), b"", Origin("kafka", "t:0", 0),
                given)


def test_an_idle_input_delivers_every_day_it_holds_and_stays_on_the_last() -> None:
    clock = FeedClock(read_ahead=64)
    for name, day in (("a", 10), ("b", 12), ("c", 12)):
        _offer(clock, name, day)
    assert clock.close(ended=False) is None  # too few read ahead to close a day
    batches = []
    while (batch := clock.close(ended=False, idle=True)) is not None:
        batches.append(batch)
    assert [(b.day, [e.event.event_id for e in b.envelopes], b.through) for b in batches] == [
        (10, ["a"], 11), (12, ["b", "c"], 12)]
    assert clock.close(ended=False, idle=True) is None  # nothing more to say
    _offer(clock, "late_but_allowed", 9)
    _offer(clock, "too_late", 2)
    batch = clock.close(ended=False, idle=True)
    assert batch is not None and (batch.day, batch.through) == (12, 12)
    assert [e.event.event_id for e in batch.envelopes] == ["late_but_allowed"]
    assert [(d.event_id, d.reason) for d in clock.take_rejected()] == [("too_late", "late")]


def test_a_live_input_read_one_record_at_a_time_keeps_its_day() -> None:
    # Each idle spell moved the clock a day on: a feed read in real time, a record at a
    # time, ran ahead of its records, and from the eighth record of a day on they were late.
    clock = FeedClock(read_ahead=64)
    for i in range(10):
        _offer(clock, f"back{i}", i)
    _flushed(clock)
    for i in range(30):
        _offer(clock, f"today{i}", 10 + i // 10)  # ten records a day, each in its own spell
        delivered, _ = _flushed(clock)
        assert delivered == {f"today{i}": 10 + i // 10}
    assert clock.day == 12 and not clock.take_rejected()


def _flushed(clock: FeedClock) -> tuple[dict[str, int], int]:
    """What an idle input delivers, by record, on which day, and the day it promises."""
    delivered: dict[str, int] = {}
    through = NOTHING_YET
    while (batch := clock.close(ended=False, idle=True)) is not None:
        delivered.update((e.event.event_id, e.day) for e in batch.envelopes)
        through = max(through, batch.through)
    return delivered, through


def test_an_idle_input_sends_a_typod_date_unpromised_and_reads_on() -> None:
    # A live input that went idle holding a record dated on: delivering it moved its clock
    # there, and every record it read next was rejected as late.
    for ahead in (60, 365):  # a month's typo, a year's
        clock = FeedClock(read_ahead=64)
        assert clock.reach_through(0) is None  # not started
        for i in range(30):
            _offer(clock, f"d{i}", 100 + i)
        _offer(clock, "typo", 129 + ahead)
        delivered, through = _flushed(clock)
        assert delivered == {**{f"d{i}": 100 + i for i in range(30)}, "typo": 129 + ahead}
        assert through == 129  # the typo's day is not promised: the first step waits
        _offer(clock, "next", 131)  # what it reads next is applied on its day
        assert _flushed(clock) == ({"next": 131}, 131) and not clock.take_rejected()


def test_a_new_live_input_does_not_start_its_clock_on_one_record() -> None:
    # A live input whose first record was a typo'd year started its clock there: every
    # record it read next was late (or implausible) and lost.
    clock = FeedClock(read_ahead=64)
    _offer(clock, "typo", 100 + 365)
    assert _flushed(clock) == ({"typo": 465}, NOTHING_YET)  # on its day, unpromised
    assert clock.reach_through(0) is None  # not started
    _offer(clock, "next", 100)
    assert _flushed(clock) == ({"next": 100}, NOTHING_YET)  # far from the typo: no group
    _offer(clock, "then", 101)  # near the record before: a group starts the clock
    assert _flushed(clock) == ({"then": 101}, 101)
    assert not clock.take_rejected()
    reach = clock.reach_through(101)
    assert reach is not None and (reach.first, reach.records) == (101, 1)


def test_a_live_input_read_one_record_at_a_time_starts_on_its_second() -> None:
    # Every input of a live run that read one record per idle spell waited for a group
    # that never came: no day of the book was complete.
    clock = FeedClock(read_ahead=64)
    _offer(clock, "a", 10)
    assert _flushed(clock) == ({"a": 10}, NOTHING_YET)
    _offer(clock, "b", 11)
    assert _flushed(clock) == ({"b": 11}, 11)


def test_a_typo_read_twice_or_far_from_the_rest_starts_no_clock() -> None:
    clock = FeedClock(read_ahead=64)
    for _ in range(2):  # a producer's retry: the same record twice
        _offer(clock, "typo", 465)
    assert _flushed(clock) == ({"typo": 465}, NOTHING_YET)
    _offer(clock, "filing", 100)
    assert _flushed(clock) == ({"filing": 100}, NOTHING_YET)
    assert not clock.take_rejected()
    clock = FeedClock(read_ahead=64)
    _offer(clock, "real", 100)  # and a typo more than max_gap_days on, read together:
    _offer(clock, "typo", 100 + 3700)  # the median of two was the typo, the real rejected
    assert _flushed(clock) == ({"real": 100, "typo": 3800}, NOTHING_YET)
    _offer(clock, "next", 101)
    assert _flushed(clock) == ({"next": 101}, 101) and not clock.take_rejected()


def test_an_idle_input_delivers_records_after_a_quiet_spell_on_their_days() -> None:
    # Master data, a registry or payments quiet for weeks while the book moves on.
    clock = FeedClock(read_ahead=64)
    for i in range(60):
        _offer(clock, f"c{i}", 0)
    assert len(_flushed(clock)[0]) == 60
    for day in (40, 45, 60, 80):
        _offer(clock, f"update{day}", day)
        assert _flushed(clock)[0] == {f"update{day}": day}
        assert not clock.take_rejected()


def test_a_sparse_inputs_lone_record_a_year_on_is_past_what_it_supports() -> None:
    clock = FeedClock(read_ahead=64)
    for i, day in enumerate((10, 60, 120, 200)):  # a few records a year
        _offer(clock, f"r{i}", day)
    _offer(clock, "typo", 200 + 365)
    delivered, through = _flushed(clock)
    assert delivered["typo"] == 200 + 365 and through == 200


def test_a_replayed_record_is_applied_on_its_logged_day_and_judged_no_more() -> None:
    clock = FeedClock(read_ahead=2)
    for name, day, given in (("a", 10, 10), ("far", 9000, 11), ("b", 1, 11), ("c", 12, 14)):
        _offer(clock, name, day, given)
    delivered = {}
    while (batch := clock.close(ended=True)) is not None:
        delivered.update((e.event.event_id, e.day) for e in batch.envelopes)
    assert delivered == {"a": 10, "far": 11, "b": 11, "c": 14}
    assert clock.take_rejected() == []


def test_typos_months_apart_in_a_sparse_input_make_no_group() -> None:
    # Records sent alone counted towards a group with any later one: two typo'd years a
    # month apart, each read between ordinary records, took the input a year on.
    clock = FeedClock(read_ahead=64)
    for day in range(0, 220, 20):  # a record every 20 days
        _offer(clock, f"r{day}", day)
    _flushed(clock)
    _offer(clock, "typo1", 210 + 365)
    _offer(clock, "r220", 220)
    assert _flushed(clock) == ({"typo1": 575, "r220": 220}, 220)
    _offer(clock, "typo2", 240 + 365)
    assert _flushed(clock) == ({"typo2": 605}, 220)  # unpromised: the clock stays
    _offer(clock, "r240", 240)
    assert _flushed(clock) == ({"r240": 240}, 240) and not clock.take_rejected()


def test_a_record_sent_alone_twice_counts_once() -> None:
    clock = FeedClock(read_ahead=64)
    for day in range(0, 360, 9):  # forty records a year: three make a quarter's group
        _offer(clock, f"r{day}", day)
    _flushed(clock)
    assert clock.tail_support(40, 351) == 3
    for _ in range(2):  # a typo'd year published twice, each read alone
        _offer(clock, "typo", 351 + 365)
        assert _flushed(clock)[1] == 351
    _offer(clock, "other", 351 + 366)  # two records, not three
    assert _flushed(clock)[1] == 351
