"""Run the monitor over any feeds into a folder of outputs, and account for every record.

`run_feeds` wires the file outputs and, when channels are configured, the notifier into the
monitor flow (`flows.engine`), runs it on one or several workers of this process (recovery
on when a directory is set), puts the outputs into a canonical order, and returns a summary
whose counts add up: read = accepted + rejected + duplicates. Other processes of a cluster
run the same `flows.job.Job` (see `flows.cluster`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import heapq
import json
import re
import signal
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main

from config.audit import AuditSettings
from config.errors import ConfigError
from config.settings import Settings
from config.version import program_version
from connectors.audit import AuditSink
from connectors.audit.manifest import write_manifest
from connectors.audit.record import INPUT
from connectors.channels.sink import NotifierSink
from connectors.channels.worker import delivery_counts
from connectors.files import FolderFeeds
from connectors.partition import Feeds, take_source_errors
from connectors.sinks import JsonLinesSink, json_line, raise_output_errors, take_output_errors
from detectors.book import BookSettings
from detectors.records import EARLY_KINDS, DeadLetter, Warning
from flows.choices import MODEL_CHOICES
from flows.engine import WARNINGS_PARTITION, Outputs, build_flow
from flows.folders import exclusive
from flows.jsonl import DERIVED, iter_jsonl, lines, read_jsonl
from flows.news import NEWS_READINGS, NEWS_REVIEW
from flows.ops import FLOW
from flows.stop import RUN, stopping_on
from flows.topology import Topology

WARNINGS = "warnings.jsonl"
DEADLETTER = "deadletter.jsonl"
SCORES = "scores.jsonl"
WATCHLIST = "watchlist.jsonl"
OVERDUE = "overdue.jsonl"
"""Every invoice past due at the end of the run (the collections worklist's input)."""
STATS = "stats.jsonl"
AUDIT = "audit"
RECOVERY_VERSION = "creditradar-version"
"""The file in a recovery directory naming the program version (and bucket count) whose
state it holds."""
RECOVERY_INPUTS = "creditradar-inputs.json"
"""The file in a recovery directory listing the source partitions its state holds."""
RECOVERY_ENDED = "creditradar-ended"
"""The file in a recovery directory whose run read its input to the end: its state knows
nothing can come after, so an input it did not have cannot be added."""
GC_YOUNG_THRESHOLD = 50_000
"""Allocations between young-generation collections (Python's default: 700)."""
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc ``mallopt`` parameters (malloc.h)."""
MMAP_THRESHOLD = 128 * 1024
OUTPUT_FILES = (WARNINGS, DEADLETTER, SCORES, WATCHLIST, OVERDUE, STATS, NEWS_READINGS,
                NEWS_REVIEW)
"""The JSON Lines outputs of a run, each in canonical order once it finished."""


def tune_process() -> None:
    """Settings of a process that runs a flow.

    - Collect young objects less often: every event makes short-lived objects, and at
      Python's default threshold the collector keeps walking the long-lived ones.
    - With glibc, give large blocks (numpy arrays) their own mappings and hand freed memory
      back: glibc otherwise raises its mmap threshold as arrays come and go, and keeps the
      freed space of every month end's arrays, so a process's memory would follow its
      largest month rather than its state.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)


def epoch_of(settings: Settings) -> timedelta:
    """The epoch (and, with recovery, snapshot) interval: results never depend on it."""
    return timedelta(seconds=settings.recovery.snapshot_interval_seconds)


@dataclass
class RunSummary:
    """What a run read and what became of it."""

    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    warnings: int = 0
    defaults_seen: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    fx_missing_warnings: int = 0
    """Warnings whose reporting-currency amounts are missing for want of an exchange rate."""
    fx_missing_customers: dict[str, int] = field(default_factory=dict)
    """Customers in the watchlist still without a rate at the end, by their currency."""
    deliveries: dict[str, int] | None = None
    """Outbox rows by status (pending, sent, failed) after the run, when alerts are on."""

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.rejected + self.duplicates

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}


