"""Everything the monitor knows about one customer, updated one event at a time.

`CustomerState.apply` takes a validated event (or a clock tick) and returns what follows from
it: feature snapshots to score, training labels whose horizon resolved, a default notice, or
a rejection. It reads no clock: time is the events' time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from config.settings import Settings
from connectors import contracts as c
from detectors.behaviour import PaymentBehaviour
from detectors.clock import DAY, add_months, day_of, next_month_start, to_seconds
from detectors.financials import FinancialsDetector
from detectors.ledger import Ledger, LedgerError
from detectors.pending import PendingSnapshots
from detectors.recent import RecentIds
from detectors.signals import NewsDetector, RegistryDetector
from detectors.tradelines import TradelineDetector
from detectors.trajectory import Trajectory

MAX_EVIDENCE_PER_SIGNAL = 2
DEDUP_MEMORY = 16
"""Fingerprints kept before pruning those older than the allowed lateness."""


@dataclass(frozen=True, slots=True)
class Profile:
    """Master data carried with each snapshot, for messages and routing."""

    name: str | None = None
    country: str | None = None
    industry: str | None = None
    currency: str | None = None
    credit_limit: float | None = None
    insured_limit: float | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A customer's features as of ``at``; month-end snapshots also become training data."""

    customer_id: str
    at: int
    features: dict[str, float]
    month_end: bool
    evidence: dict[str, tuple[str, ...]]
    profile: Profile
    exposure: float


@dataclass(frozen=True, slots=True)
class Label:
    """A month-end snapshot whose outcome is now known: ``y`` is 1 if it defaulted in time."""

    customer_id: str
    at: int
    resolved_at: int
    known_at: int
    features: dict[str, float]
    y: int


@dataclass(frozen=True, slots=True)
class DefaultNotice:
    customer_id: str
    at: int
    kind: str
    evidence: tuple[str, ...]
    profile: Profile
    exposure: float


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event the customer's state refused; becomes a dead letter with this reason."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Tick:
    """The portfolio's event-time clock reached ``at`` (a month start)."""

    at: int


Output = Snapshot | Label | DefaultNotice | Rejected


