"""Output folders: one run writes into a folder at a time (`exclusive`), and a command that
replaces a folder whole (a demo's, a replay's) takes no folder of other work (`claim`)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from config.errors import ConfigError

log = structlog.get_logger(__name__)


def claim(folder: Path, owner: str, *, earlier: bool = False) -> None:
    """Make ``folder`` the ``owner``'s output (``demo``, ``replay``), whose command replaces
    what it holds: a new or empty folder, or an earlier one's (its mark, written here first,
    so that one stopped half-way is still its own; ``earlier``: recognised otherwise, as
    an older version's); anything else is refused, so that ``--out .`` cannot take a
    folder of other work with it."""
    mark = folder / f".creditradar-{owner}"
    if folder.is_dir() and any(folder.iterdir()) and not (mark.exists() or earlier):
        raise ConfigError(f"{owner} output {folder} holds files that are no {owner}'s: choose "
                          f"a new or empty folder (a {owner} replaces what its folder holds)")
    folder.mkdir(parents=True, exist_ok=True)
    mark.write_text(f"the output of a creditradar {owner}: the next {owner} into this folder "
                    "replaces what it holds\n")


def empty(folder: Path, owner: str) -> None:
    """Remove everything in ``folder`` but the ``owner``'s mark (the folder itself may be
    the working directory or a mount point, which cannot be removed)."""
    for entry in folder.iterdir():
        if entry.name == f".creditradar-{owner}":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextmanager
def exclusive(folder: Path) -> Iterator[int]:
    """Hold ``folder`` (made if need be) for one run: another run into it while this one,
    or any process it handed the yielded descriptor to, still runs is refused. A lock on
    the folder itself (flock), which the kernel lets go when the last holder ends, however
    it ends: a run killed with SIGKILL holds nothing. Within the holder, holding it again
    (a demo's or a replay's run into their own folder) is holding it still. A file system
    that takes no lock (some network ones) leaves the folder unlocked, with a warning."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    if key in _HELD:
        yield _HELD[key]
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{folder} is the output of a run still going on (or of its "
                              "processes): wait for it to end, or stop it") from None
        except OSError as exc:
            log.warning("folder.not_locked", folder=str(folder), why=exc.strerror)
        _HELD[key] = descriptor
        try:
            yield descriptor
        finally:
            del _HELD[key]
    finally:
        os.close(descriptor)


_HELD: dict[Path, int] = {}
"""The folders this process holds (`exclusive`), and their descriptors."""
