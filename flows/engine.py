"""The monitor as a bytewax dataflow: every step is the same thin adapter around a core step.

    feeds ─ validate, feed clocks (sources) ─► ids (feed-wide event ids) ─┬─► directory ─┐
                                                                          └──────────────┴─► books
    books ─► learner ─┐                                                     (customer state)
    books ───────────┴─► scorers ─► ranker ─┐
                         scorers ──────────┴─► desks ─► warnings, watchlist, scores ─► alerts

Every arrow carries `Chunk`s: items for a key on a day, and the sender's promise that it
sends nothing more up to a day. A step applies a day only once every sender promised it
(`detectors.inbox`), in the monitor's total order, so the result never depends on workers,
processes, batching, epochs or arrival: epochs here only pace the input and the recovery
snapshots. Step ids are stable names: recovery refers to them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import bytewax.operators as op
import structlog
from bytewax.dataflow import Dataflow, Stream
from bytewax.operators import StatefulBatchLogic
from bytewax.outputs import Sink

from config.settings import Settings, config_digest
from config.version import program_version
from connectors.audit import AuditEntry
from connectors.audit.record import END, INPUT, STOP, WARNING, input_body
from connectors.partition import Feeds, FeedSource, ReadCount
from detectors.book import LEARNER, BookSettings, CustomerBook
from detectors.clock import DAY, to_rfc3339
from detectors.collections import OverdueInvoice
from detectors.dedup import DIRECTORY, EventIds, Seen
from detectors.desk import ALERTS, AlertFeed, DeskSettings, Latest, ScoreRow, WarningDesk
from detectors.feedclock import FeedClock
from detectors.inbox import ENDED, NOTHING_YET, Chunk, Inbox
from detectors.learning import LearnerStage
from detectors.models.learner import Learner, ModelChoice
from detectors.news.records import NewsReading, ReviewItem
from detectors.records import DeadLetter, Warning
from detectors.scoring import RANKER, Ranker, Scorer
from detectors.snapshots import Accepted
from detectors.stage import Send, Stage
from flows.news import directory_builder
from flows.stop import RUN
from flows.topology import Topology

log = structlog.get_logger(__name__)

WARNINGS_PARTITION = "warnings"
"""The audit log partition of warnings (inputs are logged by the id step that saw them)."""


@dataclass
class Outputs:
    """Where the flow writes; ``None`` leaves an output out. Sinks take ``(key, item)``."""

    warnings: Sink[Any]
    deadletter: Sink[Any]
    scores: Sink[Any] | None = None
    watchlist: Sink[Any] | None = None
    overdue: Sink[Any] | None = None
    """Takes every invoice past due at the end (`detectors.collections.OverdueInvoice`)."""
    stats: Sink[Any] | None = None
    audit: Sink[Any] | None = None
    """Takes ``(partition, AuditEntry)``: every record that passed the door, every warning."""
    notify: Sink[Any] | None = None
    """Takes warnings and event-time ``datetime`` ticks, in event-time order, unkeyed."""
    warnings_topic: Sink[Any] | None = None
    """A second home for warnings (the Kafka warnings topic), keyed by customer."""
    deadletter_topic: Sink[Any] | None = None
    """A second home for dead letters (the Kafka dead-letter topic), keyed by feed."""
    news_readings: Sink[Any] | None = None
    """Every news item's match, reading and story (`detectors.news.records.NewsReading`)."""
    news_review: Sink[Any] | None = None
    """News items held for an analyst (`detectors.news.records.ReviewItem`)."""
    model_choices: Sink[Any] | None = None
    """Every choice of champion and what it compared (`detectors.models.learner.ModelChoice`)."""


@dataclass(frozen=True)
class StageSpec:
    """How to run one step: its senders and destinations, and its core step, per key."""

    senders: Callable[[str], tuple[str, ...]]
    destinations: Callable[[str], tuple[str, ...]]
    build: Callable[[str], Stage]
    durable: bool
    redate: bool = False
    """Whether the step's inbox puts late arrivals from idle inputs on the next day."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Outputs of one kind from one call of a step (one bytewax item for many records)."""

    kind: type
    items: list[Any]


@dataclass
class StageState:
    """What one key of a step holds (and what recovery snapshots)."""

    key: str
    stage: Stage
    inbox: Inbox
    finished: bool = False
    """Whether the end of input was applied and nothing came since. Bytewax calls
    ``on_eof`` again on a state resumed from a snapshot taken after the end (a finished or
    nearly finished run started again): its final outputs, the watchlist among them, are
    already written, so they must not be written twice."""
    stopped: bool = False
    """Whether a run of this state was stopped before its inputs ended (`flows.stop`)."""