def file_outputs(settings: Settings, out: Path, topology: Topology, *, scores: bool,
                 notify: bool) -> Outputs:
    """The outputs of a run into folder ``out`` (and the notifier, with ``notify``).

    The notifier sink only enqueues, durably and once per warning and channel; a delivery
    worker sends (`connectors.channels.worker`). Each output is counted for the operations
    metrics (`flows.ops.FLOW`) as it is written."""
    notify = notify and bool(settings.alerts.channels)
    partitions = (*topology.id_keys, WARNINGS_PARTITION)
    FLOW.reset()
    return Outputs(
        warnings=JsonLinesSink(out / WARNINGS, _counted(_count_warning)),
        deadletter=JsonLinesSink(out / DEADLETTER, _counted(_count_dead_letter)),
        scores=JsonLinesSink(out / SCORES) if scores else None,
        watchlist=JsonLinesSink(out / WATCHLIST),
        model_choices=JsonLinesSink(out / MODEL_CHOICES),
        overdue=JsonLinesSink(out / OVERDUE),
        news_readings=JsonLinesSink(out / NEWS_READINGS),
        news_review=JsonLinesSink(out / NEWS_REVIEW),
        stats=JsonLinesSink(out / STATS, _counted(_count_stats)),
        audit=AuditSink(out / AUDIT, settings.audit, partitions, observe=_count_inputs,
                        sealed=True) if settings.audit.enabled else None,
        notify=NotifierSink(settings.alerts, settings.state_dir, settings.audit) if notify
        else None,
    )


def _counted(count: Callable[[Any], None]) -> Callable[[Any], str]:
    """A line encoder that also counts the record for the operations metrics."""
    def encode(record: Any) -> str:
        count(record)
        return json_line(record)
    return encode


def _count_warning(warning: Warning) -> None:
    FLOW.warning(warning.kind, warning.model_version, warning.event_time)


def _count_dead_letter(dead: DeadLetter) -> None:
    FLOW.dead_letter(dead.reason)


def _count_stats(row: Any) -> None:
    FLOW.stats(row.to_json() if hasattr(row, "to_json") else dataclasses.asdict(row))


def _count_inputs(values: list[Any]) -> None:
    """Inputs that passed the door, and the latest event time among them."""
    count, latest = 0, None
    for value in values:
        entries = value if isinstance(value, list) else [value]
        if entries and entries[0].kind == INPUT:
            count += len(entries)
            last = entries[-1].event_time
            latest = last if latest is None or last > latest else latest
    if count:
        FLOW.logged_inputs(count, latest)


def start_fresh(settings: Settings, out: Path) -> None:
    """Clear a previous run's outputs, unless this run resumes it from recovery. A previous
    audit log is never deleted: it is kept as ``audit.1``, ``audit.2``, ... beside the new.
    The settings the steps interpret are checked first (`BookSettings.from_settings`: a hard
    news category the contract does not know), so that a run they refuse leaves the last
    run's outputs as they were."""
    BookSettings.from_settings(settings)
    out.mkdir(parents=True, exist_ok=True)
    directory = settings.recovery.directory
    if directory is not None and any(directory.glob("part-*.sqlite3")):
        return
    previous = out / AUDIT
    if previous.exists():
        number = 1
        while (out / f"{AUDIT}.{number}").exists():
            number += 1
        previous.rename(out / f"{AUDIT}.{number}")
    for name in (*OUTPUT_FILES, MODEL_CHOICES, *DERIVED):  # (choices: in order already)
        (out / name).unlink(missing_ok=True)


def run_feeds(settings: Settings, feeds: Feeds, out: Path, *, scores: bool = False,
              workers: int = 1, notify: bool = True) -> RunSummary:
    """Monitor ``feeds`` on ``workers`` workers of this process; write under ``out``."""
    topology = Topology(workers, settings.engine.buckets)
    with prepared(settings, out, feeds.partitions, workers, topology.buckets) as (recovery, _):
        flow = build_flow(settings, feeds, file_outputs(settings, out, topology,
                                                        scores=scores, notify=notify), topology)
        tune_process()
        running(out, settings, lambda: cluster_main(
            flow, addresses=[], proc_id=0, worker_count_per_proc=workers,
            epoch_interval=epoch_of(settings), recovery_config=recovery))
        mark_ended(settings.recovery.directory)
        return with_deliveries(finish(out, scores=scores, audit=settings.audit), settings)


