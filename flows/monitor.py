"""The monitor dataflow, top to bottom as in DESIGN.md.

    feeds ─ validate ─┬─ dead letters ─────────────────────────────────────► deadletter
                      ├─ news by company name ─ resolve_names ─┐
                      └─ events by customer id ────────────────┴─ customer ─┐
    watermarks + first sightings ─ clock ─ month ticks ─────────► customer  │
                         snapshots, labels, defaults ─ portfolio (score, learn, rank)
                                          scores ─ policy ─► warnings, watchlist, scores

Step ids are stable names: recovery snapshots and the audit log refer to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink

from config.settings import Settings
from connectors import contracts as c
from connectors.audit import AuditEntry
from connectors.intake import Envelope, normalize_name, validate
from connectors.records import DeadLetter, RawRecord, Warning, Watermark
from detectors.clock import to_rfc3339, to_seconds
from detectors.customer import DefaultNotice
from detectors.portfolio import Score
from detectors.warnings import top_reasons
from flows.steps import (
    Accepted,
    Clock,
    Customer,
    NameIndex,
    Policy,
    PortfolioStep,
    Register,
    lineage_of,
)

PORTFOLIO_KEY = "portfolio"
CLOCK_KEY = "clock"
NOTIFY_KEY = "notify"


@dataclass
class Outputs:
    """Where the flow writes; ``None`` leaves an output out."""

    warnings: Sink[Any]
    deadletter: Sink[Any]
    scores: Sink[Any] | None = None
    watchlist: Sink[Any] | None = None
    stats: Sink[Any] | None = None
    audit: Sink[Any] | None = None
    """Takes ``(key, AuditEntry)``: every input that reached a customer, every warning."""
    notify: Sink[Any] | None = None
    """Takes warnings and event-time ``datetime`` ticks, all from one worker."""


class _FirstSighting:
    """Registers each customer with the clock once per worker.

    The memory is per worker and not recovered: after a restart a customer may be registered
    again, which the clock ignores, so nothing depends on it being exact.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, envelope: Envelope) -> Register | None:
        customer_id = envelope.event.customer_id  # type: ignore[union-attr]
        if customer_id in self._seen:
            return None
        self._seen.add(customer_id)
        return Register(customer_id)


def _split(step_id: str, up: Stream[Any], kind: type | tuple[type, ...]) -> tuple[Stream, Stream]:
    branch = op.branch(step_id, up, lambda item: isinstance(item, kind))
    return branch.trues, branch.falses


def _name_keys(envelope: Envelope) -> list[tuple[str, Envelope]]:
    event = envelope.event
    if isinstance(event, c.Customer):
        names = {normalize_name(n) for n in (event.name, *event.aliases)}
        return [(name, envelope) for name in sorted(names) if name]
    return [(normalize_name(event.company_name), envelope)]  # type: ignore[union-attr]


def _named_news(envelope: Envelope) -> bool:
    return isinstance(envelope.event, c.News) and envelope.event.customer_id is None


def _keyed(step_id: str, up: Stream[Any], key: Callable[[Any], str]) -> Stream[tuple[str, Any]]:
    return op.key_on(step_id, up, key)


