"""The stateful steps of the monitor flow: thin bytewax wrappers around `detectors/`.

Each logic class holds one key's state and turns items into outputs. The decisions
themselves live in `detectors/`, which knows nothing of bytewax.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import structlog
from bytewax.operators import StatefulLogic

from config.settings import Settings, config_digest
from config.version import program_version
from connectors import contracts as c
from connectors.intake import Envelope
from connectors.records import DeadLetter, Warning, Watermark
from detectors.clock import day_of, next_month_start, to_rfc3339, to_seconds
from detectors.customer import CustomerState, DefaultNotice, Rejected, Tick
from detectors.policy import WarningPolicy, budget_ranks
from detectors.portfolio import Portfolio, Score
from detectors.warnings import from_default, from_score

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Register:
    """A customer id seen in the feeds, so the clock can tick it."""

    customer_id: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """How many events one customer's state accepted (emitted at end of input)."""

    customer_id: str
    count: int


@dataclass(frozen=True, slots=True)
class Latest:
    """A customer's latest score, for the watchlist printed at the end."""

    customer_id: str
    name: str | None
    at: int
    """Event time in seconds: formatted only for the one row that is printed."""
    pd: float
    grade: str
    top_reason: str | None
    defaulted: bool

    def to_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "name": self.name,
                "event_time": to_rfc3339(self.at), "pd": self.pd, "grade": self.grade,
                "top_reason": self.top_reason, "defaulted": self.defaulted}


class _Logic(StatefulLogic):
    """Shared plumbing: the snapshot.

    Bytewax asks every touched key for a snapshot at the end of every epoch, and the flow runs
    one epoch per event-time day. Copying is only needed when snapshots are kept (recovery
    on); otherwise handing over the live state costs nothing and nothing reads it later.
    """

    state: Any

    def __init__(self, settings: Settings, state: Any):
        self.durable = settings.recovery.directory is not None
        self.state = state

    def snapshot(self) -> Any:
        return pickle.loads(pickle.dumps(self.state)) if self.durable else self.state


class NameIndex(_Logic):
    """Keyed by normalised company name: which customers carry it, and news to resolve.

    News naming no known company is held until its event-time day is over: the customer
    record naming the company may arrive later in the same day (the order within a day, an
    epoch, is not fixed). After that day, or at the end of input, it is a dead letter.
    """

    MAX_HELD = 64

    def __init__(self, settings: Settings, resume: dict[str, Any] | None):
        super().__init__(settings, resume or {"customers": (), "held": []})

    def on_item(self, value: Envelope) -> tuple[list[Envelope | DeadLetter], bool]:
        event = value.event
        day = day_of(to_seconds(event.event_time))
        out = self._expire(before=day)
        if isinstance(event, c.Customer):
            if event.customer_id not in self.state["customers"]:
                self.state["customers"] = tuple(sorted((*self.state["customers"],
                                                        event.customer_id)))
            held, self.state["held"] = self.state["held"], []
            out.extend(self._resolve(envelope) for _, envelope in held)
        elif self.state["customers"]:
            out.append(self._resolve(value))
        else:
            self.state["held"].append((day, value))
            if len(self.state["held"]) > self.MAX_HELD:
                out.append(self._resolve(self.state["held"].pop(0)[1]))
        return out, self.RETAIN

    def on_eof(self) -> tuple[list[Envelope | DeadLetter], bool]:
        return self._expire(before=None), self.RETAIN

    def _expire(self, before: int | None) -> list[Envelope | DeadLetter]:
        expired = [e for d, e in self.state["held"] if before is None or d < before]
        if expired:
            self.state["held"] = [(d, e) for d, e in self.state["held"]
                                  if before is not None and d >= before]
        return [self._resolve(envelope) for envelope in expired]

    def _resolve(self, value: Envelope) -> Envelope | DeadLetter:
        customers = self.state["customers"]
        if len(customers) == 1:
            named = value.event.model_copy(update={"customer_id": customers[0]})
            return Envelope(named, value.raw, value.origin)
        reason = "ambiguous_company" if customers else "unknown_company"
        detail = (f"company_name matches customers {', '.join(customers)}" if customers
                  else "company_name matches no customer name or alias seen so far")
        return value.dead(reason, detail)


class Clock(_Logic):
    """The portfolio's event-time clock: ticks every known customer at each month start,
    once every source partition has read past it. Idle partitions (see `Watermark.idle`)
    count as heard from but do not hold the clock back."""

    def __init__(self, settings: Settings, resume: dict[str, Any] | None):
        super().__init__(settings, resume or {"marks": {}, "partitions": 0, "customers": set(),
                                              "month": 0, "idle": set()})

    def on_item(self, value: Watermark | Register) -> tuple[list[tuple[str, Tick]], bool]:
        state = self.state
        if isinstance(value, Register):
            state["customers"].add(value.customer_id)
            return [], self.RETAIN
        idle: set[str] = state.setdefault("idle", set())
        if value.idle:
            idle.add(value.partition)
        else:
            idle.discard(value.partition)
            state["marks"][value.partition] = max(value.at,
                                                  state["marks"].get(value.partition, 0))
        state["partitions"] = value.partitions
        active = [at for part, at in state["marks"].items() if part not in idle]
        if len(state["marks"].keys() | idle) < state["partitions"] or not active:
            return [], self.RETAIN
        now = min(active)
        if state["month"] == 0:
            state["month"] = next_month_start(now)
        out = []
        while state["month"] <= now:
            tick = Tick(state["month"])
            out.extend((cid, tick) for cid in sorted(state["customers"]))
            state["month"] = next_month_start(state["month"])
        return out, self.RETAIN