@contextmanager
def prepared(settings: Settings, out: Path, partitions: Callable[[], list[str]], workers: int,
             buckets: int) -> Iterator[tuple[RecoveryConfig | None, int]]:
    """What every run does before its dataflow, and holds while it runs and finishes: hold
    ``out`` (`flows.folders.exclusive`), clear the last run's outputs unless resuming
    (`start_fresh`), make or check the recovery directory for ``workers`` workers in all
    and the source's ``partitions()`` (asked only then: a cluster's processes build the
    source, not the run that spawns them). Yields bytewax's recovery configuration (None without
    recovery) and the folder's lock, which the run's processes are handed."""
    directory = settings.recovery.directory
    with exclusive(out) as lock:
        start_fresh(settings, out)
        recovery = None
        if directory is not None:
            recovery = RecoveryConfig(str(prepare_recovery(directory, workers, buckets)))
            check_recovery_inputs(directory, partitions())
        yield recovery, lock


def with_deliveries(summary: RunSummary, settings: Settings) -> RunSummary:
    """``summary`` with the outbox's pending, sent and failed counts, when alerts are on."""
    if settings.alerts.channels:
        summary.deliveries = delivery_counts(settings.state_dir)
    return summary


def run_folder(settings: Settings, feeds: Path, out: Path, **options: Any) -> RunSummary:
    """Monitor every feed file in folder ``feeds`` (see `run_feeds` for the options)."""
    return run_feeds(settings, FolderFeeds(feeds), out, **options)


def finish(out: Path, *, scores: bool = False, audit: AuditSettings | None = None
           ) -> RunSummary:
    """Put a finished run's outputs into canonical order and count them, and seal its audit
    log with a manifest of its partitions (with ``audit``, the run's audit settings). The
    warnings, dead-letter, overdue and watchlist files (and the scores, with ``scores``)
    exist after every run, empty when nothing was warned, rejected, past due or scored (a
    sink only opens its file for its first line, and a book of empty files gives none): the
    commands that read them can tell a run with nothing in it from a folder that is no run."""
    for name in (WARNINGS, DEADLETTER, OVERDUE, WATCHLIST, *([SCORES] if scores else [])):
        (out / name).touch()
    if audit is not None:
        seal_audit_log(out, audit)
    for name in OUTPUT_FILES:
        canonicalize(out / name)
    return summarize(out)


def running(out: Path, settings: Settings, run: Callable[[], None]) -> None:
    """``run`` the dataflow (bytewax's cluster, or the run's processes) as every run does:
    Ctrl-C or SIGTERM stops it where it stands (`flows.stop`) and raises KeyboardInterrupt
    once its outputs are complete to that day (unless every input had ended by then); a
    stopped run's audit log is sealed where it stopped (`seal_audit_log`); an output the disk
    refused is raised after it (`connectors.sinks.raise_output_errors`), since bytewax may not
    report it."""
    take_output_errors()
    take_source_errors()
    try:
        with stopping_on(signal.SIGINT, signal.SIGTERM):
            run()
    except KeyboardInterrupt:
        seal_audit_log(out, settings.audit)
        raise
    if RUN.was_cut():
        seal_audit_log(out, settings.audit)
    raise_output_errors()
    if RUN.was_cut():
        raise KeyboardInterrupt


def seal_audit_log(out: Path, audit: AuditSettings) -> None:
    """Write the manifest of the run's audit log (`connectors.audit.manifest`): when the run
    ends, and when it is stopped (Ctrl-C or SIGTERM, the only end of a live run), after
    bytewax closed its partitions: the log then verifies as it stands, up to where the run
    stopped."""
    if audit.enabled and (out / AUDIT).is_dir():
        write_manifest(out / AUDIT, audit.key_bytes())


def prepare_recovery(directory: Path, partitions: int, buckets: int) -> Path:
    """Create bytewax's recovery partitions on first use; keep them on a resume, if this
    program wrote them with the same buckets (`check_recovery_version`)."""
    if not any(directory.glob("part-*.sqlite3")):
        directory.mkdir(parents=True, exist_ok=True)
        init_db_dir(directory, partitions)
    check_recovery_version(directory, buckets)
    return directory


