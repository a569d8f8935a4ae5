"""Replay: run the monitor again over the inputs an audit log recorded, and check that it
warns exactly as the original run did.

The log holds every record that passed the door (valid under the contract, plausibly dated,
not late), with its raw text, its origin (file and line, or Kafka topic, partition and
offset) and the event-time day it was applied on. `write_feeds` puts those records back into
feed files in the order the original source read them; `replay` runs the unchanged monitor
over the files (notifications off), each record on the day the log says it was applied on
(`LoggedFeeds`), and compares the warnings it writes with the warnings the log recorded,
byte for byte.

What a replay cannot see: records rejected at the door (invalid JSON, contract errors,
implausible or late times) are not logged; they never moved a clock nor reached a customer,
so they cannot change a warning. Repeated event ids are logged and rejected again on replay.

The replay's choices of model (``models.jsonl``) are compared with the run's file beside the
log too, at every month end the replay reached. That file is not in the log, so a
difference does not fail the replay: it says the file is not what this log produces.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from config.errors import ConnectorError
from config.settings import Settings, config_digest
from connectors.audit import AuditRecord, read_log, verify_log
from connectors.audit.record import END, INPUT, STOP, WARNING
from connectors.channels.escape import for_json
from connectors.contracts import FEEDS
from connectors.files import FolderFeeds
from connectors.partition import RawLine, RecordInput
from connectors.sinks import json_line
from detectors.clock import DAY, parse_time, to_rfc3339
from detectors.inbox import NOTHING_YET
from detectors.records import Warning
from flows.choices import MODEL_CHOICES, UNREADABLE, load_choices
from flows.folders import claim, exclusive
from flows.run import WARNINGS, canonicalize, run_feeds

__all__ = [
    "FEEDS_DIR",
    "LOGGED_WARNINGS",
    "REPORT",
    "Logged",
    "ReplayReport",
    "logged_records",
    "replay",
    "write_feeds",
]

FEEDS_DIR = "feeds"
"""Where, under the replay's output folder, the reconstructed feed files go."""
LOGGED_WARNINGS = "logged-warnings.jsonl"
"""The log's warnings, written exactly as the original run's warnings.jsonl was."""
REPORT = "replay-report.json"
MAX_DIFFERENCES = 10
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Logged(NamedTuple):
    """What a replay takes from an audit log (`logged_records`)."""

    inputs: list[AuditRecord]
    warnings: list[AuditRecord]
    stopped_through: int | None
    """The last day the run completed where it was stopped (`flows.stop`) and not resumed
    past it; None where it read its inputs to their end (or was killed)."""


def logged_records(log: Path, until: datetime | None = None) -> Logged:
    """The log's ``input`` and ``warning`` records with event time at or before ``until``
    (all of them without it), each list in log order, and where the run stopped."""
    inputs: list[AuditRecord] = []
    warnings: list[AuditRecord] = []
    last_marks: dict[str, AuditRecord] = {}
    for record in read_log(Path(log)):
        if record.kind not in (INPUT, WARNING, STOP, END):
            continue
        if until is not None and parse_time(record.event_time) > until:
            continue
        if record.kind in (STOP, END):
            last_marks[record.partition] = record
        else:
            (inputs if record.kind == INPUT else warnings).append(record)
    return Logged(inputs, warnings, _stopped_through(inputs, list(last_marks.values())))


def _stopped_through(inputs: list[AuditRecord], marks: list[AuditRecord]) -> int | None:
    """The day a stopped run's days were complete through, from each partition's last mark:
    the earliest of them (a later step completes a day only once every first step has);
    none where the run ended after its last stop, where a partition logged inputs after its
    stop (a run resumed after it and killed: nothing says where it stood), or where a mark
    is damaged (`verify_log` then names it)."""
    through: dict[str, int] = {}
    for mark in marks:
        day = mark.body.get("through")
        if mark.kind == END or type(day) is not int:
            return None
        through[mark.partition] = day
    if not through:
        return None
    for record in inputs:
        if int(record.body["day"]) > through.get(record.partition, NOTHING_YET):
            return None
    return min(through.values())


