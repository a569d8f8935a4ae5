"""Read the audit log back, and check that it is whole: hashes, chain, order, anchors, tail.

Verification streams each partition once; only when something is wrong does it load the
partition's hashes to tell an edit from a deletion, an insertion or a move.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from config.errors import ConnectorError
from connectors.audit._segments import Line, list_partitions, list_segments, read_lines
from connectors.audit.manifest import MANIFEST, End, manifest_fault
from connectors.audit.record import ANCHOR, GENESIS, AuditRecord, anchor_fault

_Entry = tuple[Line, AuditRecord | None, str | None]


@dataclass(frozen=True, slots=True)
class Problem:
    """The first bad record: where it is and what is wrong with it.

    ``kind`` is one of ``edited``, ``deleted``, ``inserted``, ``moved``, ``truncated``,
    ``unclosed``, ``bad_anchor`` or ``empty``. A problem of the manifest
    (`connectors.audit.manifest`) names a partition, or the manifest as its segment, and no
    line.
    """

    kind: str
    partition: str
    segment: str
    line: int
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = [f"partition {self.partition!r}"] if self.partition else []
        if self.segment:
            where.append(f"{self.segment} line {self.line}" if self.line else self.segment)
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        return f"{self.kind}: {', '.join(where) or 'the log'}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The verdict on a whole log; ``ok`` only when every partition is intact and closed."""

    ok: bool
    records: int
    anchors: int
    partitions: tuple[str, ...]
    authenticated: bool
    problem: Problem | None

    def verdict(self) -> str:
        """One line for people: intact or not, and how much was checked."""
        if self.problem is not None:
            return f"NOT INTACT after {self.records} good records: {self.problem.kind}"
        signed = ("anchor signatures checked" if self.authenticated
                  else "anchors NOT authenticated (no key given)")
        return (f"intact: {self.records} records, {self.anchors} anchors in "
                f"{len(self.partitions)} partition(s); {signed}")


def check_log_directory(path: Path) -> None:
    """Refuse what is no log directory, naming the log where the path is next to one: a
    run's output folder (its log is ``audit/`` in it) or one partition of a log."""
    if not path.is_dir():
        raise ConnectorError(f"audit log {path} is not a directory")
    if (path / "audit").is_dir() and list_partitions(path / "audit"):
        raise ConnectorError(f"{path} is a run's output folder, not its audit log: give "
                             f"{path / 'audit'}")
    if any(path.glob("segment-*.jsonl")):
        raise ConnectorError(f"{path} is one partition of an audit log: give the log, "
                             f"{path.parent}")


def read_log(path: Path) -> Iterator[AuditRecord]:
    """Every record of a log directory, partition by partition in seq order, unverified
    (`verify_log` verifies: a replay does both)."""
    check_log_directory(Path(path))
    for partition_dir in list_partitions(Path(path)):
        for line, record, error in _entries(partition_dir, canonical_only=False):
            if record is None:
                raise ConnectorError(f"audit log {line.path} line {line.number}: {error}")
            yield record


def verify_log(path: Path, key: bytes | None) -> VerifyReport:
    """Check every partition of the log at ``path``; anchors are authenticated with ``key``."""
    path = Path(path)
    check_log_directory(path)
    partitions = tuple(p.name for p in list_partitions(path))
    tally = _Tally()
    problem = None
    if not partitions and not (path / MANIFEST).exists():
        problem = Problem("empty", "", "", 0, None, f"no partitions under {path}")
    for name in partitions:
        problem = _verify_partition(path / name, key, tally)
        if problem is not None:
            break
    if problem is None:
        fault = manifest_fault(path, key, tally.ends, required=tally.sealed)
        if fault is not None:
            kind, partition, detail = fault
            problem = Problem(kind, partition, MANIFEST if not partition else "", 0, None,
                              detail)
    return VerifyReport(problem is None, tally.records, tally.anchors, partitions,
                        key is not None, problem)


@dataclass(slots=True)
class _Tally:
    """What verification counted so far: good records and anchors, where each partition
    ends, and whether an anchor says the log is sealed by a manifest (a run's log)."""

    records: int = 0
    anchors: int = 0
    ends: dict[str, End] = field(default_factory=dict)
    sealed: bool = False


def _lines(partition_dir: Path) -> Iterator[Line]:
    for _, path in list_segments(partition_dir):
        yield from read_lines(path)


def _entries(partition_dir: Path, canonical_only: bool = True) -> Iterator[_Entry]:
    for line in _lines(partition_dir):
        try:
            yield line, AuditRecord.from_line(line.data, canonical_only), None
        except ConnectorError as exc:
            yield line, None, str(exc)


def _problem(kind: str, entry: _Entry, detail: str) -> Problem:
    line, record, _ = entry
    seq = None if record is None else record.seq
    return Problem(kind, line.path.parent.name, line.path.name, line.number, seq, detail)


