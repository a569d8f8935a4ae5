"""What the monitor knew about one customer at a given time, and one warning's full record.

`explain` replays one customer's logged inputs up to ``as_of`` through the monitor's own
customer step (`flows.steps.Customer`, fed by the same folder source and ticked by the same
event-time `Clock`), which gives the customer's state, ledger, features and evidence as of
that time. The probability, grade and rank depend on the whole portfolio's model, so they
are read from the original run's ``scores.jsonl``, not recomputed.

`export_warning` gathers a warning, the logged input record of each evidence event, its
lineage and its place in the hash chain into one JSON document for an auditor.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from connectors import contracts as c
from connectors.audit import ANCHOR, AuditRecord, read_log, verify_log
from connectors.files import FeedFolderSource
from connectors.intake import Envelope, normalize_name, validate
from connectors.records import DeadLetter, RawRecord, Warning, Watermark
from detectors.clock import DAY, day_of, parse_time, to_rfc3339, to_seconds
from detectors.customer import CustomerState, Snapshot
from flows.replay import logged_records, write_feeds
from flows.run import SCORES, read_jsonl
from flows.steps import Clock, Customer, Register

__all__ = ["explain", "export_warning", "format_explanation"]

LINEAGE = ("model_version", "config_digest", "program_version")


def explain(customer_id: str, as_of: datetime, log: Path, settings: Settings, *,
            scores: Path | None = None) -> dict[str, Any]:
    """The customer's state, score, reasons, evidence and warnings as of ``as_of``.

    ``scores`` defaults to the ``scores.jsonl`` next to the log (a run with ``--scores``).
    """
    log = Path(log)
    inputs, warnings = logged_records(log, as_of)
    candidates = [r for r in inputs if _may_concern(r, customer_id)]
    replayed = _Replay(customer_id, settings)
    replayed.run(candidates, to_seconds(as_of))
    notes: list[str] = []
    doc: dict[str, Any] = {"customer_id": customer_id, "as_of": to_rfc3339(to_seconds(as_of)),
                           "log": str(log), "known": replayed.state is not None}
    issued = [_warning(r.body) for r in warnings if r.body.get("customer_id") == customer_id]
    score = _latest_score(scores or log.parent / SCORES, customer_id, as_of, notes)
    doc["score"] = score
    doc["reasons"], doc["reasons_source"] = _reasons(score, issued)
    state = replayed.state
    if state is None:
        notes.append("the log holds no input for this customer at or before this time")
        return {**doc, "warnings": issued, "notes": notes}
    snapshot = _scored_snapshot(replayed.snapshots, score)
    if score is not None and snapshot is not None:
        doc["score_consistent"] = score.get("features") == _rounded(snapshot.features)
        if not doc["score_consistent"]:
            notes.append("the replayed snapshot's features differ from the scored ones: the "
                         "log or scores.jsonl is not from the same run")
    day = day_of(to_seconds(as_of))
    doc.update({
        "profile": asdict(state.profile),
        "clock": to_rfc3339(state.clock),
        "accepted": state.accepted,
        "defaulted_at": None if state.defaulted_at is None else to_rfc3339(state.defaulted_at),
        "rejected": replayed.rejected,
        "ledger": _ledger(state, day, settings),
        "features": _rounded(state.features(day, settings)),
        "snapshot": None if snapshot is None else {
            "at": to_rfc3339(snapshot.at), "month_end": snapshot.month_end,
            "features": _rounded(snapshot.features),
            "evidence": {k: list(v) for k, v in sorted(snapshot.evidence.items())},
        },
    })
    wanted = [e for w in issued for e in w.get("evidence", [])]
    if snapshot is not None:
        wanted += [e for ids in snapshot.evidence.values() for e in ids]
    doc["evidence"] = [_evidence_entry(replayed.events[e], e) if e in replayed.events
                       else {"event_id": e, "found": False} for e in dict.fromkeys(wanted)]
    return {**doc, "warnings": issued, "notes": notes}


class _Replay:
    """One customer's inputs through the monitor's own source order, clock and customer step."""

    def __init__(self, customer_id: str, settings: Settings):
        self.customer_id = customer_id
        self.step = Customer(settings, None)
        self.clock = Clock(settings, None)
        self.clock.on_item(Register(customer_id))
        self.names: set[str] = set()
        self.snapshots: list[Snapshot] = []
        self.rejected: list[dict[str, Any]] = []
        self.events: dict[str, AuditRecord] = {}

    @property
    def state(self) -> CustomerState | None:
        return self.step.state

    def run(self, records: list[AuditRecord], until: int) -> None:
        with tempfile.TemporaryDirectory(prefix="creditradar-explain-") as tmp:
            files = write_feeds(records, Path(tmp))
            source = FeedFolderSource(Path(tmp)).build_part("feeds", "shard-0-of-1", None)
            try:
                while True:
                    for item in source.next_batch():
                        self._item(item, files)
            except StopIteration:
                pass
            finally:
                source.close()
        self._watermark(Watermark("explain", 1, until))  # the clock as far as as_of

    def _item(self, item: Any, files: dict[str, list[AuditRecord]]) -> None:
        if isinstance(item, Watermark):
            self._watermark(item)
        if not isinstance(item, RawRecord):
            return
        record = files[item.origin["file"]][item.origin["line"] - 1]
        checked = validate(item)
        if isinstance(checked, DeadLetter):
            self.rejected.append({"id": record.id, "reason": checked.reason})
            return
        event = checked.event
        if isinstance(event, c.Customer) and event.customer_id == self.customer_id:
            self.names |= {normalize_name(n) for n in (event.name, *event.aliases)}
        if isinstance(event, c.News) and event.customer_id is None:
            if normalize_name(event.company_name or "") not in self.names:
                return
            event = event.model_copy(update={"customer_id": self.customer_id})
        if getattr(event, "customer_id", None) != self.customer_id:
            return
        self.events.setdefault(event.event_id, record)
        self._apply(Envelope(event, checked.raw, record.body["origin"]), record.id)

    def _watermark(self, mark: Watermark) -> None:
        ticks, _ = self.clock.on_item(mark)
        for _, tick in ticks:
            self._apply(tick, None)

    def _apply(self, item: Any, audit_id: str | None) -> None:
        outputs, _ = self.step.on_item(item)
        for output in outputs:
            if isinstance(output, Snapshot):
                self.snapshots.append(output)
            elif isinstance(output, DeadLetter):
                self.rejected.append({"id": audit_id, "reason": output.reason,
                                      "detail": output.detail})


def _may_concern(record: AuditRecord, customer_id: str) -> bool:
    """A cheap filter before parsing: the id appears in the raw text, or news names a company."""
    raw = str(record.body.get("raw", ""))
    return customer_id in raw or (record.body.get("feed") == "news"
                                  and '"customer_id"' not in raw)


def _latest_score(path: Path, customer_id: str, as_of: datetime,
                  notes: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        notes.append(f"no {path}: probability, grade and rank need a run with --scores")
        return None
    rows = [r for r in read_jsonl(path) if r.get("customer_id") == customer_id
            and parse_time(r["event_time"]) <= as_of]
    return rows[-1] if rows else None  # the file is in event-time order


def _reasons(score: dict[str, Any] | None,
             issued: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The reason codes behind the latest score: from the score row when it carries them,
    else from a warning issued on that score; the model computes them only for scores that
    may warn, and scores.jsonl does not keep them."""
    if score is None:
        return [], "no score"
    if score.get("reasons"):
        return score["reasons"], "scores.jsonl"
    for warning in reversed(issued):
        if warning.get("event_time") == score["event_time"] and warning.get("reasons"):
            return warning["reasons"], f"warning {warning['warning_id']}"
    return [], "not recorded: no warning was issued on the latest score"