def write_feeds(inputs: Iterable[AuditRecord], folder: Path) -> dict[str, list[AuditRecord]]:
    """Write logged inputs back as feed files under ``folder``; return each file's records in
    line order (line ``n`` of file ``name`` is ``result[name][n - 1]``).

    An input read from a file goes back to a file of the same name at its original line
    order, so the folder source merges the files exactly as it did the first time. An input
    from Kafka goes to one file per feed, topic and partition in offset order; any other
    input to one file per feed in event-time order.
    """
    streams: dict[str, list[tuple[tuple[int, str, str, int], AuditRecord]]] = defaultdict(list)
    for record in inputs:
        feed, _, origin = _input_fields(record)
        name, position = _stream(feed, origin, record)
        streams[name].append((position, record))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    written = {}
    for name, lines in sorted(streams.items()):
        lines.sort(key=lambda line: line[0])
        records = [record for _, record in lines]
        data = "".join(_one_line(r.body["raw"]) + "\n" for r in records).encode("utf-8")
        if name.endswith(".gz"):
            with gzip.GzipFile(folder / name, "wb", mtime=0) as handle:  # no wall clock
                handle.write(data)
        else:
            (folder / name).write_bytes(data)
        written[name] = records
    return written


def _one_line(raw: str) -> str:
    """A record as one line of a feed file. A Kafka message may hold line breaks, but in a
    valid record they can only be whitespace between JSON tokens (a string cannot hold one
    unescaped), so they become spaces: the same record, on one line."""
    return raw.replace("\r\n", " ").replace("\n", " ")


def _input_fields(record: AuditRecord) -> tuple[str, str, dict[str, Any]]:
    body = record.body
    feed, raw, origin = body.get("feed"), body.get("raw"), body.get("origin")
    if feed not in FEEDS or not isinstance(raw, str) or not isinstance(origin, dict):
        raise ConnectorError(f"audit record partition {record.partition!r} seq {record.seq} "
                             f"({record.id}) is not an input record with feed, raw and origin")
    return feed, raw, origin


def _stream(feed: str, origin: dict[str, Any],
            record: AuditRecord) -> tuple[str, tuple[int, str, str, int]]:
    """The file an input goes back to, and its position there."""
    tail = ("", record.partition, record.seq)
    name = origin.get("file")
    if isinstance(name, str) and isinstance(origin.get("line"), int) and _is_feed_file(feed,
                                                                                       name):
        return name, (origin["line"], *tail)
    if {"topic", "partition", "offset"} <= origin.keys():
        part = _UNSAFE.sub("_", f"{origin['topic']}-p{int(origin['partition']):06d}")
        return f"{feed}-{part}.jsonl", (int(origin["offset"]), *tail)
    return f"{feed}.jsonl", (0, record.event_time, record.partition, record.seq)


def _is_feed_file(feed: str, name: str) -> bool:
    """Only a plain file name of the feed's own (no path): the log must not write elsewhere."""
    return (name == Path(name).name and not _UNSAFE.search(name)
            and (name.startswith(f"{feed}.") or name.startswith(f"{feed}-"))
            and (name.endswith(".jsonl") or name.endswith(".jsonl.gz")))


class LoggedFeeds(FolderFeeds):
    """The feed files `write_feeds` wrote, each record read with the day the original run
    applied it on, so that the replay applies it there too (even where the original run's
    live input had gone idle and the record arrived after its day)."""

    def __init__(self, folder: Path, written: dict[str, list[AuditRecord]],
                 stopped_through: int | None = None) -> None:
        super().__init__(folder)
        self.days = {name: [int(r.body["day"]) for r in records]
                     for name, records in written.items()}
        self.stopped_through = stopped_through

    def open(self, partition: str, positions: dict[str, Any]) -> list[RecordInput]:
        return [_LoggedInput(source, self.days[partition])
                for source in super().open(partition, positions)]


class _LoggedInput(RecordInput):
    """A feed file of logged records, each line with its logged day."""

    def __init__(self, source: RecordInput, days: list[int]) -> None:
        self.source, self.days = source, days
        self.feed, self.name, self.kind = source.feed, source.name, source.kind

    def read(self) -> RawLine | None:
        line = self.source.read()
        if line is None or line.problem is not None:
            return line
        return replace(line, day=self.days[line.position - 1])

    @property
    def ended(self) -> bool:
        return self.source.ended

    def position(self) -> Any:
        return self.source.position()

    def close(self) -> None:
        self.source.close()