@dataclass(frozen=True, slots=True)
class Stopped:
    """The first step's key ``key`` stopped with its days complete through ``day``, or
    (``ended``) reached the end of its inputs, on ``day``, after an earlier stop: the audit
    log records it, so that a replay stops where the run stopped (`flows.replay`)."""

    key: str
    day: int
    ended: bool = False


class StageLogic(StatefulBatchLogic):
    """One key of a step: chunks in; chunks for the next steps and outputs out."""

    def __init__(self, spec: StageSpec, resume: StageState | None) -> None:
        self.spec = spec
        self.state = resume
        if resume is not None:  # (the source may have gained inputs since the snapshot)
            resume.inbox.add_senders(spec.senders(resume.key))
            resume.inbox.stopped = False  # (the stop was the last run's)

    def on_batch(self, values: list[Chunk]) -> tuple[list[Any], bool]:
        if self.state is None:
            key = values[0].to
            self.state = StageState(key, self.spec.build(key),
                                    Inbox(self.spec.senders(key), self.spec.redate))
        if values:
            self.state.finished = False
        for chunk in values:
            self.state.inbox.put(chunk)
        days, through = self.state.inbox.complete()
        return self._run(days, through, final=False), self.RETAIN

    def on_eof(self) -> tuple[list[Any], bool]:
        """The end of every input, or the end of a stopped run (`flows.stop`): a sender
        said it stopped, the days complete were applied already, and nothing more is; the
        next steps are told so, and the state stays as it is for a resumed run to go on
        from."""
        state = self.state
        if state is None:
            return [], self.DISCARD
        if state.finished:
            return [], self.RETAIN
        if state.inbox.stopped and not state.inbox.ended:
            state.stopped = True
            through = state.inbox.through
            told = [Chunk(state.key, to, through, stopped=True)
                    for to in self.spec.destinations(state.key)]
            return told + self._marks(Stopped(state.key, through)), self.RETAIN
        outputs = self._run(state.inbox.rest(), ENDED, final=True)
        if state.stopped:
            outputs += self._marks(Stopped(state.key, state.inbox.end, ended=True))
        state.finished = True
        return outputs, self.RETAIN

    def _marks(self, mark: Stopped) -> list[Any]:
        """The first step's record of a stop (or of an end after one), once it has days."""
        if not self.spec.redate or mark.day <= NOTHING_YET:
            return []
        return [Batch(Stopped, [mark])]

    def snapshot(self) -> StageState | None:
        # Bytewax keeps snapshots only with recovery on; then they must not change later.
        return copy.deepcopy(self.state) if self.spec.durable else self.state

    def _run(self, days: list[tuple[int, list[Any]]], through: int | None,
             final: bool) -> list[Any]:
        state = self.state
        assert state is not None
        stage = state.stage
        sends: dict[str, list[tuple[int, Any]]] = {d: [] for d in self.spec.destinations(
            state.key)}
        kinds: dict[type, list[Any]] = {}

        def take(produced: list[Any]) -> None:
            for item in produced:
                if isinstance(item, Send):
                    sends[item.to].append((item.day, item.item))
                else:
                    kinds.setdefault(type(item), []).append(item)

        end = state.inbox.end
        ended = through is not None and through >= ENDED
        for day, items in days:
            take(stage.advance(day - 1))
            if self.spec.redate and ended and day > end:  # the first step: see its method
                take(cast(EventIds, stage).after_the_inputs(day, items, end))
            else:
                take(stage.day(day, items))
        if through is not None:  # once every input ended, month ends stop at their end
            take(stage.advance(min(through, end) if through >= ENDED else through))
        if final:
            take(stage.finish())
        outputs: list[Any] = [Batch(kind, items) for kind, items in kinds.items()]
        if through is None:
            return outputs
        return outputs + [Chunk(state.key, to, through, items, end if through >= ENDED
                                else NOTHING_YET) for to, items in sends.items()]


def _step(step_id: str, up: Stream[Any], spec: StageSpec) -> tuple[Stream[Any], Stream[Any]]:
    """A stateful step over chunks keyed by their destination; its chunks and its outputs."""
    keyed = op.map(f"{step_id}_keyed", up, lambda chunk: (chunk.to, chunk))
    out = op.map(f"{step_id}_out", op.stateful_batch(
        step_id, keyed, lambda resume: StageLogic(spec, resume)), lambda kv: kv[1])
    split = op.branch(f"{step_id}_split", out, lambda item: isinstance(item, Chunk))
    return split.trues, split.falses


def _to(name: str) -> Callable[[Chunk], bool]:
    return lambda chunk: chunk.to == name