def _scored_snapshot(snapshots: list[Snapshot],
                     score: dict[str, Any] | None) -> Snapshot | None:
    """The replayed snapshot the latest score was computed from, else the latest one."""
    if score is not None:
        month_end = score.get("month_end")
        for snapshot in reversed(snapshots):
            if to_rfc3339(snapshot.at) == score["event_time"] and (
                    month_end is None or snapshot.month_end == month_end):
                return snapshot
    return snapshots[-1] if snapshots else None


def _ledger(state: CustomerState, day: int, settings: Settings) -> dict[str, Any]:
    ledger = state.ledger
    total = ledger.total_open()
    limit = state.profile.credit_limit
    items = sorted(ledger.open_items.items(), key=lambda kv: (kv[1].due_day, kv[0]))
    return {
        "day": to_rfc3339(day * DAY)[:10],
        "total_open": round(total, 2),
        "aging": {k: round(v, 2) for k, v in ledger.aging(day).items()},
        "overdue_share": round(ledger.overdue_share(day), 6),
        "max_days_past_due": ledger.max_days_past_due(
            day, settings.detectors.material_overdue_amount),
        "dso": round(ledger.dso(day), 6),
        "credit_limit": limit,
        "utilisation": round(total / limit, 6) if limit else None,
        "open_items": [{
            "invoice_id": invoice_id, "event_id": item.event_id, "open": round(item.open, 2),
            "original": round(item.original, 2), "issued": to_rfc3339(item.issue_day * DAY)[:10],
            "due": to_rfc3339(item.due_day * DAY)[:10], "days_past_due": day - item.due_day,
        } for invoice_id, item in items],
    }


