"""A bucket of customers: their state, one complete event-time day at a time.

`CustomerBook` is the step that knows customers. Fed a day's accepted events (sorted into
the monitor's total order), it updates each customer's ledger, behaviour, tradelines,
signals and accounts, rejects what cannot apply (an unknown invoice, an unknown customer...),
notices defaults, and snapshots the customers whose risk moved that day. At each month end
it snapshots every active customer at once, labels the month-end snapshots whose horizon has
passed, and sends them on: snapshots to its scorer, labels to the learner.

State is columnar (`detectors.table`): a customer is a row of fixed-width numbers plus a few
bounded references (its id, master data, evidence ids, open invoices). A dormant customer,
with nothing open and nothing recent, costs nothing between its events: it is not
snapshotted and not scored.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from detectors import events as ev
from detectors.behaviour import PaymentBehaviour
from detectors.clock import DAY, add_months, month_start, months_since_epoch, next_month_start
from detectors.collections import OverdueInvoice
from detectors.dedup import Repeat, SecondChances
from detectors.events import Envelope
from detectors.features import ADVERSE_NEWS, INDEX, JUDGMENT, empty
from detectors.financials import FinancialsDetector
from detectors.fx import Rates
from detectors.hard import HardEvent, HardEventRules
from detectors.insurance import CoverCut, DeadlineNotice, InsuranceTerms
from detectors.ledger import NEVER, LedgerError, Ledgers
from detectors.models.scorecard import points_counts
from detectors.money import Exposure
from detectors.pending import PendingLabels, Resolved
from detectors.records import DeadLetter
from detectors.signals import NewsDetector, RegistryDetector
from detectors.snapshots import (
    EVIDENCE_FAMILIES,
    FAMILY_INDEX,
    NO_PROFILE,
    Accepted,
    DefaultNotice,
    Profile,
    Snapshots,
)
from detectors.stage import Send
from detectors.strings import NONE, StringTable
from detectors.table import Column, Table
from detectors.tradelines import TradelineDetector
from detectors.trajectory import Trajectory

LEARNER = "learner"
MAX_EVIDENCE_PER_FAMILY = 2
_HAS_TRADELINE, _TL_DPD = INDEX["has_tradeline"], INDEX["tl_dpd"]
_HAS_ACCOUNTS, _ACCOUNTS_AGE = INDEX["has_accounts"], INDEX["accounts_age_days"]
_COUNTRY_RISK, _INDUSTRY_RISK = INDEX["country_risk"], INDEX["industry_risk"]
_NO_DAY = -(10**9)


@dataclass(frozen=True, slots=True)
class BookSettings:
    """What a book needs to know: taken from `config.settings.Settings` by `from_settings`."""

    horizon_months: int = 8
    fx_rates: tuple[tuple[str, float], ...] = (("EUR", 1.0),)
    reporting_currency: str = "EUR"
    fx_max_age_days: int = 7
    material_overdue_amount: float = 500.0
    news_half_life_days: float = 90.0
    registry_half_life_days: float = 180.0
    dormant_after_days: int = 120
    require_master_data: bool = True
    event_id_memory_days: int = 180
    hard_events: HardEventRules = HardEventRules()
    insurance: InsuranceTerms = InsuranceTerms()

    @classmethod
    def from_settings(cls, settings: Any) -> BookSettings:
        d = settings.detectors
        return cls(settings.horizon_months, tuple(sorted(settings.fx_rates.items())),
                   settings.reporting_currency, settings.fx_max_age_days,
                   d.material_overdue_amount,
                   d.news_half_life_days, d.registry_half_life_days, d.dormant_after_days,
                   d.require_master_data, d.event_id_memory_days,
                   HardEventRules(d.judgment_share_of_exposure,
                                  tuple(d.hard_news_categories)),
                   InsuranceTerms(settings.policy.insurer_notify_days,
                                  settings.policy.insurer_deadline_warning_days))


@dataclass(frozen=True, slots=True)
class Labels:
    """Month-end snapshots whose label is now known: features, label, snapshot time, the
    time the label became known, the customer, and for a positive the months from the
    snapshot to the default (1 to the horizon; 0 for a negative)."""

    X: np.ndarray
    y: np.ndarray
    at: np.ndarray
    known_at: np.ndarray
    customer_id: list[str]
    lag: np.ndarray


@dataclass(frozen=True, slots=True)
class SnapshotCounts:
    """The month-end snapshots a bucket took at ``at`` (a month start), counted by bin of
    the prior scorecard's points (`detectors.models.scorecard.points_counts`): the book whose
    level the learner fits to the defaults it has shown (`detectors.models.level`)."""

    at: int
    counts: np.ndarray


class CustomerBook:
    """The customers of one bucket (``name``), whose scorer has the same key."""

    def __init__(self, name: str, settings: BookSettings) -> None:
        self.name = name
        self.settings = settings
        self.rates = Rates(settings.reporting_currency, dict(settings.fx_rates),
                           settings.fx_max_age_days)
        self.grades: dict[str, dict[str, float]] = {"country": {}, "industry": {}}
        """Each country's and industry's latest risk grade (the country- and industry-risk
        feeds)."""
        columns = (
            Column("insured_limit", "f8", np.nan), Column("last_day", "i4", _NO_DAY),
            Column("snapshot_day", "i4", _NO_DAY), Column("defaulted_at", "i8", NEVER),
            Column("evidence", "i4", NONE, (len(EVIDENCE_FAMILIES), MAX_EVIDENCE_PER_FAMILY)),
            *Ledgers.COLUMNS, *PaymentBehaviour.COLUMNS, *TradelineDetector.COLUMNS,
            *NewsDetector.COLUMNS, *RegistryDetector.COLUMNS, *FinancialsDetector.COLUMNS,
            *Trajectory.COLUMNS, *PendingLabels.columns(settings.horizon_months),
        )
        self.t = Table(columns)
        self.strings = StringTable()
        """Event ids kept as evidence and of open invoices."""
        self.ledgers = Ledgers(self.t, settings.material_overdue_amount, self.strings)
        self.behaviour = PaymentBehaviour(self.t)
        self.tradelines = TradelineDetector(self.t)
        self.news = NewsDetector(self.t, settings.news_half_life_days)
        self.registry = RegistryDetector(self.t, settings.registry_half_life_days)
        self.financials = FinancialsDetector(self.t)
        self.trajectory = Trajectory(self.t)
        self.pending = PendingLabels(self.t, settings.horizon_months)
        self.slots: dict[str, int] = {}
        self.ids: list[str] = []
        self.profiles: list[Profile] = []
        self.accepted = 0
        self.second_chances = SecondChances(settings.event_id_memory_days)
        self._month: int | None = None
        """The next month end to make (a month start, in seconds), once a day was applied."""
        self._cover_from: dict[int, tuple[int, float | None]] = {}
        """Insured limits announced ahead: slot -> (the day it applies from, the limit)."""
        self._last_day = _NO_DAY
        """The latest day passed (`advance`; each day is passed after it was applied): what
        deadlines were looked for through, and at the end, the last day of the input."""

    # -- the stage ---------------------------------------------------------------------------

    def day(self, day: int, items: list[Envelope | Repeat]) -> list[Any]:
        """Apply one complete day's events in the total order (a repeat of an id only if
        its customer's records with it were rejected: `SecondChances`); snapshot whose risk
        moved."""
        if self._month is None:
            self._month = next_month_start(day * DAY)
        out: list[Any] = []
        moved: dict[int, int] = {}
        for item in sorted(items, key=_order):
            envelope = item.envelope if isinstance(item, Repeat) else item
            if envelope.event.FEED in ev.BROADCAST_FEEDS:
                self._book_wide(envelope.event)
                continue
            repeat = self.second_chances.admit(item, day)
            if repeat is not None:
                out.append(repeat)
                continue
            slot = self.slots.get(envelope.event.customer_id)  # type: ignore[arg-type]
            if slot is None:
                slot = self._new_slot(envelope, out)
                if slot is None:
                    self.second_chances.judged(item, day, applied=False)
                    continue
            ledger_default = self._ledger_default(slot, day)  # as it stood before the record
            try:
                material = self._apply(slot, envelope.event, day)
            except LedgerError as exc:  # a rejected record makes nothing known, no default
                out.append(_dead(envelope, exc.reason, exc.detail))
                self.second_chances.judged(item, day, applied=False)
                continue
            self.second_chances.judged(item, day, applied=True)
            if ledger_default is not None:
                out.extend(self._defaulted(ledger_default, day * DAY))
            self.accepted += 1
            self.t.last_day[slot] = day
            out.extend(self._event_default(slot, envelope.event, day))
            out.extend(self._hard_event(slot, envelope.event, day))
            out.extend(self._cover_cut(slot, envelope.event, day))
            if material and self.t.defaulted_at[slot] == NEVER:
                moved[slot] = max(envelope.event.at, day * DAY)
        moved = {s: at for s, at in moved.items() if self.t.defaulted_at[s] == NEVER}
        if moved:
            slots = np.fromiter(moved, dtype=np.int64, count=len(moved))
            at = np.fromiter(moved.values(), dtype=np.int64, count=len(moved))
            self.t.snapshot_day[slots] = day
            out.append(Send(self.name, day, self._snapshots(slots, day, at, month_end=False)))
        return out

    def advance(self, through: int) -> list[Any]:
        """Make the month ends of every month that ended by day ``through``."""
        out: list[Any] = []
        self.second_chances.expire(through)
        self._covers_from(through)
        out.extend(self._deadlines(self._last_day, through))
        self._last_day = max(self._last_day, through)
        while self._month is not None and self._month // DAY <= through + 1:
            out.extend(self._month_end(self._month))
            self._month = next_month_start(self._month)
        return out

    def finish(self) -> list[Any]:
        """The count of accepted events, and every invoice past due on the last day."""
        return [Accepted(self.name, self.accepted), *self._overdue(self._last_day)]

    def _deadlines(self, after: int, through: int) -> list[Send]:
        """Insured customers' invoices still open on the day, in (``after``, ``through``],
        that comes ``warn_days`` before the insurer's notification deadline (the book's
        state is the same on every day of the range: no event of this bucket fell in it)."""
        terms = self.settings.insurance
        if not terms.warns or through <= after or not self.t.size:
            return []
        insured = np.nan_to_num(self.t.view("insured_limit")) > 0
        out = []
        for row in self.ledgers.coming_due(after, through, terms.warn_offset, insured):
            slot = int(self.ledgers.items.slot[row])
            invoice_id, event_id, amount, due = self.ledgers.item(row)
            day = due + terms.warn_offset
            notice = DeadlineNotice(self.ids[slot], slot, day * DAY, invoice_id, event_id,
                                    amount, due, due + terms.notify_days,  # type: ignore[operator]
                                    self.profiles[slot], self._exposure(slot, day))
            out.append(Send(self.name, day, notice))
        return out

    def _overdue(self, day: int) -> list[OverdueInvoice]:
        out = []
        for slot in self.ledgers.open_slots().tolist():
            profile, currency = self.profiles[slot], self._currency(slot)
            out.extend(OverdueInvoice(self.ids[slot], profile.name, invoice_id, event_id, open_,
                                      currency, due, day)
                       for invoice_id, event_id, open_, due in self.ledgers.overdue_items(
                           slot, day))
        return out

    # -- customers ----------------------------------------------------------------------------

    def _new_slot(self, envelope: Envelope, out: list[Any]) -> int | None:
        """The slot of a customer the book has not seen, or None (and a dead letter in
        ``out``) when the book requires its master record first."""
        event = envelope.event
        customer_id = event.customer_id
        if self.settings.require_master_data and not isinstance(event, ev.CustomerRecord):
            out.append(_dead(envelope, "unknown_customer",
                             f"customer {customer_id} has no master record (customers feed) "
                             "before this event"))
            return None
        slot = self.t.add()
        self.slots[customer_id] = slot  # type: ignore[index]
        self.ids.append(customer_id)  # type: ignore[arg-type]
        self.profiles.append(NO_PROFILE)
        return slot

    def _book_wide(self, event: ev.Event) -> None:
        """A record about no customer: an exchange rate, a country's or an industry's grade."""
        match event:
            case ev.FxRate():
                self.rates.put(event.base, event.currency, event.rate, event.at // DAY)
            case ev.CountryRisk():
                self.grades["country"][event.country] = float(event.grade)
            case ev.IndustryRisk():
                self.grades["industry"][event.industry] = float(event.grade)

    # -- money ------------------------------------------------------------------------------

    def _currency(self, slot: int) -> str:
        """The customer's own currency: its ledger's and its limits' (master data)."""
        return self.profiles[slot].currency or self.settings.reporting_currency

    def _own(self, slot: int, amount: float, currency: str, day: int) -> float:
        """A ledger amount in the customer's currency: as it is when it is in that currency
        (no rate needed), else at the rate of ``day``; an amount in a third currency that
        has no rate at all cannot be booked (``no_fx_rate``)."""
        own = self._currency(slot)
        converted = self.rates.cross(amount, currency, own, day)
        if converted is None:
            raise LedgerError("no_fx_rate", f"no rate between {currency} and the customer's "
                                            f"currency {own} on or before this day (an fx "
                                            "feed record or fx_rates)")
        return converted

    def _sized(self, amount: float, currency: str, into: str, day: int) -> float:
        """An amount where only its size matters (a threshold, a judgment's weight): at the
        day's rate, or as it is when there is no rate (documented in docs/money.md)."""
        converted = self.rates.cross(amount, currency, into, day)
        return amount if converted is None else converted

    def _rate(self, currency: str, day: int) -> float:
        """One unit of ``currency`` in the reporting currency on ``day``; NaN when none."""
        rate = self.rates.rate(currency, day)
        return np.nan if rate is None else rate

    def _exposure(self, slot: int, day: int) -> Exposure:
        return Exposure(self.ledgers.total_open(slot), self._rate(self._currency(slot), day))

    def _material(self, slot: int, day: int) -> float:
        """The material overdue amount (reporting currency) in the customer's currency, for
        the ledger's default line."""
        return self._sized(self.settings.material_overdue_amount,
                           self.settings.reporting_currency, self._currency(slot), day)

    def _apply(self, slot: int, event: ev.Event, day: int) -> bool:
        """Apply one event to the customer's detectors; return whether it moved its risk."""
        match event:
            case ev.CustomerRecord():
                self._profile(slot, event, day)
                return False
            case ev.Invoice():
                amount = self._own(slot, event.amount, event.currency, day)
                before = self.ledgers.total_open(slot)
                self.ledgers.invoice(slot, event.customer_id, event.invoice_id,  # type: ignore[arg-type]
                                     amount, event.issue_day, event.due_day, event.event_id,
                                     self._material(slot, day))
                self.behaviour.invoiced(slot, amount, day)
                limit = self.t.credit_limit[slot]  # NaN (no limit) compares False
                return bool(before <= limit < before + amount)  # it takes exposure over:
                # scored today, so the desk can tell a breach on its day
            case ev.Payment():
                amount = self._own(slot, event.amount, event.currency, day)
                settled = self.ledgers.pay(slot, event.customer_id, event.invoice_id,  # type: ignore[arg-type]
                                           amount, day, self._material(slot, day))
                if settled.partial:
                    self.behaviour.partial_payment(slot)
                if settled.days_late is not None:
                    self.behaviour.settled(slot, settled.days_late, day)
                late = settled.days_late is not None and settled.days_late > 30
                return self._note(slot, "payment_delay", event.event_id, late or settled.partial)
            case ev.CreditNote() | ev.WriteOff():
                amount = self._own(slot, event.amount, event.currency, day)
                self.ledgers.credit(slot, event.customer_id, event.invoice_id,  # type: ignore[arg-type]
                                    amount, day, self._material(slot, day))
                return isinstance(event, ev.WriteOff)
            case ev.Tradeline():
                moved = event.days_past_due != self.tradelines.days_past_due(slot)
                self.tradelines.update(  # its ratios are in its own currency: no rate
                    slot, event.days_past_due, event.outstanding, event.overdue,
                    event.credit_limit, event.paid_in_period, day)
                return self._note(slot, "tradeline", event.event_id, moved)
            case ev.NewsItem():
                self.news.item(slot, event.categories, event.sentiment, day)
                return self._note(slot, "news", event.event_id, True)
            case ev.AccountsFiled():
                self.financials.filed(slot, dict(event.figures), dict(event.ratios),
                                      event.period_end_day)
                self.registry.accounts_filed(slot, event.period_end_day)
                return self._note(slot, "financials", event.event_id, True)
            case ev.AccountsOverdue():
                self.registry.accounts_overdue(slot, event.period_end_day)
            case ev.StatusChange():
                self.registry.status_change(slot, event.status, day)
            case ev.DirectorChange():
                if event.change == "resigned":
                    self.registry.director_resigned(slot, day)
            case ev.CapitalChange():
                self.registry.capital_change(slot, event.delta, day)  # only its sign counts
            case ev.CourtJudgment():
                self.registry.judgment(slot, self._sized(
                    event.amount, event.currency, self.settings.reporting_currency, day), day)
            case ev.RatingChange():
                self.registry.rating_change(slot, event.old, event.new, day)
        return self._note(slot, "registry", event.event_id, True)

    def _profile(self, slot: int, record: ev.CustomerRecord, day: int) -> None:
        """Master data; limits are in the customer's own currency, as its ledger is. An
        insured limit announced for a later day waits for it (`_covers_from`)."""
        limit, insured = record.credit_limit, record.insured_limit
        starts = record.insured_limit_from
        if starts is not None and starts > day:
            self._cover_from[slot] = (starts, insured)
            insured = self.profiles[slot].insured_limit
        else:
            self._cover_from.pop(slot, None)
        self.profiles[slot] = Profile(  # codes and tags repeat across the book: one copy each
            record.name, _shared(record.country), _shared(record.industry),
            _shared(record.currency), limit, insured, tuple(map(sys.intern, record.tags)))
        self.t.credit_limit[slot] = np.nan if limit is None else limit
        self.t.insured_limit[slot] = np.nan if insured is None else insured

    def _cover_cut(self, slot: int, event: ev.Event, day: int) -> list[Send]:
        """A master record announcing a lower insured limit from a later day: a dated notice
        for the desk (the customer's insured limit is still the old one, until that day)."""
        if not isinstance(event, ev.CustomerRecord) or slot not in self._cover_from:
            return []
        old = self.profiles[slot].insured_limit
        starts, new = self._cover_from[slot]
        if not old or (new or 0.0) >= old:
            return []
        return [Send(self.name, day, CoverCut(
            self.ids[slot], slot, event.at, event.event_id, old, new or 0.0, starts,
            self.profiles[slot], self._exposure(slot, day)))]

    def _covers_from(self, through: int) -> None:
        """Insured limits announced ahead that apply by the day after ``through``."""
        due = sorted((starts, slot) for slot, (starts, _) in self._cover_from.items()
                     if starts <= through + 1)
        for _, slot in due:
            _, insured = self._cover_from.pop(slot)
            self.profiles[slot] = replace(self.profiles[slot], insured_limit=insured)
            self.t.insured_limit[slot] = np.nan if insured is None else insured

    def _note(self, slot: int, family: str, event_id: str, material: bool) -> bool:
        """Keep the event as evidence of its family (the latest few), if it was material."""
        if material:
            kept = self.t.evidence[slot, FAMILY_INDEX[family]]
            kept[:-1] = kept[1:]
            kept[-1] = self.strings.add(event_id)
        return material

    def _payment_evidence(self, slot: int) -> tuple[str, ...]:
        """The customer's kept evidence of late or partial payments, oldest first."""
        return self.strings.view().many(self.t.evidence[slot, FAMILY_INDEX["payment_delay"]])

    # -- defaults -------------------------------------------------------------------------

    def _event_default(self, slot: int, event: ev.Event, day: int) -> list[Any]:
        """A record that is a default, applied on ``day``: known then, even if dated earlier
        (a record within the allowed lateness, or one from an input that had gone idle)."""
        known_at = max(event.at, day * DAY)
        match event:
            case ev.StatusChange() if event.status in ev.DEFAULT_STATUSES:
                return self._default(slot, event.at, known_at, "insolvency", (event.event_id,))
            case ev.WriteOff():
                return self._default(slot, event.at, known_at, "write_off", (event.event_id,))
            case ev.Tradeline() if event.days_past_due >= 90:
                # Material if the amount behind reaches the threshold; a feed of payment
                # statuses only says no amount, and its 90+ days past due stands alone. (An
                # amount always comes with its currency: the contract checks it.)
                owed = event.overdue if event.overdue is not None else event.outstanding
                if owed is None or owed >= self._sized(self.settings.material_overdue_amount,
                                                       self.settings.reporting_currency,
                                                       event.currency, day):
                    return self._default(slot, event.at, known_at, "dpd90", (event.event_id,))
        return []

    def _hard_event(self, slot: int, event: ev.Event, day: int) -> list[Any]:
        """A record that warns on its own day (`detectors.hard`), for a customer that has
        not defaulted; sent on the day it was applied, as the day's snapshot is."""
        if self.t.defaulted_at[slot] != NEVER:
            return []
        rules = self.settings.hard_events
        own = self.ledgers.total_open(slot)
        match event:
            case ev.CourtJudgment():
                amount = self._sized(event.amount, event.currency, self._currency(slot), day)
                if not rules.judgment(amount, own):
                    return []
                kind, detail = JUDGMENT, round(amount / own, 4)
            case ev.NewsItem():
                category = rules.news(event.categories)
                if category is None:
                    return []
                kind, detail = ADVERSE_NEWS, category
            case _:
                return []
        notice = HardEvent(self.ids[slot], slot, event.at, kind, detail, event.event_id,
                           self.profiles[slot], self._exposure(slot, day))
        return [Send(self.name, day, notice)]

    def _ledger_default(self, slot: int, day: int) -> DefaultNotice | None:
        """The notice that the customer's open invoices crossed the default line by ``day``
        (or None), as the ledger stands: for `_defaulted` to give."""
        crossed = self.ledgers.default_day(slot)
        if crossed > day or self.t.defaulted_at[slot] != NEVER:
            return None
        evidence = (self.ledgers.overdue_events(slot, crossed)
                    + self._payment_evidence(slot))
        return self._notice(slot, crossed * DAY, day, "dpd90", evidence)

    def _default(self, slot: int, at: int, known_at: int, kind: str,
                 evidence: tuple[str, ...]) -> list[Any]:
        if self.t.defaulted_at[slot] != NEVER:
            return []
        return self._defaulted(self._notice(slot, at, known_at // DAY, kind, evidence),
                               known_at)

    def _notice(self, slot: int, at: int, known: int, kind: str, evidence: tuple[str, ...]
                ) -> DefaultNotice:
        """A default at ``at`` that became known on day ``known``, with the invoices past due
        and the exposure then."""
        overdue = tuple(item[0] for item in self.ledgers.overdue_items(slot, known))
        return DefaultNotice(self.ids[slot], slot, at, kind, evidence, self.profiles[slot],
                             self._exposure(slot, known), overdue)

    def _defaulted(self, notice: DefaultNotice, known_at: int) -> list[Any]:
        """The customer is in default from ``notice.at``, known at ``known_at``: its notice,
        and the labels of its snapshots that the default made positive."""
        slot, at = notice.slot, notice.at
        self.t.defaulted_at[slot] = at
        month = months_since_epoch(at)
        before = month if at == month_start(month) else month + 1
        # A snapshot at t is positive if the default falls in (t, t + horizon].
        within = next(m for m in range(before - self.settings.horizon_months - 1, before + 1)
                      if add_months(month_start(m), self.settings.horizon_months) >= at)
        labels = self.pending.defaulted(slot, before, within)
        known = known_at // DAY  # the day it becomes known: earlier days may be complete
        out: list[Any] = [Send(self.name, known, notice)]
        if len(labels.slots):
            out.append(Send(LEARNER, known, self._labels(labels, known_at)))
        return out

    # -- snapshots --------------------------------------------------------------------------

    def _month_end(self, month_start: int) -> list[Any]:
        """The end of the month before ``month_start``: defaults that the passing of time
        made, labels whose horizon passed, and a snapshot of every active customer, with the
        customers in default still reporting listed beside them."""
        day = month_start // DAY
        last_day = day - 1
        out: list[Any] = []
        for slot in self.ledgers.open_slots().tolist():
            ledger_default = self._ledger_default(slot, day)
            if ledger_default is not None:
                out.extend(self._defaulted(ledger_default, day * DAY))
        month = months_since_epoch(month_start)
        self._compact_strings()
        slots, in_default = self._active(day)
        X = self._features(slots, day)
        self.trajectory.month_end(slots, X)
        resolved = self.pending.month_end(slots, month, X)
        if len(resolved.slots):
            out.append(Send(LEARNER, last_day, self._labels(resolved, month_start)))
        if len(slots):
            out.append(Send(LEARNER, last_day, SnapshotCounts(month_start, points_counts(X))))
        if len(slots) or len(in_default):
            at = np.full(len(slots), month_start, dtype=np.int64)
            out.append(Send(self.name, last_day, self._rows(
                slots, at, X, day, month_end=True, in_default=in_default)))
        return out

    def _compact_strings(self) -> None:
        """Drop event ids no longer referenced, once they are a third of those stored.

        Done before the month end's snapshots take their view of the strings, so the
        buffers before the compaction are freed at once rather than kept by the snapshots
        until the desk has read them (measured: about 0.4 KB less peak memory per customer
        on a receivables book of 10,000)."""
        evidence = self.t.view("evidence")
        live = np.concatenate((evidence.ravel(), self.ledgers.live_events()))
        referenced = int((live != NONE).sum())
        if len(self.strings) <= referenced + referenced // 2 + 1024:
            return
        moved = self.strings.compact(live)
        held = evidence != NONE
        evidence[held] = moved[evidence[held]]
        self.ledgers.moved_events(moved)

    def _active(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Customers to snapshot at a month end: not defaulted, and not dormant (something
        open, recent or fresh that can still move their risk); and the customers in default
        whose feeds still report (recent or fresh), listed at the month end unscored."""
        t, n = self.t, self.t.size
        if not n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        everyone = np.arange(n)
        recent = t.view("last_day") >= day - self.settings.dormant_after_days
        reporting = (recent | self.tradelines.fresh(everyone, day)
                     | self.financials.fresh(everyone, day))
        defaulted = t.view("defaulted_at") != NEVER
        alive = reporting.copy()
        alive[self.ledgers.open_slots()] = True
        return np.flatnonzero(alive & ~defaulted), np.flatnonzero(reporting & defaulted)

    def _features(self, slots: np.ndarray, day: int) -> np.ndarray:
        X = empty(len(slots))
        for detector in (self.ledgers, self.behaviour, self.tradelines, self.news,
                         self.registry, self.financials):
            detector.features(slots, day, X)
        X[:, _HAS_TRADELINE] = ~np.isnan(X[:, _TL_DPD])
        X[:, _HAS_ACCOUNTS] = ~np.isnan(X[:, _ACCOUNTS_AGE])
        for column, by in ((_COUNTRY_RISK, "country"), (_INDUSTRY_RISK, "industry")):
            grades = self.grades[by]
            if grades:
                X[:, column] = [grades.get(getattr(self.profiles[s], by) or "", np.nan)
                                for s in slots.tolist()]
        self.trajectory.features(slots, day, X)
        return X

    def _snapshots(self, slots: np.ndarray, day: int, at: np.ndarray,
                   month_end: bool) -> Snapshots:
        return self._rows(slots, at, self._features(slots, day), day, month_end)

    def _rows(self, slots: np.ndarray, at: np.ndarray, X: np.ndarray, day: int,
              month_end: bool, in_default: np.ndarray | None = None) -> Snapshots:
        listed = slots.tolist()
        profiles = [self.profiles[s] for s in listed]
        return Snapshots(month_end, [self.ids[s] for s in listed], slots, at, X,
                         self.ledgers.exposure(slots), self._rates_on(listed, day), profiles,
                         self.t.evidence[slots], self.ledgers.overdue_handles(slots, day),
                         self.strings.view(),
                         [] if in_default is None else [self.ids[s] for s in in_default.tolist()])

    def _rates_on(self, slots: list[int], day: int) -> np.ndarray:
        """Each customer's rate into the reporting currency on ``day`` (NaN: none), looked
        up once per currency."""
        currencies = [self._currency(s) for s in slots]
        rates = {c: self._rate(c, day) for c in set(currencies)}
        return np.array([rates[c] for c in currencies], dtype=np.float64)

    def _labels(self, resolved: Resolved, known_at: int) -> Labels:
        at = np.array([month_start(m) for m in resolved.months.tolist()], dtype=np.int64)
        return Labels(resolved.X, resolved.y, at, np.full(len(at), known_at, dtype=np.int64),
                      [self.ids[s] for s in resolved.slots.tolist()], resolved.lag)


def _shared(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _order(item: Envelope | Repeat) -> tuple[int, int, str, str, int]:
    return item.order()


def _dead(envelope: Envelope, reason: str, detail: str) -> DeadLetter:
    event = envelope.event
    return DeadLetter(event.feed, reason, detail, envelope.raw, envelope.origin, event.event_id,
                      event.customer_id)