@dataclass
class ReplayReport:
    """How the replayed warnings compare with the logged ones; ``ok`` only when identical
    and the log intact."""

    log: str
    out: str
    until: str | None
    workers: int
    inputs: int
    logged_warnings: int
    replayed_warnings: int
    identical: int
    byte_identical: bool
    missing: list[str] = field(default_factory=list)
    """Warning ids the log has and the replay did not issue."""
    extra: list[str] = field(default_factory=list)
    """Warning ids the replay issued and the log does not have."""
    changed: list[str] = field(default_factory=list)
    """Warning ids both have, with different content."""
    differences: list[dict[str, Any]] = field(default_factory=list)
    """The first few differences in detail."""
    config_digest: str = ""
    logged_config_digests: list[str] = field(default_factory=list)
    log_verdict: str = ""
    log_intact: bool = False
    choices_compared: int | None = None
    """Month ends whose choice of model was compared with the run's ``models.jsonl``: every
    month end either holds, up to the replay's last one (all of the run's, for a replay of
    the whole log); None where the run's file is missing or cannot be read."""
    choices_differing: list[str] = field(default_factory=list)
    """Those of them where the two choices differ, or only one of the two files has one."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The replay reproduced every logged warning, from a log that verifies: warnings
        reproduced from an edited log (an input changed, a partition removed) prove nothing."""
        return self.byte_identical and self.log_intact

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def _choices(self) -> str:
        if self.choices_compared is None:
            return "not compared (see the notes)"
        if not self.choices_differing:
            return f"{self.choices_compared} month ends compared, the same"
        first = ", ".join(self.choices_differing[:MAX_DIFFERENCES])
        more = ", ..." if len(self.choices_differing) > MAX_DIFFERENCES else ""
        return (f"{self.choices_compared} month ends compared, "
                f"{len(self.choices_differing)} DIFFERENT ({first}{more}): the run's "
                f"{MODEL_CHOICES} is not what this log produces")

    def lines(self) -> list[str]:
        """The report for people: verdict, counts, first differences, notes."""
        if not self.byte_identical:
            verdict = "DIFFERENT: the replay does not reproduce the logged warnings"
        elif not self.log_intact:
            verdict = ("LOG NOT INTACT: the logged warnings were reproduced, but from a log "
                       "that fails verification (below)")
        else:
            verdict = "IDENTICAL: every logged warning was reproduced byte for byte"
        out = [
            verdict,
            f"inputs replayed {self.inputs}  logged warnings {self.logged_warnings}  "
            f"replayed warnings {self.replayed_warnings}",
            f"identical {self.identical}  missing {len(self.missing)}  extra {len(self.extra)}"
            f"  changed {len(self.changed)}",
            f"audit log: {self.log_verdict}",
            f"choices of model: {self._choices()}",
        ]
        out += [f"difference: {for_json(json.dumps(d, ensure_ascii=False))}"
                for d in self.differences]
        out += [f"note: {note}" for note in self.notes]
        return out


def replay(
    log: Path, out: Path, settings: Settings, *, until: datetime | None = None, workers: int = 1,
    key: bytes | None = None,
) -> ReplayReport:
    """Re-run the monitor over the inputs of ``log`` (up to ``until``) into ``out``, and
    compare the warnings up to ``until`` with the logged ones.

    ``settings`` must be the original run's: the report notes when their digest differs from
    the one the logged warnings carry. The log is verified with ``key`` (else the settings'
    key). Writes ``out/warnings.jsonl`` and the rest as a run does, the logged warnings as
    ``out/logged-warnings.jsonl``, and ``out/replay-report.json``.
    """
    log, out = Path(log), Path(out)
    _refuse_overlap(log, out)
    logged = logged_records(log, until)
    if not logged.inputs:
        raise ConnectorError(f"audit log {log} holds no input records"
                             + (f" at or before {until.isoformat()}" if until else ""))
    with exclusive(out):  # (from its claim to its report: a run into it is refused)
        return _replay(log, out, settings, logged, until=until, workers=workers, key=key)


def _replay(log: Path, out: Path, settings: Settings, from_log: Logged, *,
            until: datetime | None, workers: int, key: bytes | None) -> ReplayReport:
    claim(out, "replay", earlier=(out / REPORT).exists())
    inputs, warnings, stopped_through = from_log
    written = write_feeds(inputs, out / FEEDS_DIR)
    run_settings, notes = _replay_settings(settings, out)
    run_feeds(run_settings, LoggedFeeds(out / FEEDS_DIR, written, stopped_through), out,
              workers=workers, notify=False)
    if stopped_through is not None:
        notes.append(f"the run was stopped with its days complete through "
                     f"{to_rfc3339(stopped_through * DAY)[:10]}; the replay stopped there too")

    expected = out / LOGGED_WARNINGS
    expected.write_text("".join(_warning_line(r) + "\n" for r in warnings), encoding="utf-8")
    canonicalize(expected)
    logged = _lines(expected)
    replayed = [line for line in _lines(out / WARNINGS)  # (no file when nothing was warned)
                if until is None or parse_time(json.loads(line)["event_time"]) <= until]

    digest = config_digest(settings)
    logged_digests = sorted({str(r.body.get("config_digest", "")) for r in warnings})
    if logged_digests and logged_digests != [digest]:
        notes.append(f"the logged warnings carry config digest {', '.join(logged_digests)} but "
                     f"these settings have {digest}: replay with the original --config")
    verdict = verify_log(log, key if key is not None else settings.audit.key_bytes())
    report = ReplayReport(
        log=str(log), out=str(out), until=until.isoformat() if until else None,
        workers=workers, inputs=len(inputs), logged_warnings=len(logged),
        replayed_warnings=len(replayed), identical=0, byte_identical=logged == replayed,
        config_digest=digest, logged_config_digests=logged_digests,
        log_verdict=verdict.verdict() + (f"; first bad record: {verdict.problem}"
                                         if verdict.problem else ""),
        log_intact=verdict.ok, notes=notes,
    )
    _compare(logged, replayed, report)
    _compare_choices(log.parent / MODEL_CHOICES, out / MODEL_CHOICES, until is None, report)
    (out / REPORT).write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    return report