def build_flow(settings: Settings, source: Source[Any], outputs: Outputs) -> Dataflow:
    """The monitor: ``source`` items in, warnings and the rest out to ``outputs``."""
    flow = Dataflow("creditradar")
    items = op.input("feeds", flow, source)
    raw, control = _split("split_source", items, RawRecord)
    source_dead, control = _split("split_control", control, DeadLetter)
    watermarks, source_done = _split("split_marks", control, Watermark)

    checked = op.map("validate", raw, validate)
    invalid, valid = _split("split_valid", checked, DeadLetter)
    by_name = op.branch("split_named", valid, _named_news)
    named, with_id = by_name.trues, by_name.falses

    directory = op.filter("customers", with_id, lambda e: isinstance(e.event, c.Customer))
    name_keys = op.flat_map("name_keys", op.merge("names_in", directory, named), _name_keys)
    resolved = op.key_rm("resolved", op.stateful("resolve_names", name_keys,
                                                  lambda r: NameIndex(settings, r)))
    unmatched, matched = _split("split_resolved", resolved, DeadLetter)

    events = op.merge("events", with_id, matched)
    registrations = op.filter_map("first_sighting", events, _FirstSighting())
    clock_in = _keyed("to_clock", op.merge("clock_in", watermarks, registrations),
                      lambda _: CLOCK_KEY)
    ticks = op.key_rm("ticks", op.stateful("clock", clock_in, lambda r: Clock(settings, r)))

    customer_in = op.merge(
        "customer_in", _keyed("by_customer", events, lambda e: e.event.customer_id), ticks
    )
    customer_out = op.key_rm("customer_out", op.stateful(
        "customer", customer_in, lambda resume: Customer(settings, resume)
    ))
    rejected, customer_out = _split("split_rejected", customer_out, DeadLetter)
    accepted, to_portfolio = _split("split_accepted", customer_out, Accepted)
    scored = op.key_rm("scored", op.stateful(
        "portfolio", _keyed("to_portfolio", to_portfolio, lambda _: PORTFOLIO_KEY),
        lambda resume: PortfolioStep(settings, resume),
    ))

    lineage = lineage_of(settings)
    policy_in = _keyed("by_customer_again", scored, lambda s: _customer_of(s))
    decided = op.key_rm("decided", op.stateful(
        "policy", policy_in, lambda resume: Policy(settings, resume, lineage)
    ))
    warnings, latest = _split("split_warnings", decided, Warning)

    dead = op.merge("dead", source_dead, invalid, unmatched, rejected)
    op.output("deadletter_out", _keyed("key_dead", dead, lambda d: d.feed), outputs.deadletter)
    op.output("warnings_out", _keyed("key_warnings", warnings, lambda w: w.customer_id),
              outputs.warnings)
    if outputs.scores is not None:
        scores = op.filter_map("score_rows", scored, _score_row)
        op.output("scores_out", _keyed("key_scores", scores, lambda r: r["customer_id"]),
                  outputs.scores)
    if outputs.watchlist is not None:
        op.output("watchlist_out", _keyed("key_latest", latest, lambda x: x.customer_id),
                  outputs.watchlist)
    if outputs.stats is not None:
        stats = op.merge("stats", source_done, accepted)
        op.output("stats_out", _keyed("key_stats", stats, lambda _: "stats"), outputs.stats)
    if outputs.audit is not None:
        logged = op.merge("audit_in", op.map("audit_inputs", events, _audit_input),
                          op.map("audit_warnings", warnings, _audit_warning))
        op.output("audit_out", logged, outputs.audit)
    if outputs.notify is not None:
        ticks_out = op.map("notify_ticks", watermarks, lambda w: datetime.fromtimestamp(w.at, UTC))
        one_worker = op.stateful_map(  # a single key puts every notification on one worker
            "notify_route", _keyed("to_notify", op.merge("notify_in", warnings, ticks_out),
                                   lambda _: NOTIFY_KEY), lambda _, item: (True, item))
        op.output("notify_out", op.key_rm("notify_items", one_worker), outputs.notify)
    return flow


def _audit_input(envelope: Envelope) -> tuple[str, AuditEntry]:
    event = envelope.event
    body = {"feed": event.feed, "raw": envelope.raw.decode("utf-8"), "origin": envelope.origin}
    return event.customer_id, AuditEntry(  # type: ignore[union-attr]
        "input", f"{event.feed}:{event.event_id}", to_rfc3339(to_seconds(event.event_time)),
        body,
    )


def _audit_warning(warning: Warning) -> tuple[str, AuditEntry]:
    return warning.customer_id, AuditEntry(
        "warning", warning.warning_id, warning.event_time, warning.model_dump(mode="json")
    )


def _customer_of(item: Score | DefaultNotice) -> str:
    return item.snapshot.customer_id if isinstance(item, Score) else item.customer_id


def _score_row(item: Score | DefaultNotice) -> dict[str, Any] | None:
    if not isinstance(item, Score):
        return None
    return {
        "customer_id": item.snapshot.customer_id,
        "event_time": to_rfc3339(item.snapshot.at),
        "pd": round(item.pd, 6),
        "grade": item.grade,
        "rank": item.rank,
        "portfolio_size": item.portfolio_size,
        "month_end": item.snapshot.month_end,
        "model_version": item.model_version,
        "features": {k: round(v, 6) for k, v in sorted(item.snapshot.features.items())},
        "reasons": [reason.model_dump() for reason in top_reasons(item)],
    }