def lineage_of(settings: Settings) -> dict[str, str]:
    """What decided a warning: the configuration's digest and the program's version."""
    return {"config_digest": config_digest(settings), "program_version": program_version()}


def feed_source(settings: Settings, feeds: Feeds, topology: Topology) -> FeedSource:
    d = settings.detectors

    def clock() -> FeedClock:
        return FeedClock(d.read_ahead, d.allowed_lateness_days, d.max_gap_days)

    return FeedSource(feeds, topology.ids_of, topology.id_keys, clock,
                      settings.engine.idle_input_seconds, RUN)


def build_flow(settings: Settings, feeds: Feeds, outputs: Outputs,
               topology: Topology) -> Dataflow:
    """The monitor over ``feeds`` on ``topology``'s keys, writing to ``outputs``."""
    durable = settings.recovery.directory is not None
    buckets = topology.bucket_keys
    id_keys = topology.id_keys
    source = feed_source(settings, feeds, topology)
    inputs = tuple(name for p in feeds.partitions() for name in feeds.input_names(p))
    book_settings = BookSettings.from_settings(settings)
    desk_settings = DeskSettings.from_settings(settings)
    lineage = lineage_of(settings)
    initial = Learner(settings.model, settings.horizon_months).initial()
    ordered = outputs.notify is not None or outputs.audit is not None
    """Whether the desks' warnings go through the one step that orders each day's warnings
    (`AlertFeed`): the notifier's groups and the audit log's warnings partition must not
    depend on the order warnings arrive in from the desks' workers."""
    news_directory = directory_builder(settings, topology.bucket_of)

    def spec(senders: Callable[[str], tuple[str, ...]],
             destinations: Callable[[str], tuple[str, ...]],
             build: Callable[[str], Stage]) -> StageSpec:
        return StageSpec(senders, destinations, build, durable)

    flow = Dataflow("creditradar")
    items = op.input("feeds", flow, source)
    split = op.branch("split_source", items, lambda item: isinstance(item, tuple))
    chunks = op.map("source_chunks", split.trues, lambda kv: kv[1])
    source_out = op.map("source_out", split.falses, lambda item: Batch(type(item), [item]))

    id_chunks, id_out = _step("ids", chunks, StageSpec(
        lambda _: inputs, lambda _: (*buckets, DIRECTORY),
        lambda key: EventIds(key, settings.detectors.event_id_memory_days, topology.bucket_of,
                             settings.detectors.allowed_lateness_days, buckets),
        durable, redate=True))
    to_directory = op.filter("to_directory", id_chunks, _to(DIRECTORY))
    to_books = op.filter("to_books", id_chunks, lambda c: c.to != DIRECTORY)
    named, directory_out = _step("directory", to_directory, spec(
        lambda _: id_keys, lambda _: buckets, lambda _: news_directory()))
    book_chunks, book_out = _step("books", op.merge("book_in", to_books, named), spec(
        lambda _: (*id_keys, DIRECTORY), lambda key: (key, LEARNER),
        lambda key: CustomerBook(key, book_settings)))
    to_learner = op.filter("to_learner", book_chunks, _to(LEARNER))
    to_scorers = op.filter("to_scorers", book_chunks, lambda c: c.to != LEARNER)
    models, learner_out = _step("learner", to_learner, spec(
        lambda _: buckets, lambda _: buckets,
        lambda _: LearnerStage(Learner(settings.model, settings.horizon_months), buckets)))
    scored, _ = _step("scorers", op.merge("scorer_in", to_scorers, models), spec(
        lambda key: (key, LEARNER), lambda key: (RANKER, key),
        lambda key: Scorer(key, initial, settings.policy.grade_bounds,
                           settings.policy.warn_from_grade)))
    to_ranker = op.filter("to_ranker", scored, _to(RANKER))
    to_desks = op.filter("to_desks", scored, lambda c: c.to != RANKER)
    ranks, _ = _step("ranker", to_ranker, spec(
        lambda _: buckets, lambda _: buckets, lambda _: Ranker()))
    desk_chunks, desk_out = _step("desks", op.merge("desk_in", to_desks, ranks), spec(
        lambda key: (key, RANKER), lambda _: (ALERTS,) if ordered else (),
        lambda key: WarningDesk(key, desk_settings, lineage, score_rows=outputs.scores
                                is not None, ordered=ordered)))

    out = op.merge("outputs", source_out, id_out, directory_out, book_out, learner_out,
                   desk_out)
    notices = None
    if ordered:
        _, notices = _step("alerts", desk_chunks, spec(
            lambda _: buckets, lambda _: (), lambda _: AlertFeed()))
    _write(out, outputs, notices)
    if outputs.notify is not None and notices is not None:
        op.output("notify_out", op.flat_map("alert_items", notices, lambda batch: [
            item for day in batch.items for item in day.in_order()]), outputs.notify)
    return flow