def _compare_choices(run: Path, replayed: Path, whole: bool, report: ReplayReport) -> None:
    """Fill the report's choices of model: the replay's against the run's file, at every
    month end either holds up to the replay's last one (every one, for the whole log)."""
    try:
        before = load_choices(run) if run.exists() else None
        after = load_choices(replayed)
    except UNREADABLE as exc:
        report.notes.append(f"the choices of model were not compared: {exc!r}"[:300])
        return
    if before is None:
        if after:
            report.notes.append(f"no {run} beside the log: the choices of model were not "
                                "compared")
            return
        before = {}  # a run too short for any label writes none, and so does its replay
    reached = max((parse_time(end) for end in after), default=None)
    ends = set(after) | {end for end in before
                         if whole or (reached is not None and parse_time(end) <= reached)}
    report.choices_compared = len(ends)
    report.choices_differing = sorted(end for end in ends if before.get(end) != after.get(end))


def _lines(path: Path) -> list[str]:
    """The lines of a JSON Lines file, split on LF only (U+2028 may be inside a line)."""
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _refuse_overlap(log: Path, out: Path) -> None:
    """The replay rewrites ``out`` (its audit log too): it must not hold the original log."""
    log_dir, out_dir = log.resolve(), out.resolve()
    if log_dir == out_dir or out_dir in log_dir.parents or log_dir in out_dir.parents:
        raise ConnectorError(f"replay output {out} must not contain, or lie inside, the audit "
                             f"log {log}: choose another --out")


def _replay_settings(settings: Settings, out: Path) -> tuple[Settings, list[str]]:
    """The original settings, except that a recovery directory moves under ``out``.

    Resuming from the original run's recovery state would replay nothing; the configuration
    digest the warnings carry does not cover where a run recovers, so it stays the same.
    """
    if settings.recovery.directory is None:
        return settings, []
    fresh = out / "recovery"
    shutil.rmtree(fresh, ignore_errors=True)
    note = f"recovery.directory moved to {fresh} for the replay"
    return settings.with_recovery_directory(fresh), [note]


def _warning_line(record: AuditRecord) -> str:
    """A logged warning as the monitor's warnings sink wrote it (field order included)."""
    try:
        return json_line(Warning.model_validate(record.body))
    except ValueError:  # a damaged record still gets compared, as it stands
        return json_line(record.body)


def _compare(logged: list[str], replayed: list[str], report: ReplayReport) -> None:
    """Fill the report's identical/missing/extra/changed counts and first differences."""
    before = _by_id(logged)
    after = _by_id(replayed)
    for warning_id, line in before.items():
        if warning_id not in after:
            report.missing.append(warning_id)
            _difference(report, {"warning_id": warning_id, "kind": "missing",
                                 "logged": json.loads(line)})
        elif after[warning_id] == line:
            report.identical += 1
        else:
            report.changed.append(warning_id)
            old, new = json.loads(line), json.loads(after[warning_id])
            fields = {k: {"logged": old.get(k), "replayed": new.get(k)}
                      for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}
            _difference(report, {"warning_id": warning_id, "kind": "changed", "fields": fields})
    for warning_id, line in after.items():
        if warning_id not in before:
            report.extra.append(warning_id)
            _difference(report, {"warning_id": warning_id, "kind": "extra",
                                 "replayed": json.loads(line)})
    if not report.byte_identical and not (report.missing or report.extra or report.changed):
        report.notes.append("the same warnings, but in a different order or repeated")


def _by_id(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        row = json.loads(line)
        out.setdefault(str(row.get("warning_id")), line)
    return out


def _difference(report: ReplayReport, difference: dict[str, Any]) -> None:
    if len(report.differences) < MAX_DIFFERENCES:
        report.differences.append(difference)