def check_recovery_inputs(directory: Path, partitions: list[str]) -> None:
    """Refuse a recovery directory whose state holds source partitions this run's source
    does not have (another folder or plugin, a file renamed, a plugin's input renamed):
    bytewax would stop on them with a panic deep in the engine. New partitions are read from
    their start, unless the directory's run had read its input to the end (`mark_ended`):
    they would come after its end. The directory then lists both."""
    mark = directory / RECOVERY_INPUTS
    held = _held_inputs(mark) if mark.exists() else set()
    missing = sorted(held - set(partitions))
    if missing:
        raise ConfigError(
            f"recovery directory {directory} holds the state of inputs this source does not "
            f"have ({_names(missing)}): resume with the source that wrote it, or start "
            "again with a fresh directory")
    added = sorted(set(partitions) - held)
    if added and held and (directory / RECOVERY_ENDED).exists():
        raise ConfigError(
            f"recovery directory {directory} holds a run that read its input to the end: "
            f"inputs it did not have ({_names(added)}) would come after its end; start again "
            "with a fresh directory to read them")
    mark.write_text(json.dumps(sorted(held | set(partitions)), ensure_ascii=False) + "\n")


def mark_ended(directory: Path | None) -> None:
    """Note in the recovery ``directory`` (if any) that its run read its input to the end
    (`check_recovery_inputs`)."""
    if directory is not None:
        (directory / RECOVERY_ENDED).write_text("the run read its input to the end\n")


def _names(names: list[str]) -> str:
    """How many, and the first few, quoted."""
    shown = ", ".join(repr(name) for name in names[:5]) + (", ..." if len(names) > 5 else "")
    return f"{len(names)}: {shown}"


def _held_inputs(mark: Path) -> set[str]:
    """The partitions a recovery directory's list names; a list that is damaged (cut short,
    edited) is refused naming it, since it no longer says which state the directory holds."""
    try:
        held = json.loads(mark.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        held = exc
    if not isinstance(held, list) or not all(isinstance(name, str) for name in held):
        raise ConfigError(f"{mark} is damaged (not a JSON list of the directory's inputs): "
                          "resume with the file as the run wrote it, or start again with a "
                          "fresh directory")
    return set(held)


def check_recovery_version(directory: Path, buckets: int) -> None:
    """Refuse a recovery directory written by another program version or bucket count: its
    snapshots are pickles of that version's classes, made for that many buckets. A
    directory without a mark (new, or made by ``python -m bytewax.recovery``) gets ours."""
    mark = directory / RECOVERY_VERSION
    ours = f"{program_version()} buckets={buckets}"
    theirs = mark.read_text().strip() if mark.exists() else None
    if theirs is None:
        directory.mkdir(parents=True, exist_ok=True)
        mark.write_text(ours + "\n")
    elif theirs != ours:
        raise ConfigError(
            f"recovery directory {directory} was written by creditradar {theirs}, this is "
            f"{ours}: resume with that version and worker count, or start again with a fresh "
            "directory (the run then reads the feeds from their start; on Kafka, from --from)")


SORT_CHUNK = 4_000_000
"""Characters of lines `canonicalize` sorts in memory at a time; longer outputs are sorted
in chunks spilled beside the file and merged, so a run's finish costs bounded memory, the
same for a book of any size and for long lines as for short ones."""

SortKey = tuple[str, str, str]
"""Event time, customer id, the line as written: the order of every JSON Lines output."""


def canonicalize(path: Path) -> None:
    """Sort a JSON Lines output by event time, customer and the rest of the line, so that
    any number of workers writes the same bytes. The lines are kept as written: every
    output line comes from `json_line`, whose text depends on the record alone. Lines are
    split on LF only: a line separator inside a string (U+2028...) is part of its line.
    Memory is bounded by `SORT_CHUNK` characters of lines (and the longest line), whatever
    the file's length."""
    if not path.exists():
        return
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".sorting-") as tmp:
        spilled: list[Path] = []
        chunk: list[SortKey] = []
        size = 0
        for line in lines(path):
            chunk.append(_sort_key(line))
            size += len(line)
            if size >= SORT_CHUNK:
                spilled.append(_spill(sorted(chunk), Path(tmp) / f"{len(spilled)}.jsonl"))
                chunk, size = [], 0
        chunk.sort()
        merged = heapq.merge(chunk, *(_unspill(run) for run in spilled))
        sorted_path = Path(tmp) / "sorted.jsonl"
        with sorted_path.open("w", encoding="utf-8", newline="\n") as out:
            out.writelines(line + "\n" for _, _, line in merged)
        sorted_path.replace(path)


