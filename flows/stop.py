"""How a run stops: the first Ctrl-C or SIGTERM asks it to stop where it stands; a second
ends it at once.

Asked to stop, every source ends (`connectors.partition.FeedPartition` stops reading), and
the steps then apply every day their inputs had promised and nothing after
(`flows.engine.StageLogic.on_eof`). The outputs and the audit log then hold exactly the
days the run completed, the log records through which day (``stop`` records), and a replay
of the log stops on that day too: a stopped live run replays to the same bytes. A run
resumed from its recovery snapshots goes on from there, as if it had never stopped.

A second signal ends the run with a KeyboardInterrupt, as Python's default does for
Ctrl-C: bytewax closes the outputs where they stand, and the last day's outputs may be
incomplete.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)

_asked = threading.Event()


def stop_requested() -> bool:
    """Whether this process was asked to stop its run."""
    return _asked.is_set()


@contextmanager
def stopping_on(*signals: signal.Signals) -> Iterator[None]:
    """Within, the first of ``signals`` asks the run to stop (`stop_requested`), and the
    next raises KeyboardInterrupt. A signal ignored when the run began (SIGINT of a job
    started in the background by a shell) stays ignored; outside the main thread, where
    Python takes no signal handler, signals keep their handlers."""
    _asked.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum: int, frame: Any) -> None:
        if _asked.is_set():
            raise KeyboardInterrupt
        _asked.set()
        log.info("run.stopping", signal=signal.Signals(signum).name)

    previous = {number: signal.signal(number, ask) for number in signals
                if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
