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
