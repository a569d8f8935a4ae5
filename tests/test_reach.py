"""How far a book goes once its inputs have ended (`detectors.reach.book_end`)."""

from __future__ import annotations

from itertools import permutations

from detectors.reach import BOOK_GAP_DAYS, Reach, book_end

PAYMENTS = Reach(first=0, end=364, records=10_000, support=64)
REGISTRY = Reach(first=3, end=350, records=80, support=6)


def test_an_input_of_a_few_records_long_after_the_rest_does_not_move_the_end() -> None:
    typo = Reach(first=364 + 365, end=364 + 365, records=1, support=1)
    few = Reach(first=500, end=560, records=63, support=16)
    assert book_end([PAYMENTS, REGISTRY, typo, few]) == PAYMENTS.end


def test_an_input_continuing_the_book_within_a_quarter_moves_it_and_the_next() -> None:
    first = Reach(first=364 + BOOK_GAP_DAYS, end=500, records=1, support=1)
    second = Reach(first=500 + BOOK_GAP_DAYS, end=620, records=2, support=1)
    assert book_end([PAYMENTS, second, first]) == 620
    beyond = Reach(first=364 + BOOK_GAP_DAYS + 1, end=500, records=1, support=1)
    assert book_end([PAYMENTS, beyond]) == PAYMENTS.end


def test_an_input_with_a_quarters_share_of_the_largest_moves_the_end_after_a_gap() -> None:
    next_year = Reach(first=800, end=1100, records=PAYMENTS.support, support=64)
    assert book_end([PAYMENTS, next_year]) == 1100


def test_the_largest_input_decides_even_when_it_ends_first() -> None:
    # A small input ending later than the largest, beginning before its end, counts; one
    # beginning more than a quarter after it does not.
    short = Reach(first=0, end=200, records=20_000, support=64)
    assert book_end([short, Reach(first=150, end=230, records=5, support=1)]) == 230
    assert book_end([short, Reach(first=300, end=300, records=5, support=1)]) == 200


def test_an_input_replayed_from_an_audit_log_counts_whatever_its_size() -> None:
    logged = Reach(first=900, end=900, records=1, support=1, given=True)
    assert book_end([PAYMENTS, logged]) == 900


def test_the_end_does_not_depend_on_the_order_inputs_ended_in() -> None:
    reaches = [PAYMENTS, REGISTRY, Reach(first=420, end=430, records=1, support=1),
               Reach(first=500, end=700, records=3, support=1),
               Reach(first=2000, end=2000, records=1, support=1)]
    assert {book_end(order) for order in permutations(reaches)} == {700}


def test_an_input_beginning_within_the_book_once_another_moved_its_end_counts() -> None:
    small = Reach(first=470, end=700, records=10, support=3)  # begins after a gap: alone, no
    assert book_end([PAYMENTS, small]) == PAYMENTS.end
    dense = Reach(first=480, end=600, records=100, support=25)  # a feed of its own: counts
    assert book_end([PAYMENTS, small, dense]) == 700