def _verify_partition(partition_dir: Path, key: bytes | None, tally: _Tally) -> Problem | None:
    """The first problem in one partition, counting what it holds in ``tally``."""
    partition = partition_dir.name
    segments = list_segments(partition_dir)
    for expected, (index, path) in enumerate(segments):
        if index != expected:
            return Problem("deleted", partition, path.name, 1, None,
                           f"segment files {expected}..{index - 1} are missing before it")
    head, expected_seq = GENESIS, 0
    anchor_seq = -1
    first_unanchored: _Entry | None = None
    unclosed: _Entry | None = None  # the last anchor, while it is not the final one
    for i, entry in enumerate(_entries(partition_dir)):
        line, record, _ = entry
        if record is not None and not line.complete:
            return _problem("truncated", entry, "the last line lacks its newline: the file "
                            "was cut after it")
        if (record is None or record.hash != record.content_hash()
                or record.partition != partition
                or record.prev != head or record.seq != expected_seq):
            return _classify(list(_entries(partition_dir)), i, head, expected_seq)
        if record.kind == ANCHOR:
            fault = anchor_fault(record, key)
            if fault is not None:
                return _problem("bad_anchor", entry, f"{fault} (covers records seq "
                                f"{anchor_seq + 1}..{record.seq - 1})")
            anchor_seq, first_unanchored = record.seq, None
            unclosed = None if record.body["final"] else entry
            tally.anchors += 1
            tally.sealed = tally.sealed or record.body.get("sealed") is True
        elif first_unanchored is None:
            first_unanchored = entry
        head, expected_seq = record.hash, expected_seq + 1
        tally.records += 1
    if expected_seq == 0:
        name = segments[0][1].name if segments else "segment-000000.jsonl"
        return Problem("truncated", partition, name, 0, None, "the partition holds no records")
    if first_unanchored is not None:
        after = "no anchor at all" if anchor_seq < 0 else f"the anchor at seq {anchor_seq}"
        lost = expected_seq - anchor_seq - 1
        return _problem("truncated", first_unanchored,
                        f"the last {lost} records after {after} are unanchored: the tail "
                        "was cut (final anchor lost) or the writer crashed before close()")
    if unclosed is not None:
        return _problem("unclosed", unclosed,
                        "ends at a periodic anchor without the final anchor of close(): the "
                        "writer crashed or still runs, or the tail was cut at an anchor")
    tally.ends[partition] = (expected_seq, head)
    return None


def _classify(entries: list[_Entry], i: int, head: str, expected: int) -> Problem:
    """Name what happened at entry ``i``, where the chain from ``head`` first breaks."""
    line, record, error = entries[i]
    after = entries[i + 1][1] if i + 1 < len(entries) else None
    # When the next record follows the one before this, this one is an extra.
    skipped = after is not None and after.prev == head and after.seq == expected
    if record is None or record.hash != record.content_hash():
        if skipped:
            return _problem("inserted", entries[i], "an extra line: the next record follows "
                            "the one before it")
        if not line.complete and i == len(entries) - 1:
            return _problem("truncated", entries[i], "the last line is cut off mid-record")
        return _problem("edited", entries[i], error or "its hash does not match its content")
    if record.partition != line.path.parent.name:
        return _problem("inserted", entries[i],
                        f"a record of partition {record.partition!r}")
    where: dict[str, list[int]] = {}
    for j, (_, other, _) in enumerate(entries):
        if other is not None:
            where.setdefault(other.hash, []).append(j)
    copies = [j for j in where[record.hash] if j != i]
    if copies:
        return _problem("inserted", entries[i],
                        f"a copy of the record at line {entries[copies[0]][0].number} of "
                        f"{entries[copies[0]][0].path.name}")
    before = where.get(record.prev, [None])[0]
    if before is not None and before > i:
        detail = f"seq {record.seq} stands where seq {expected} belongs"
        rightful = next((j for j, (_, other, _) in enumerate(entries)
                         if other is not None and other.prev == head), None)
        if rightful is not None:
            detail += (f"; seq {expected} is at line {entries[rightful][0].number} of "
                       f"{entries[rightful][0].path.name}")
        return _problem("moved", entries[i], detail)
    if before is not None and before < i - 1:
        return _problem("inserted", entries[before + 1],
                        f"{i - 1 - before} record(s) from here do not belong to the chain: "
                        f"seq {record.seq} follows seq {entries[before][1].seq}")
    if skipped:
        return _problem("inserted", entries[i],
                        "does not belong to the chain: the next record follows the one before it")
    if record.prev == head:
        return _problem("edited", entries[i],
                        f"seq {record.seq} where seq {expected} belongs, re-hashed to fit")
    if record.seq > expected:
        missing = (f"record seq {expected} is" if record.seq == expected + 1
                   else f"records seq {expected}..{record.seq - 1} are")
        return _problem("deleted", entries[i], f"{missing} missing before it")
    culprit = entries[i - 1] if i > 0 else entries[i]
    return _problem("edited", culprit, "rewritten and re-hashed: the next record was chained "
                    "to a different version of it")