def _write(out: Stream[Any], outputs: Outputs, notices: Stream[Any] | None) -> None:
    """Each kind of output to its sink (batches of one kind; sinks of many records take the
    batches whole, the others one record at a time); the audit log's warnings come from
    ``notices``, each day's in one order."""
    def kind(name: str, *kinds: type) -> Stream[Any]:
        return op.map(f"{name}_items", op.filter(f"is_{name}", out, lambda b: b.kind in kinds),
                      lambda b: b.items)

    def records(name: str, *kinds: type) -> Stream[Any]:
        return op.flat_map(f"{name}_records", kind(name, *kinds), lambda items: items)

    dead = op.key_on("key_dead", op.map("log_dead", records("dead", DeadLetter), _logged),
                     lambda d: d.feed)
    op.output("deadletter_out", dead, outputs.deadletter)
    if outputs.deadletter_topic is not None:
        op.output("deadletter_topic_out", dead, outputs.deadletter_topic)
    warnings = records("warning", Warning)
    keyed = op.key_on("key_warnings", warnings, lambda w: w.customer_id)
    op.output("warnings_out", keyed, outputs.warnings)
    if outputs.warnings_topic is not None:
        op.output("warnings_topic_out", keyed, outputs.warnings_topic)
    if outputs.scores is not None:
        op.output("scores_out", op.key_on("key_scores", kind("score", ScoreRow),
                                          lambda _: "scores"), outputs.scores)
    if outputs.watchlist is not None:
        op.output("watchlist_out", op.key_on("key_latest", kind("latest", Latest),
                                             lambda _: "watchlist"), outputs.watchlist)
    if outputs.overdue is not None:
        op.output("overdue_out", op.key_on("key_overdue", kind("overdue", OverdueInvoice),
                                           lambda _: "overdue"), outputs.overdue)
    if outputs.model_choices is not None:
        op.output("model_choices_out", op.key_on(
            "key_model_choices", kind("model_choices", ModelChoice), lambda _: "models"),
            outputs.model_choices)
    if outputs.stats is not None:
        op.output("stats_out", op.key_on("key_stats", kind("stats", ReadCount, Accepted),
                                         lambda _: "stats"), outputs.stats)
    for name, sink, kinds in (("news_readings", outputs.news_readings, NewsReading),
                              ("news_review", outputs.news_review, ReviewItem)):
        if sink is not None:
            op.output(f"{name}_out", op.key_on(f"key_{name}", kind(name, kinds),
                                               lambda _: "news"), sink)
    if outputs.audit is not None:
        if notices is None:
            raise ValueError("the audit log's warnings come through the step that orders them")
        seen = op.map("audit_inputs", kind("seen", Seen), audit_inputs)
        stops = op.flat_map("audit_stops", kind("stops", Stopped), lambda stops: [
            audit_stop(stop) for stop in stops])
        logged = op.flat_map("audit_warnings", notices, lambda batch: [
            audit_warning(warning) for day in batch.items for warning in day.warnings])
        op.output("audit_out", op.merge("audit_in", seen, stops, logged), outputs.audit)


def _logged(dead: DeadLetter) -> DeadLetter:
    log.info("event.rejected", feed=dead.feed, reason=dead.reason, event_id=dead.event_id,
             customer_id=dead.customer_id)
    return dead


def audit_inputs(seen: list[Seen]) -> tuple[str, list[AuditEntry]]:
    """Records that passed the door, for their id step's audit partition."""
    entries = []
    for record in seen:
        envelope = record.envelope
        event = envelope.event
        body = input_body(event.FEED, envelope.raw.decode("utf-8"), envelope.origin,
                          envelope.day)
        entries.append(AuditEntry(INPUT, f"{event.FEED}:{event.event_id}",
                                  to_rfc3339(event.at), body))
    return seen[0].key, entries


def audit_stop(stop: Stopped) -> tuple[str, AuditEntry]:
    """A stop (its day: the last the run completed) or an end after one, for the id step's
    audit partition."""
    kind = END if stop.ended else STOP
    return stop.key, AuditEntry(kind, f"{kind}:{stop.key}", to_rfc3339(stop.day * DAY),
                                {"through": stop.day})


def audit_warning(warning: Warning) -> tuple[str, Any]:
    return WARNINGS_PARTITION, AuditEntry(WARNING, warning.warning_id, warning.event_time,
                                          warning.model_dump(mode="json"))