_SCORE_ROW_START = re.compile(r'\{"customer_id":(null|"(?:[^"\\]|\\.)*"),"event_time":"([^"\\]*)",')
"""How a line of ``scores.jsonl``, the longest output, begins: its key is read from there
without parsing the rest (a line of `json_line` has each key once)."""


def _sort_key(line: str) -> SortKey:
    text = line.rstrip("\n")
    start = _SCORE_ROW_START.match(text)
    if start is not None:
        customer_id, event_time = start.groups()
        return event_time, json.loads(customer_id) or "", text
    row = json.loads(text)
    return str(row.get("event_time", "")), str(row.get("customer_id") or ""), text


def _spill(chunk: list[SortKey], path: Path) -> Path:
    """Write a sorted chunk's lines to ``path`` (`_unspill` reads their keys again)."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(text + "\n" for _, _, text in chunk)
    return path


def _unspill(path: Path) -> Iterator[SortKey]:
    """The keys of a spilled chunk, in its order."""
    return map(_sort_key, lines(path))


def summarize(out: Path) -> RunSummary:
    """Count a finished run's outputs."""
    summary = RunSummary()
    read: dict[str, int] = {}
    accepted: dict[str, int] = {}
    for row in read_jsonl(out / STATS):  # counts are cumulative: a resumed run repeats them
        if "records" in row:
            read[row["input"]] = row["records"]
        elif "count" in row:
            accepted[row["bucket"]] = row["count"]
    summary.read, summary.accepted = sum(read.values()), sum(accepted.values())
    reasons = Counter(row["reason"] for row in iter_jsonl(out / DEADLETTER))
    summary.duplicates = reasons.pop("duplicate", 0)
    summary.rejected = sum(reasons.values())
    summary.rejected_by_reason = dict(sorted(reasons.items()))
    kinds: Counter[str] = Counter()
    for warning in iter_jsonl(out / WARNINGS):
        kinds[warning["kind"]] += 1
        summary.fx_missing_warnings += bool(warning.get("fx_missing"))
    summary.fx_missing_customers = dict(sorted(Counter(
        row["customer_currency"] for row in iter_jsonl(out / WATCHLIST)
        if row.get("fx_missing")).items()))
    summary.warnings = sum(n for kind, n in kinds.items() if kind in EARLY_KINDS)
    summary.defaults_seen = kinds["default"]
    return summary


def watchlist(out: Path, limit: int = 20) -> list[dict[str, Any]]:
    """The riskiest customers still trading at the end of the run, riskiest first."""
    rows = [r for r in read_jsonl(out / WATCHLIST) if not r["defaulted"]]
    rows.sort(key=lambda r: (-r["pd"], r["customer_id"]))
    return [{"rank": i + 1, **r} for i, r in enumerate(rows[:limit])]


def concentration(out: Path, by: str, limit: int = 5) -> list[tuple[str, float]]:
    """The largest shares of the exposure of customers still trading (reporting currency;
    customers whose currency has no rate are left out) by ``by`` (``country`` or
    ``industry``), largest first, the rest summed as ``other``."""
    totals: Counter[str] = Counter()
    for row in iter_jsonl(out / WATCHLIST):
        if not row["defaulted"] and row.get("exposure"):
            totals[row.get(by) or "unknown"] += row["exposure"]
    whole = sum(totals.values())
    if not whole:
        return []
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    shares = [(key, amount / whole) for key, amount in ranked[:limit]]
    rest = sum(amount for _, amount in ranked[limit:])
    return shares + ([("other", rest / whole)] if rest else [])


def format_concentration(out: Path) -> str:
    """Exposure concentration by country and by industry, one line each."""
    lines = []
    for by in ("country", "industry"):
        shares = concentration(out, by)
        if shares:
            lines.append(f"Exposure by {by}: " + ", ".join(f"{key} {share:.1%}"
                                                          for key, share in shares))
    return "\n".join(lines)