@dataclass(slots=True)
class CustomerState:
    """One customer's ledger, behaviour, signals, financials and pending training examples."""

    customer_id: str
    horizon_months: int
    profile: Profile = Profile()
    ledger: Ledger = field(default_factory=Ledger)
    behaviour: PaymentBehaviour = field(default_factory=PaymentBehaviour)
    tradelines: TradelineDetector = field(default_factory=TradelineDetector)
    news: NewsDetector = field(default_factory=NewsDetector)
    registry: RegistryDetector = field(default_factory=RegistryDetector)
    financials: FinancialsDetector = field(default_factory=FinancialsDetector)
    trajectory: Trajectory = field(default_factory=Trajectory)
    seen: RecentIds = field(default_factory=RecentIds)
    evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pending: PendingSnapshots = field(default_factory=PendingSnapshots)
    clock: int = 0
    month: int = 0
    snapshot_day: int = -1
    defaulted_at: int | None = None
    accepted: int = 0

    @classmethod
    def new(cls, customer_id: str, settings: Settings) -> CustomerState:
        d = settings.detectors
        return cls(
            customer_id=customer_id,
            horizon_months=settings.horizon_months,
            news=NewsDetector(half_life_days=d.news_half_life_days),
            registry=RegistryDetector(half_life_days=d.registry_half_life_days),
        )

    def apply(self, item: c.Event | Tick, settings: Settings) -> list[Output]:
        """Advance the clock to the item's time, then apply it; return what follows."""
        if isinstance(item, Tick):
            return self._advance(item.at, settings) if item.at > self.clock else []
        at = to_seconds(item.event_time)
        mark = RecentIds.key(f"{item.feed}\x00{item.event_id}")
        if mark in self.seen:
            return [Rejected("duplicate", f"event {item.event_id} was already applied")]
        lateness = settings.detectors.allowed_lateness_days * DAY
        if at < self.clock - lateness:
            return [Rejected("late", f"event time is more than {lateness // DAY} days "
                                     "behind this customer's clock")]
        out = self._advance(at, settings) if at > self.clock else []
        try:
            material = self._update(item, at, settings)
        except LedgerError as exc:
            return [*out, Rejected(exc.reason, str(exc))]
        self._remember(mark, at, lateness)
        self.accepted += 1
        out.extend(self._check_default(at, item, settings))
        if material and self.defaulted_at is None and day_of(at) != self.snapshot_day:
            out.append(self._snapshot(at, month_end=False, settings=settings))
        return out

    # -- time ---------------------------------------------------------------------------

    def _advance(self, at: int, settings: Settings) -> list[Output]:
        """Emit month-end snapshots and resolved labels between the clock and ``at``."""
        out: list[Output] = []
        if self.month == 0:
            self.month = next_month_start(at - 1) if self.clock == 0 else next_month_start(
                self.clock
            )
        while self.month <= at:
            month = self.month
            out.extend(self._check_ledger_default(month, settings))
            out.extend(self._resolve_negatives(month))
            if self.defaulted_at is None and self.accepted:
                snap = self._snapshot(month, month_end=True, settings=settings)
                self.trajectory.month_end(snap.features)
                self.pending.append(month, snap.features)
                out.append(snap)
            self.month = next_month_start(month)
        out.extend(self._check_ledger_default(at, settings))
        out.extend(self._resolve_negatives(at))
        self.clock = at
        return out

    def _resolve_negatives(self, now: int) -> list[Output]:
        out: list[Output] = []
        while self.pending and add_months(self.pending.first_time(), self.horizon_months) < now:
            at, features = self.pending.pop_first()
            out.append(Label(self.customer_id, at, add_months(at, self.horizon_months), now,
                             features, 0))
        return out

    # -- events ---------------------------------------------------------------------------

    def _update(self, event: c.Event, at: int, settings: Settings) -> bool:
        """Apply one event to the detectors; return whether it moved a risk signal."""
        day = day_of(at)
        match event:
            case c.Customer():
                self.profile = Profile(
                    event.name, event.country, event.industry, event.currency,
                    _num(event.credit_limit), _num(event.insured_limit), tuple(event.tags),
                )
                return False
            case c.Invoice():
                amount = _fx(event.amount, event.currency, settings)
                self.ledger.invoice(event.invoice_id, amount, _days(event.issue_date),
                                    _days(event.due_date), event.event_id)
                self.behaviour.invoiced(amount, day)
                return False
            case c.Payment():
                settled = self.ledger.pay(event.invoice_id,
                                          _fx(event.amount, event.currency, settings), day)
                if settled.partial:
                    self.behaviour.partial_payment()
                if settled.days_late is not None:
                    self.behaviour.settled(settled.days_late, day)
                late = settled.days_late is not None and settled.days_late > 30
                return self._note("payment_delay", event.event_id, late or settled.partial)
            case c.CreditNote() | c.WriteOff():
                self.ledger.credit(event.invoice_id, _fx(event.amount, event.currency, settings),
                                   day)
                return isinstance(event, c.WriteOff)
            case c.Tradeline():
                moved = event.days_past_due != self.tradelines.days_past_due
                self.tradelines.update(
                    event.days_past_due, _fx(event.outstanding, event.currency, settings),
                    _fx(event.overdue, event.currency, settings) if event.overdue is not None
                    else None,
                    _fx(event.credit_limit, event.currency, settings)
                    if event.credit_limit is not None else None, day,
                )
                return self._note("tradeline", event.event_id, moved)
            case c.News():
                self.news.item(event.categories, event.sentiment, day)
                return self._note("news", event.event_id, True)
            case c.AccountsFiled():
                figures = {k: _num(v) for k, v in event.financials.model_dump().items()}
                self.financials.filed(figures, event.ratios, _days(event.period_end))
                self.registry.accounts_filed(_days(event.period_end))
                return self._note("financials", event.event_id, True)
            case c.AccountsOverdue():
                self.registry.accounts_overdue(_days(event.period_end), day)
            case c.StatusChange():
                self.registry.status_change(event.status.value, day)
            case c.DirectorChange():
                if event.change == "resigned":
                    self.registry.director_resigned(day)
            case c.CapitalChange():
                self.registry.capital_change(float(event.delta), day)
            case c.CourtJudgment():
                self.registry.judgment(_fx(event.amount, event.currency, settings), day)
            case c.RatingChange():
                self.registry.rating_change(event.from_, event.to, day)
        return self._note("registry", event.event_id, True)

    def _note(self, signal: str, event_id: str, material: bool) -> bool:
        if material:
            kept = self.evidence.get(signal, ())
            self.evidence[signal] = (*kept, event_id)[-MAX_EVIDENCE_PER_SIGNAL:]
        return material

    def _remember(self, mark: int, at: int, lateness: int) -> None:
        """Remember an applied event while a repeat could still be applied; a repeat older
        than the allowed lateness is refused as late anyway."""
        self.seen.add(mark, at)
        if len(self.seen) > DEDUP_MEMORY:
            self.seen.forget_before(self.clock - lateness)

    # -- defaults -------------------------------------------------------------------------

    def _check_default(self, at: int, event: c.Event, settings: Settings) -> list[Output]:
        material = settings.detectors.material_overdue_amount
        match event:
            case c.StatusChange() if event.status in c.DEFAULT_STATUSES:
                return self._default(at, at, "insolvency", event.event_id)
            case c.WriteOff():
                return self._default(at, at, "write_off", event.event_id)
            case c.Tradeline() if event.days_past_due >= 90 and _fx(
                event.overdue if event.overdue is not None else event.outstanding,
                event.currency, settings,
            ) >= material:
                return self._default(at, at, "dpd90", event.event_id)
        return []

    def _check_ledger_default(self, now: int, settings: Settings) -> list[Output]:
        if self.defaulted_at is not None:
            return []
        crossed_day = self.ledger.material_default_day(settings.detectors.material_overdue_amount)
        if crossed_day is None or crossed_day * DAY > now:
            return []
        crossed = crossed_day * DAY
        out = self._resolve_negatives(crossed)
        evidence = self._ledger_evidence(day_of(crossed))
        return out + self._default(crossed, now, "dpd90", *evidence)

    def _default(self, at: int, known_at: int, kind: str, *evidence: str) -> list[Output]:
        if self.defaulted_at is not None:
            return []
        self.defaulted_at = at
        out: list[Output] = [  # a snapshot taken at or after the default has no label
            Label(self.customer_id, s, at, known_at, features, 1)
            for s, features in self.pending.drain() if s < at
        ]
        out.append(DefaultNotice(self.customer_id, at, kind, tuple(evidence), self.profile,
                                 self.ledger.total_open()))
        return out

    # -- features -------------------------------------------------------------------------

    def _ledger_evidence(self, day: int) -> tuple[str, ...]:
        """Overdue invoices (oldest first), then the latest late or partial payments."""
        overdue = tuple(item.event_id for item in self.ledger.overdue_items(day))
        return overdue + self.evidence.get("payment_delay", ())

    def _snapshot(self, at: int, month_end: bool, settings: Settings) -> Snapshot:
        self.snapshot_day = day_of(at) if not month_end else self.snapshot_day
        evidence = {**self.evidence, "payment_delay": self._ledger_evidence(day_of(at))}
        return Snapshot(self.customer_id, at, self.features(day_of(at), settings), month_end,
                        evidence, self.profile, self.ledger.total_open())

    def features(self, day: int, settings: Settings) -> dict[str, float]:
        """The model's inputs as of ``day``: only what the feeds carried, the course of key
        figures against the customer's own month ends (`Trajectory`), and presence flags."""
        raw: dict[str, float | None] = {}
        if self.ledger.open_items or self.ledger.sale_days:
            position = self.ledger.position(day, settings.detectors.material_overdue_amount)
            raw["overdue_share"] = position.overdue_share
            raw["max_dpd"] = float(position.max_dpd)
            raw["dso"] = self.ledger.dso(day, position.total)
            raw["share_over_90"] = position.over_90 / position.total if position.total > 0 else 0.0
            limit = self.profile.credit_limit
            raw["utilisation"] = position.total / limit if limit else None
        for detector in (self.behaviour, self.tradelines, self.news, self.registry,
                         self.financials):
            raw.update(detector.features(day))
        out = {k: float(v) for k, v in raw.items() if v is not None}
        out.update(self.trajectory.features(out))
        out["has_ledger"] = float("dso" in out)
        out["has_tradeline"] = float("tl_dpd" in out)
        out["has_accounts"] = float("accounts_age_days" in out)
        return out


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _days(d: date) -> int:
    """A calendar date as an event-time day number."""
    return d.toordinal() - _EPOCH_ORDINAL


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _fx(amount: object, currency: str, settings: Settings) -> float:
    rate = settings.fx_rates.get(currency)
    if rate is None:
        raise LedgerError("no_fx_rate", f"no rate from {currency} to "
                                        f"{settings.reporting_currency} (set fx_rates)")
    return float(amount) * rate  # type: ignore[arg-type]
