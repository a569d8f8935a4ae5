"""What the monitor knew about one customer at a given time, and one warning's full record.

`explain` runs the customer's logged inputs up to ``as_of`` through the monitor's own steps
(`detectors.dedup.EventIds`, `detectors.directory.NameDirectory`, `detectors.book.CustomerBook`),
each on the event-time day the run applied it (the log records it), which gives the
customer's state, ledger, features and evidence as of that time. The probability, grade and
rank depend on the whole book's model, so they are read from the original run's
``scores.jsonl``, not recomputed.

Which model made the score, and why it held the book then, is read from the run's
``models.jsonl`` beside the scores (`flows.choices`).

`export_warning` gathers a warning, the logged input record of each evidence event, its
lineage, the choice of model behind it and its place in the hash chain into one JSON
document for an auditor.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from config.errors import ConfigError, ContractError
from config.settings import Settings
from connectors.audit import ANCHOR, AuditRecord, read_log, verify_log
from connectors.audit.record import INPUT, WARNING
from connectors.contracts import parse_record
from detectors import events as ev
from detectors.book import BookSettings, CustomerBook
from detectors.clock import DAY, EARLIEST, LATEST, parse_time, to_rfc3339, to_seconds, within_years
from detectors.dedup import DIRECTORY, EventIds, Repeat
from detectors.events import Envelope, Origin
from detectors.features import CODES
from detectors.records import DeadLetter, Warning
from detectors.snapshots import EVIDENCE_FAMILIES, Snapshots
from detectors.stage import Send
from flows.choices import MODEL_CHOICES, behind, describe
from flows.explain_index import Found, LogIndex, raw_customer
from flows.jsonl import DAMAGED, all_finite, finite_number, probability
from flows.news import directory_builder
from flows.replay import logged_records
from flows.run import SCORES, read_jsonl

__all__ = ["explain", "export_warning", "format_explanation", "mentions"]

LINEAGE = ("model_version", "config_digest", "program_version")
AGING = (("current", 0), ("1_30", 30), ("31_60", 60), ("61_90", 90), ("over_90", None))
"""Aging buckets by days past due: the bucket up to each bound (the last has none)."""
_CUSTOMER, _OTHER = "customer", "other"


def explain(customer_id: str, as_of: datetime, log: Path, settings: Settings, *,
            scores: Path | None = None) -> dict[str, Any]:
    """The customer's state, score, reasons, evidence and warnings as of ``as_of``.

    ``scores`` defaults to the ``scores.jsonl`` next to the log (a run with ``--scores``);
    the run's ``models.jsonl`` is read beside it.
    """
    log = Path(log)
    until = to_seconds(as_of)
    if not within_years(until):  # the replay steps months and horizons past it
        raise ConfigError(f"as of {as_of.isoformat()}: outside the years the monitor's "
                          f"clock handles: from {to_rfc3339(EARLIEST)} to before "
                          f"{to_rfc3339(LATEST)}")
    scored = scores or log.parent / SCORES
    notes: list[str] = []
    found = LogIndex(log, scored).find(customer_id, as_of, READ_FOR_EVERY_CUSTOMER)
    if found is None:  # (see flows.explain_index: the same records, read from the files)
        inputs, warnings, _ = logged_records(log, as_of)
        found = Found(inputs, [r for r in warnings if r.body.get("customer_id") == customer_id],
                      _latest_score(scored, customer_id, as_of, notes))
    elif not scored.exists():
        notes.append(_NO_SCORES.format(scored))
    replayed = _Replay(customer_id, settings)
    replayed.run(_concerning(found.inputs, customer_id), until)
    doc: dict[str, Any] = {"customer_id": customer_id, "as_of": to_rfc3339(until),
                           "log": str(log), "known": replayed.slot is not None}
    issued = [_warning(r.body) for r in found.warnings]
    score = _shown(found.score, scored, notes)
    doc["score"] = score
    doc["model_choice"] = _model_choice(scored.parent / MODEL_CHOICES, score, notes)
    doc["reasons"], doc["reasons_source"] = _reasons(score, issued)
    if replayed.slot is None:
        notes.append("the log holds no input for this customer at or before this time")
        return {**doc, "warnings": issued, "notes": notes}
    snapshot = _scored_snapshot(replayed.snapshots, score)
    if score is not None and snapshot is not None:
        doc["score_consistent"] = score.get("features") == snapshot["features"]
        if not doc["score_consistent"]:
            notes.append("the replayed snapshot's features differ from the scored ones: the "
                         "log or scores.jsonl is not from the same run")
    book, slot, day = replayed.book, replayed.slot, until // DAY
    defaulted = int(book.t.defaulted_at[slot])
    doc.update({
        "profile": asdict(book.profiles[slot]),
        "day": to_rfc3339(replayed.last_day * DAY)[:10],
        "accepted": replayed.accepted,
        "defaulted_at": to_rfc3339(defaulted) if defaulted < 2**31 - 1 else None,
        "rejected": replayed.rejected,
        "ledger": _ledger(replayed, day),
        "features": _features(book._features(np.array([slot]), day)[0]),
        "snapshot": snapshot,
    })
    wanted = [e for w in issued for e in w.get("evidence", [])]
    if snapshot is not None:
        wanted += [e for ids in snapshot["evidence"].values() for e in ids]
    doc["evidence"] = [_evidence_entry(replayed.records[e], e) if e in replayed.records
                       else {"event_id": e, "found": False} for e in dict.fromkeys(wanted)]
    return {**doc, "warnings": issued, "notes": notes}


def mentions(log: Path, customer_id: str) -> bool:
    """Whether any logged input or warning of the audit log at ``log`` is about the customer,
    at any time.

    `explain` of a customer the log knows only after ``as_of`` is an answer (nothing known
    yet); of one the whole log never names it is almost surely a mistyped id, which the
    command refuses. Reads the log once, a record at a time, and stops at the first mention.
    """
    return any(_about(record, customer_id) for record in read_log(Path(log)))


def _about(record: AuditRecord, customer_id: str) -> bool:
    """Whether one logged record names the customer: a warning's ``customer_id``, or the
    customer of an input's event as the monitor parsed it (an exact match, where the raw
    text may merely contain the id, or escape it)."""
    if record.kind == WARNING:
        return record.body.get("customer_id") == customer_id
    if record.kind != INPUT:
        return False
    envelope = _envelope(record)
    return envelope is not None and envelope.event.customer_id == customer_id


class _Replay:
    """The logged inputs through the monitor's own id, name and customer steps, day by day,
    keeping only what concerns one customer."""

    def __init__(self, customer_id: str, settings: Settings) -> None:
        self.customer_id = customer_id
        route = self._route
        self.ids = EventIds("ids", settings.detectors.event_id_memory_days, route,
                            settings.detectors.allowed_lateness_days, (_CUSTOMER,))
        self.directory = directory_builder(settings, route, only=customer_id)()
        self.book = CustomerBook(_CUSTOMER, BookSettings.from_settings(settings))
        self.snapshots: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.records: dict[str, AuditRecord] = {}
        self.events: dict[str, ev.Event] = {}
        self._candidates: list[tuple[Envelope, AuditRecord]] = []
        """The day's records of the customer sent on, until the book judged them."""
        self._refused: set[tuple[str, str, int]] = set()
        """The day's records of the customer rejected (`_key`)."""
        self.last_day = 0

    def _route(self, customer_id: str) -> str:
        return _CUSTOMER if customer_id == self.customer_id else _OTHER

    @property
    def slot(self) -> int | None:
        return self.book.slots.get(self.customer_id)

    @property
    def accepted(self) -> int:
        return self.book.accepted

    def run(self, records: list[AuditRecord], until: int) -> None:
        """Apply ``records``, the logged inputs that concern the customer (`_concerning`),
        up to ``until``."""
        days: dict[int, list[tuple[Envelope, AuditRecord]]] = defaultdict(list)
        for record in records:
            envelope = _envelope(record)
            if envelope is not None and (envelope.day < until // DAY
                                         or envelope.event.at <= until):
                days[envelope.day].append((envelope, record))
        for day in sorted(days):
            by_id = {_key(envelope): record for envelope, record in days[day]}
            self.ids.advance(day - 1)
            mine = self._take(self.ids.day(day, [envelope for envelope, _ in days[day]]),
                              by_id)
            named = mine.pop(DIRECTORY, [])
            mine[_CUSTOMER] += self._take(self.directory.day(day, named), by_id)[_CUSTOMER]
            self._take(self.book.advance(day - 1), by_id)
            self._take(self.book.day(day, mine[_CUSTOMER]), by_id)
            self._note_applied()
            self.last_day = day
        self._take(self.book.advance(until // DAY - 1), {})

    def _take(self, outputs: list[Any],
              records: dict[tuple[str, str, int], AuditRecord]) -> dict[str, list[Any]]:
        routed: dict[str, list[Any]] = defaultdict(list)
        for output in outputs:
            if isinstance(output, Send):
                if isinstance(output.item, Snapshots):
                    if len(output.item):  # none: a month end that lists a default alone
                        self.snapshots.append(_snapshot(output.item))
                elif isinstance(output.item, Envelope | Repeat):
                    self._read(output.item, records)
                    routed[output.to].append(output.item)
            elif isinstance(output, DeadLetter) and output.customer_id == self.customer_id:
                self.rejected.append({"id": f"{output.feed}:{output.event_id}",
                                      "reason": output.reason, "detail": output.detail})
                if output.origin is not None:
                    self._refused.add((output.feed, output.origin.source,
                                       output.origin.position))
        return routed

    def _read(self, item: Envelope | Repeat,
              records: dict[tuple[str, str, int], AuditRecord]) -> None:
        envelope = item.envelope if isinstance(item, Repeat) else item
        record = records.get(_key(envelope))
        if envelope.event.customer_id == self.customer_id and record is not None:
            self._candidates.append((envelope, record))

    def _note_applied(self) -> None:
        """The day's records of the customer that were applied, as evidence: of records with
        one id, the first applied (a rejected copy read before it is not)."""
        for envelope, record in self._candidates:
            if _key(envelope) not in self._refused:
                self.records.setdefault(envelope.event.event_id, record)
                self.events.setdefault(envelope.event.event_id, envelope.event)
        self._candidates.clear()
        self._refused.clear()


def _key(envelope: Envelope) -> tuple[str, str, int]:
    """Which logged record an envelope came from (a resolved copy keeps its origin)."""
    return envelope.event.FEED, envelope.origin.source, envelope.origin.position


READ_FOR_EVERY_CUSTOMER = frozenset({ev.NewsItem.FEED, ev.CustomerRecord.FEED,
                                     *ev.BROADCAST_FEEDS})
"""Feeds whose every record can change one customer's state: the news and master data the
name directory resolves, and the rates and grades every bucket takes."""


def _concerning(records: list[AuditRecord], customer_id: str) -> list[AuditRecord]:
    """The logged inputs that can change what the monitor knew of one customer, in log
    order: every record of a feed read for every customer, the customer's own records, and
    any record that shares a feed and event id with one of them (of two, the first is
    applied, whichever customer it names). The others only cost their parsing, most of an
    explanation's time on a large book. A logged input passed the contract, whose ids are
    strict strings, so its raw ``customer_id`` is the one the monitor parsed."""
    own = {record.id for record in records
           if record.body.get("feed") not in READ_FOR_EVERY_CUSTOMER
           and raw_customer(record.body) == customer_id}
    return [record for record in records
            if record.body.get("feed") in READ_FOR_EVERY_CUSTOMER or record.id in own]


def _envelope(record: AuditRecord) -> Envelope | None:
    body = record.body
    try:
        event = parse_record(str(body["feed"]), str(body["raw"]).encode("utf-8"))
    except (ContractError, KeyError):
        return None
    origin = body.get("origin") or {}
    if "file" in origin:
        where = Origin("file", str(origin["file"]), int(origin["line"]))
    elif "topic" in origin:
        where = Origin("kafka", f"{origin['topic']}:{origin['partition']}",
                       int(origin["offset"]))
    else:
        where = Origin("plugin", str(origin.get("source", "")), int(origin.get("position", 0)))
    return Envelope(event, str(body["raw"]).encode("utf-8"), where,
                    int(body.get("day", event.at // DAY)))


def _features(x: np.ndarray) -> dict[str, float]:
    """Features as scores.jsonl writes them (known ones, rounded), so the two compare equal."""
    return {CODES[i]: round(float(x[i]), 6) for i in sorted(np.flatnonzero(~np.isnan(x)),
                                                              key=CODES.__getitem__)}


def _snapshot(snapshots: Snapshots) -> dict[str, Any]:
    return {"at": to_rfc3339(int(snapshots.at[0])), "month_end": snapshots.month_end,
            "features": _features(snapshots.X[0]),
            "evidence": {family: list(ids) for family, ids in zip(
                EVIDENCE_FAMILIES, snapshots.evidence_of(0), strict=True) if ids}}


def _latest_score(path: Path, customer_id: str, as_of: datetime,
                  notes: list[str]) -> dict[str, Any] | None:
    """The model's latest score of the customer at or before ``as_of``; the rows of a
    customer in default (PD 1, no features) are not the model's, and ``defaulted_at`` says
    when the default came."""
    if not path.exists():
        notes.append(_NO_SCORES.format(path))
        return None
    try:
        rows = [r for r in read_jsonl(path, growing=True) if r.get("customer_id") == customer_id
                and not r.get("defaulted") and parse_time(r["event_time"]) <= as_of]
    except DAMAGED as exc:
        problem = f"{type(exc).__name__}: {exc}"[:120]
        notes.append(f"{path} cannot be read ({problem}): probability, grade and rank are "
                     "not shown")
        return None
    return rows[-1] if rows else None  # the file is in event-time order


_NO_SCORES = "no {}: probability, grade and rank need a run with --scores"


def _shown(latest: dict[str, Any] | None, path: Path, notes: list[str]
           ) -> dict[str, Any] | None:
    """The latest score, unless damaged (then a note says why it is not shown)."""
    if latest is None:
        return None
    problem = _damage(latest)
    if problem is not None:
        notes.append(f"the latest score in {path} is damaged ({problem}): probability, grade "
                     "and rank are not shown")
        return None
    return latest


def _damage(score: dict[str, Any]) -> str | None:
    """What keeps a scores.jsonl row from being shown as the model's score (None: nothing),
    so that a hand-edited file gives a note rather than a broken page."""
    missing = [key for key in ("grade", "rank", "model_version") if key not in score]
    if missing:
        return f"no {', '.join(missing)}"
    if probability(score.get("pd")) is None:
        return "its pd is not a probability"
    if not all_finite(score):
        return "it holds a number that is not finite (NaN or an infinity)"
    reasons = score.get("reasons", [])
    if not isinstance(reasons, list) or not all(
            isinstance(r, dict) and "value" in r and isinstance(r.get("code"), str)
            and isinstance(r.get("label"), str)
            and finite_number(r.get("contribution")) is not None for r in reasons):
        return "its reasons are not a list of codes, labels, values and contributions"
    return None


def _model_choice(path: Path, scored: dict[str, Any] | None,
                  notes: list[str]) -> dict[str, Any] | None:
    """`flows.choices.behind` of a score, with a note where the run's ``models.jsonl``
    cannot be read or does not name the model that scored."""
    if scored is None:
        return None
    choice = behind(path, scored)
    if choice is None:
        notes.append(f"{path} cannot be read: which model scored, and why, is not known")
    elif not choice["consistent"]:
        notes.append(f"{path} names {choice['champion']} as the champion at "
                     f"{scored['event_time']}, not the model that scored "
                     f"({choice['model_version']}): it is missing, cut short or not from "
                     "the same run")
    return choice


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


def _scored_snapshot(snapshots: list[dict[str, Any]],
                     score: dict[str, Any] | None) -> dict[str, Any] | None:
    """The replayed snapshot the latest score was computed from, else the latest one."""
    if score is not None:
        month_end = score.get("month_end")
        for snapshot in reversed(snapshots):
            if snapshot["at"] == score["event_time"] and (
                    month_end is None or snapshot["month_end"] == month_end):
                return snapshot
    return snapshots[-1] if snapshots else None


def _ledger(replayed: _Replay, day: int) -> dict[str, Any]:
    book, slot = replayed.book, replayed.slot
    items = book.ledgers.open_items(slot)  # type: ignore[arg-type]
    total = sum(amount for _, amount, _ in items)
    limit = book.profiles[slot].credit_limit  # type: ignore[index]
    aging = dict.fromkeys((name for name, _ in AGING), 0.0)
    for _, amount, due in items:
        late = day - due
        aging[next(name for name, bound in AGING if bound is None or late <= bound)] += amount
    overdue = sum(amount for _, amount, due in items if day > due)
    material = book.settings.material_overdue_amount
    open_items = []
    for event_id, amount, due in items:
        invoice = replayed.events.get(event_id)
        open_items.append({
            "invoice_id": getattr(invoice, "invoice_id", None), "event_id": event_id,
            "open": round(amount, 2),
            "original": round(invoice.amount, 2) if isinstance(invoice, ev.Invoice) else None,
            "issued": to_rfc3339(invoice.issue_day * DAY)[:10]
            if isinstance(invoice, ev.Invoice) else None,
            "due": to_rfc3339(due * DAY)[:10], "days_past_due": max(0, day - due)})  # 0: not due
    return {
        "day": to_rfc3339(day * DAY)[:10],
        "total_open": round(total, 2),
        "aging": {k: round(v, 2) for k, v in aging.items()},
        "overdue_share": round(overdue / total, 6) if total > 0.005 else 0.0,
        "max_days_past_due": max((day - due for _, amount, due in items
                                  if day > due and amount > material), default=0),
        "credit_limit": limit,
        "utilisation": round(total / limit, 6) if limit else None,
        "open_items": open_items,
    }


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


def export_warning(log: Path, warning_id: str, key: bytes | None, settings: Settings
                   ) -> dict[str, Any]:
    """A warning with its evidence events (the logged inputs the monitor applied: the
    customer's records replayed with ``settings``, as `explain` does), lineage, chain
    position and the log's verdict.

    Raises KeyError when the log holds no warning ``warning_id``.
    """
    log = Path(log)
    found: AuditRecord | None = None
    anchor: AuditRecord | None = None
    for record in read_log(log):
        if found is None and record.kind == WARNING and record.id == warning_id:
            found = record
        elif (found is not None and record.kind == ANCHOR
              and record.partition == found.partition):
            anchor = record
            break
    if found is None:
        raise KeyError(f"no warning {warning_id} in the audit log {log}")
    warning = _warning(found.body)
    evidence = _evidence_records(log, warning, found, settings)
    choice = behind(log.parent / MODEL_CHOICES, warning)
    report = verify_log(log, key)
    return {
        "warning": warning,
        "lineage": {name: warning.get(name) for name in LINEAGE},
        "model_choice": choice,
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


def _evidence_records(log: Path, warning: dict[str, Any], found: AuditRecord,
                      settings: Settings) -> dict[str, AuditRecord]:
    """The logged input the monitor applied for each event id, up to the warning: a repeat
    of an id, or a copy the customer's step rejected, is logged too but is no evidence."""
    at = parse_time(found.event_time)
    customer = str(warning.get("customer_id"))
    inputs, _, _ = logged_records(log, at)
    replayed = _Replay(customer, settings)
    replayed.run(_concerning(inputs, customer), to_seconds(at))
    return replayed.records


def format_explanation(doc: dict[str, Any]) -> str:
    """The explanation for people: state, ledger, score and reasons, evidence, warnings."""
    out = [f"customer {doc['customer_id']} as of {doc['as_of']}"]
    if doc.get("known"):
        profile = doc["profile"]
        out.append(f"  {profile['name'] or ''} ({profile['country'] or '?'}, "
                   f"{profile['industry'] or '?'}); applied through {doc['day']}; "
                   f"{doc['accepted']} events accepted, {len(doc['rejected'])} rejected"
                   + (f"; DEFAULTED {doc['defaulted_at']}" if doc["defaulted_at"] else ""))
        ledger = doc["ledger"]
        aging = "  ".join(f"{k} {v:,.2f}" for k, v in ledger["aging"].items())
        out += [f"ledger on {ledger['day']}: open {ledger['total_open']:,.2f}  "
                f"overdue share {ledger['overdue_share']:.1%}  "
                f"DSO {doc['features'].get('dso', 0.0):.1f}  "
                f"max DPD {ledger['max_days_past_due']}  utilisation {ledger['utilisation']}",
                f"  aging: {aging}"]
        out += [f"  open {i['invoice_id']} ({i['event_id']}): {i['open']:,.2f} of "
                f"{i['original'] or 0:,.2f}, due {i['due']}, {i['days_past_due']} days past due"
                for i in ledger["open_items"]]
    score = doc["score"]
    if score is not None:
        out.append(f"score at {score['event_time']}: pd {score['pd']:.2%}  grade "
                   f"{score['grade']}  rank {score['rank']}  model {score['model_version']}")
        if doc.get("model_choice"):
            out.append(f"  model: {describe(doc['model_choice'])}")
        if "score_consistent" in doc:
            out.append("  the replayed state gives exactly the scored features: "
                       + ("yes" if doc["score_consistent"] else "NO"))
    out.append(f"reasons ({doc['reasons_source']}):")
    out += [f"  {r['code']:<20} {r['value']!s:>12}  {r['contribution']:+.4f}  {r['label']}"
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