def _rounded(features: dict[str, float]) -> dict[str, float]:
    """Features as scores.jsonl writes them, so the two compare equal."""
    return {k: round(v, 6) for k, v in sorted(features.items())}


def _warning(body: dict[str, Any]) -> dict[str, Any]:
    """A logged warning in the field order of warnings.jsonl; a damaged one as it stands."""
    try:
        return Warning.model_validate(body).model_dump(mode="json")
    except ValueError:
        return body


def _evidence_entry(record: AuditRecord, event_id: str) -> dict[str, Any]:
    """One evidence event as the log recorded it: raw text, origin and chain position."""
    return {"event_id": event_id, "found": True, "audit_id": record.id,
            "feed": record.body.get("feed"), "event_time": record.event_time,
            "origin": record.body.get("origin"), "raw": record.body.get("raw"),
            "record": {"partition": record.partition, "seq": record.seq, "hash": record.hash}}


def export_warning(log: Path, warning_id: str, key: bytes | None) -> dict[str, Any]:
    """A warning with its evidence events, lineage, chain position and the log's verdict.

    Raises KeyError when the log holds no warning ``warning_id``.
    """
    log = Path(log)
    found: AuditRecord | None = None
    anchor: AuditRecord | None = None
    for record in read_log(log):
        if found is None and record.kind == "warning" and record.id == warning_id:
            found = record
        elif (found is not None and record.kind == ANCHOR
              and record.partition == found.partition):
            anchor = record
            break
    if found is None:
        raise KeyError(f"no warning {warning_id} in the audit log {log}")
    warning = _warning(found.body)
    evidence = _evidence_records(log, warning, found)
    report = verify_log(log, key)
    return {
        "warning": warning,
        "lineage": {name: warning.get(name) for name in LINEAGE},
        "evidence": [_evidence_entry(evidence[e], e) if e in evidence
                     else {"event_id": e, "found": False} for e in warning.get("evidence", [])],
        "record": {"partition": found.partition, "seq": found.seq, "id": found.id,
                   "event_time": found.event_time, "prev": found.prev, "hash": found.hash},
        "anchor": None if anchor is None else {
            "seq": anchor.seq, "hash": anchor.hash, "records_between": anchor.seq - found.seq - 1,
            **anchor.body,
        },
        "verification": {"ok": report.ok, "authenticated": report.authenticated,
                         "verdict": report.verdict(),
                         "problem": None if report.problem is None else str(report.problem)},
    }


