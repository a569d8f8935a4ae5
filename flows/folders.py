"""Output folders a command replaces whole (a demo's, a replay's): never a folder of other
work."""

from __future__ import annotations

import shutil
from pathlib import Path

from config.errors import ConfigError


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
