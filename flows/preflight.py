"""The check of a feeds folder before a command reads it: a feed file that cannot be read
whole (a gzip file cut short) would be read up to its break while the other feeds carry the
book on, ageing the invoices whose payments it lacks into defaults."""

from __future__ import annotations

from pathlib import Path

import click
import structlog

from connectors.files import damage, feed_files

log = structlog.get_logger(__name__)

EXIT_UNREADABLE_INPUT = 5
"""Exit status of a command whose input could not be read whole (``unreadable_file``: a
file cut short or damaged): nothing ran, or its outputs after the break lack that input's
records."""


def damaged(feeds: Path, *, remedy: str) -> bool:
    """Whether a feed file in ``feeds`` cannot be read whole, each such file named on stderr
    with where it breaks, then that nothing was run and ``remedy``."""
    found = False
    for feed, path in feed_files(feeds):
        problem = damage(feed, path)
        if problem is None:
            continue
        found = True
        where = (f"is damaged after line {problem.origin.position - 1}"
                 if problem.origin is not None and problem.origin.position > 1
                 else "cannot be read")
        log.error("feeds.damaged_file", file=path.name, detail=problem.detail)
        click.echo(f"{path.name} {where} ({problem.detail})", err=True)
    if found:
        click.echo(f"nothing was run: repair the file or move it aside{remedy}", err=True)
    return found
