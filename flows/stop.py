"""How a run stops: the first Ctrl-C or SIGTERM asks it to stop where it stands; a second
ends it at once.

Asked to stop, every source tells the steps that it stopped and ends
(`connectors.partition.FeedPartition`); the steps then keep the days they had not completed
for a resumed run rather than apply the end of input (`flows.engine.StageLogic.on_eof`).
The outputs and the audit log then hold exactly the days the run completed, the log records
through which day (``stop`` records), and a replay of the log stops on that day too: a
stopped live run replays to the same bytes. A run resumed from its recovery snapshots goes on
from there with the same warnings and scores as a run never stopped.

A second signal ends the run with a KeyboardInterrupt, as Python's default does for Ctrl-C:
bytewax closes the outputs where they stand, and the last day's outputs may be incomplete.
A run that cannot unwind (a source plugin blocked in a read that never returns) is ended
`HARD_STOP_GRACE_SECONDS` later without closing anything.
In a cluster, the run's processes take the parent's word: SIGTERM or SIGINT, as often as
they come (a process group signalled as a whole), only asks them to stop, and the parent's
second signal reaches them as `HARD_STOP`.

A signal that comes once every input has ended (while the run writes its last days) stops
nothing: the run finishes as if it had not come.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)

HARD_STOP = signal.SIGUSR1
"""What a cluster's parent sends its processes to end them at once."""
STOPPED_EXIT = 130
"""How a cluster's process that stopped with input left to read exits."""
HARD_STOP_GRACE_SECONDS = 15.0
"""How long a run ended at once may take to unwind before its process exits regardless."""


class RunStop:
    """This process's run: asked to stop, and whether a source stopped with input left
    (`connectors.partition.Stop`)."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self._cut = threading.Event()

    def requested(self) -> bool:
        return self._asked.is_set()

    def cut(self) -> None:
        self._cut.set()

    def was_cut(self) -> bool:
        """Whether the run stopped before its input ended (the run's line says so)."""
        return self._cut.is_set()

    def ask(self) -> None:
        self._asked.set()

    def reset(self) -> None:
        self._asked.clear()
        self._cut.clear()


RUN = RunStop()


@contextmanager
def stopping_on(*signals: signal.Signals, escalate: bool = True) -> Iterator[None]:
    """Within, the first of ``signals`` asks the run to stop, and (with ``escalate``) the
    next raises KeyboardInterrupt, as `HARD_STOP` always does. A signal ignored when the run
    began (SIGINT of a job a shell started in the background) stays ignored. Only on the
    main thread, where Python takes signal handlers: a run on another thread stops with the
    process's run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    RUN.reset()

    def ask(signum: int, frame: Any) -> None:
        if RUN.requested():
            if escalate:
                _end_at_once()
            return
        RUN.ask()
        log.info("run.stopping", signal=signal.Signals(signum).name)

    def hard(signum: int, frame: Any) -> None:
        _end_at_once()

    previous = {number: signal.signal(number, ask) for number in signals
                if signal.getsignal(number) is not signal.SIG_IGN}
    previous[HARD_STOP] = signal.signal(HARD_STOP, hard)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for watchdog in _watchdogs:  # (the run unwound)
            watchdog.cancel()
        _watchdogs.clear()


_watchdogs: list[threading.Timer] = []


def _end_at_once() -> None:
    """Raise KeyboardInterrupt, and exit the process if the run has not unwound
    `HARD_STOP_GRACE_SECONDS` later."""
    watchdog = threading.Timer(HARD_STOP_GRACE_SECONDS, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    _watchdogs.append(watchdog)
    raise KeyboardInterrupt


def _exit_now() -> None:
    log.error("run.not_unwound", seconds=HARD_STOP_GRACE_SECONDS,
              detail="a step or a source did not return: the process exits without closing "
                     "its outputs")
    os._exit(STOPPED_EXIT)
