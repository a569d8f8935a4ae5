"""The program version that decided: the package version and a digest of the code itself,
so a warning names the exact code that produced it even between releases."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("config", "connectors", "detectors", "flows")


@cache
def program_version() -> str:
    """``0.1.0+<12 hex>``: the digest covers every Python file of the four packages."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{version('creditradar')}+{digest.hexdigest()[:12]}"
