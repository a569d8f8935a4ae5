"""The outbox file is shared: the workers of a run, its delivery worker and the CLI open it at
the same time, a new one included."""

from __future__ import annotations

import threading
from pathlib import Path

from connectors.channels.store import Store

OPENERS = 4
ROUNDS = 150
"""Before write-ahead logging was switched on with retries, about one round in thirteen
failed with "database is locked": 150 rounds all passing by chance is below one in 10^5."""


def test_workers_opening_a_new_outbox_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        state = tmp_path / str(round_)
        start = threading.Barrier(OPENERS)
        errors: list[Exception] = []

        def open_store(state: Path = state, start: threading.Barrier = start,
                       errors: list[Exception] = errors) -> None:
            start.wait()
            try:
                Store(state).close()
            except Exception as exc:  # collected: a thread's exception would be lost
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(OPENERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"round {round_}: {errors}"
        store = Store(state)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.close()
