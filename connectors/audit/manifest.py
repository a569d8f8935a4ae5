"""The manifest of a run's audit log: which partitions the run wrote, and where each ends.

A run's log has a partition per bucket of inputs and one of warnings, each made when its
first record arrives, so no record can say which other partitions exist: without more, a
deleted partition would leave a log whose every remaining partition verifies. When a run
ends, `write_manifest` names every partition with its record count and last record's hash,
signed as the anchors are (an HMAC with the audit key, else a plain digest). `verify_log`
then checks it: a partition missing, added, cut short or grown, or a manifest edited, is a
problem; so is a run's log without one (its writers' anchors say, signed, that the log is
sealed: `connectors.audit.writer.AuditWriter.sealed`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.audit._segments import list_partitions
from connectors.audit.record import canonical, signature, signature_fault
from connectors.audit.writer import tail_position

MANIFEST = "manifest.json"

End = tuple[int, str]
"""Where a partition ends: its number of records and its last record's hash."""


def write_manifest(log_dir: Path, key: bytes | None) -> None:
    """Seal the log of a finished run: name every partition and where it ends."""
    ends = {}
    for partition in list_partitions(log_dir):
        position = tail_position(partition)
        ends[partition.name] = (position.seq, position.head)
    (log_dir / MANIFEST).write_bytes(canonical(_body(ends, key)) + b"\n")


def _body(ends: dict[str, End], key: bytes | None) -> dict[str, Any]:
    partitions = {name: {"records": count, "head": head} for name, (count, head) in ends.items()}
    return {"partitions": partitions, **signature(canonical({"partitions": partitions}), key)}


def _named(body: Any) -> dict[str, End] | None:
    """The partitions a manifest names and where each ends; None for anything but a
    manifest as `write_manifest` writes it (a field added, a count that is no whole
    number)."""
    if (not isinstance(body, dict)
            or set(body) not in ({"partitions", "digest"}, {"partitions", "mac"})
            or not isinstance(body["partitions"], dict)):
        return None
    named = {}
    for name, end in body["partitions"].items():
        if (not isinstance(end, dict) or set(end) != {"records", "head"}
                or type(end["records"]) is not int or not isinstance(end["head"], str)):
            return None
        named[name] = (end["records"], end["head"])
    return named


def manifest_fault(log_dir: Path, key: bytes | None, ends: dict[str, End],
                   required: bool) -> tuple[str, str, str] | None:
    """What is wrong with the log's partitions against its manifest, as (kind, partition,
    detail); None when they agree, or when there is no manifest and none is ``required``."""
    path = log_dir / MANIFEST
    if not path.exists():
        return ("deleted", "", "missing: a run's log names its partitions in it when the "
                "run ends (the run did not end, or the file was removed)") if required else None
    written = path.read_bytes()
    try:
        body = json.loads(written)
    except (ValueError, RecursionError):
        body = None
    named = _named(body)
    if named is None:
        return ("edited", "", "not a manifest of partitions")
    signed = signature_fault(body, canonical({"partitions": body["partitions"]}), key,
                             "manifest", "the manifest was rewritten, or the key differs")
    if signed is not None:
        return ("bad_anchor", "", signed)
    if written != canonical(body) + b"\n":
        return ("edited", "", "not as written: its bytes are not the canonical encoding of "
                "what it says")
    missing, unnamed = sorted(named.keys() - ends.keys()), sorted(ends.keys() - named.keys())
    if missing:
        return ("deleted", missing[0], f"the partition is missing; {MANIFEST} names it with "
                f"{named[missing[0]][0]} records")
    if unnamed:
        return ("inserted", unnamed[0], f"a partition {MANIFEST} does not name")
    moved = [name for name in sorted(named) if ends[name] != named[name]]
    if moved:
        (count, _), (stated, _) = ends[moved[0]], named[moved[0]]
        return ("truncated" if count < stated else "inserted", moved[0],
                f"holds {count} records where {MANIFEST} says {stated}, or its last record "
                "differs")
    return None