def _evidence_records(log: Path, warning: dict[str, Any],
                      found: AuditRecord) -> dict[str, AuditRecord]:
    """The latest logged input at or before the warning for each evidence event id.

    Input ids are ``feed:event_id``; an event id is unique within a feed, and when two feeds
    share one the record that names the warning's customer wins.
    """
    wanted = set(warning.get("evidence", []))
    customer = str(warning.get("customer_id"))
    at = parse_time(found.event_time)
    out: dict[str, AuditRecord] = {}
    for record in read_log(log):
        if record.kind != "input" or parse_time(record.event_time) > at:
            continue
        event_id = record.id.split(":", 1)[-1]
        if event_id in wanted and _may_concern(record, customer) and (
                event_id not in out or customer in str(record.body.get("raw"))):
            out[event_id] = record
    return out


def format_explanation(doc: dict[str, Any]) -> str:
    """The explanation for people: state, ledger, score and reasons, evidence, warnings."""
    out = [f"customer {doc['customer_id']} as of {doc['as_of']}"]
    if doc.get("known"):
        profile = doc["profile"]
        out.append(f"  {profile['name'] or ''} ({profile['country'] or '?'}, "
                   f"{profile['industry'] or '?'}); clock {doc['clock']}; "
                   f"{doc['accepted']} events accepted, {len(doc['rejected'])} rejected"
                   + (f"; DEFAULTED {doc['defaulted_at']}" if doc["defaulted_at"] else ""))
        ledger = doc["ledger"]
        aging = "  ".join(f"{k} {v:,.2f}" for k, v in ledger["aging"].items())
        out += [f"ledger on {ledger['day']}: open {ledger['total_open']:,.2f}  "
                f"overdue share {ledger['overdue_share']:.1%}  DSO {ledger['dso']:.1f}  "
                f"max DPD {ledger['max_days_past_due']}  utilisation {ledger['utilisation']}",
                f"  aging: {aging}"]
        out += [f"  open {i['invoice_id']} ({i['event_id']}): {i['open']:,.2f} of "
                f"{i['original']:,.2f}, due {i['due']}, {i['days_past_due']} days past due"
                for i in ledger["open_items"]]
    score = doc["score"]
    if score is not None:
        out.append(f"score at {score['event_time']}: pd {score['pd']:.2%}  grade "
                   f"{score['grade']}  rank {score['rank']}  model {score['model_version']}")
        if "score_consistent" in doc:
            out.append("  the replayed state gives exactly the scored features: "
                       + ("yes" if doc["score_consistent"] else "NO"))
    out.append(f"reasons ({doc['reasons_source']}):")
    out += [f"  {r['code']:<20} {r['value']!s:>12}  +{r['contribution']}  {r['label']}"
            for r in doc["reasons"]]
    snapshot = doc.get("snapshot")
    if snapshot is not None:
        out.append(f"features of the snapshot at {snapshot['at']}"
                   f"{' (month end)' if snapshot['month_end'] else ''}:")
        out += [f"  {k:<24} {v}" for k, v in snapshot["features"].items()]
    out.append("evidence:")
    out += [f"  {e['event_id']}: {e['feed']} {e['event_time']} {e['origin']}\n    {e['raw']}"
            if e["found"] else f"  {e['event_id']}: NOT IN THE LOG"
            for e in doc.get("evidence", [])]
    out.append(f"warnings issued up to then: {len(doc['warnings'])}")
    out += [f"  {w['event_time']} {w['warning_id']} {w['kind']} grade {w['grade']} "
            f"pd {w['pd']:.2%} rank {w['rank']}" for w in doc["warnings"]]
    out += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(out)
