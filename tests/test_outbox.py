"""The outbox's history listing: its limit is checked before it reaches SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from connectors.channels.outbox import SQLITE_MAX_INTEGER, Outbox, message_id
from connectors.channels.store import Store


def _outbox(tmp_path: Path, messages: int) -> Outbox:
    store = Store(tmp_path)
    outbox = Outbox(store)
    for n in range(messages):
        outbox.enqueue(message_id(str(n)), "desk", "notify", [f"w{n}"], f"title {n}", "body",
                       "text", now=float(n))
    store.db.commit()
    return outbox


def test_a_negative_limit_is_refused_not_read_as_no_limit(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 3)
    with pytest.raises(ConfigError, match="cannot be negative"):
        outbox.rows(limit=-1)


@pytest.mark.parametrize("limit", [SQLITE_MAX_INTEGER, SQLITE_MAX_INTEGER + 1, 10**20])
def test_a_limit_beyond_sqlite_integers_lists_everything(tmp_path: Path, limit: int) -> None:
    outbox = _outbox(tmp_path, 3)
    assert [row["title"] for row in outbox.rows(limit=limit)] == [
        row["title"] for row in outbox.rows(limit=3)]
    assert len(outbox.rows(limit=limit)) == 3


def test_a_limit_keeps_the_newest(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 3)
    newest = outbox.rows(limit=3)[0]
    assert outbox.rows(limit=1) == [newest]


def test_an_attempt_whose_claim_lapsed_does_not_undo_the_next_workers_send(
        tmp_path: Path) -> None:
    """A slow SMTP exchange outlasted its claim: another worker took the message over and
    sent it, then the first attempt's late failure put the sent row back to pending, and
    it went out again."""
    outbox = _outbox(tmp_path, 1)
    [due] = outbox.due(now=10.0)
    first = outbox.claim(due.seq, now=10.0, lease_seconds=5.0)
    assert first is not None and outbox.claim(due.seq, now=11.0, lease_seconds=5.0) is None
    second = outbox.claim(due.seq, now=16.0, lease_seconds=5.0)  # the first presumed dead
    assert second is not None
    assert outbox.mark_sent(due.seq, second, "desk", now=17.0)
    assert not outbox.mark_attempt_failed(due.seq, first, "554 rejected", retry_at=30.0)
    assert not outbox.defer(due.seq, first, "429", retry_at=30.0)
    [row] = outbox.rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