class Customer(_Logic):
    """One customer's state: events and ticks in, snapshots, labels and rejections out."""

    def __init__(self, settings: Settings, resume: CustomerState | None):
        super().__init__(settings, resume)
        self.settings = settings

    def on_item(self, value: Envelope | Tick) -> tuple[list[Any], bool]:
        if isinstance(value, Tick):
            if self.state is None:  # a tick can overtake the customer's first event
                return [], self.DISCARD
            try:
                return self.state.apply(value, self.settings), self.RETAIN
            except Exception:  # noqa: BLE001 - a bug on one customer must not stop the run
                log.exception("customer.tick_failed", customer_id=self.state.customer_id)
                return [], self.RETAIN
        if self.state is None:
            self.state = CustomerState.new(value.event.customer_id, self.settings)
        try:
            outputs = self.state.apply(value.event, self.settings)
        except Exception as exc:  # noqa: BLE001 - a bug must cost one record, not the flow
            log.exception("customer.apply_failed", customer_id=self.state.customer_id,
                          event_id=value.event.event_id)
            return [value.dead("processing_error", f"{type(exc).__name__}: {exc}")], self.RETAIN
        for rejected in (o for o in outputs if isinstance(o, Rejected)):
            log.info("event.rejected", customer_id=self.state.customer_id,
                     event_id=value.event.event_id, reason=rejected.reason)
        return [value.dead(o.reason, o.detail) if isinstance(o, Rejected) else o
                for o in outputs], self.RETAIN

    def on_eof(self) -> tuple[list[Accepted], bool]:
        if self.state is None:
            return [], self.DISCARD
        return [Accepted(self.state.customer_id, self.state.accepted)], self.RETAIN


class PortfolioStep(_Logic):
    """The single portfolio key: scores, learns and ranks (see `detectors.portfolio`)."""

    def __init__(self, settings: Settings, resume: Portfolio | None):
        super().__init__(settings, resume or Portfolio(settings))

    def on_item(self, value: Any) -> tuple[list[Any], bool]:
        return self.state.receive(value), self.RETAIN

    def on_eof(self) -> tuple[list[Any], bool]:
        return self.state.flush(), self.RETAIN


def lineage_of(settings: Settings) -> dict[str, str]:
    """What decided a warning: the configuration's digest and the program's version (once per
    flow: `build_flow` hands it to every customer's policy)."""
    return {"config_digest": config_digest(settings), "program_version": program_version()}


class Policy(_Logic):
    """Per-customer warning policy; remembers the latest score for the final watchlist.

    Every score updates the watchlist; only month-end scores can warn or resolve (see
    `detectors.policy`), against the alert budget in ranks of the portfolio at that time.
    """

    def __init__(self, settings: Settings, resume: dict[str, Any] | None,
                 lineage: dict[str, str] | None = None):
        p = settings.policy
        super().__init__(settings, resume or {
            "policy": WarningPolicy(p.warn_from_grade, p.resolve_below_grade,
                                    p.resolve_after_months),
            "latest": None,
        })
        self.settings = settings
        self.lineage = lineage or lineage_of(settings)

    def on_item(self, value: Score | DefaultNotice) -> tuple[list[Warning], bool]:
        horizon = self.settings.horizon_months
        if isinstance(value, DefaultNotice):
            warning = from_default(value, horizon).model_copy(update=self.lineage)
            self.state["latest"] = Latest(value.customer_id, value.profile.name, value.at, 1.0,
                                          "E", warning.kind, True)
            return [warning], self.RETAIN
        top = min(value.contributions.items(), key=lambda kv: (-kv[1], kv[0]), default=None)
        self.state["latest"] = Latest(
            value.snapshot.customer_id, value.snapshot.profile.name, value.snapshot.at,
            round(value.pd, 6), value.grade, top[0] if top and top[1] > 0 else None, False,
        )
        if not value.snapshot.month_end:  # only month ends decide (`WarningPolicy`)
            return [], self.RETAIN
        p = self.settings.policy
        budget = budget_ranks(p.budget_per_1000, value.portfolio_size, p.budget)
        decision = self.state["policy"].decide(value.grade, value.rank, budget)
        if decision is None:
            return [], self.RETAIN
        warning = from_score(value, decision, horizon).model_copy(update=self.lineage)
        return [warning], self.RETAIN

    def on_eof(self) -> tuple[list[Latest], bool]:
        latest = self.state["latest"]
        return ([latest] if latest is not None else []), self.RETAIN
