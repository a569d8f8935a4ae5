"""Which customer a news item is about: identifiers first, then names, with a confidence.

The decision rule, in order:

1. **Identifiers.** An LEI, registry number or VAT id on the item that exactly one customer
   carries decides (method ``lei``/``registry_id``/``vat_id``, confidence 1). A customer that
   carries another value of a kind the item gives is a different company and is never a
   candidate by name.
2. **Names**, as `detectors.names.parse_name` reduces them (legal form mapped to one code):
   the same core as a customer's name or alias (``name``, ``alias``, or ``correction`` for a
   name an analyst taught); for Chinese names also an in-order short form of the trade name
   (``short_name``); for a Latin spelling of a Chinese name its pinyin (``pinyin``); else a
   close spelling (``fuzzy``, rapidfuzz's normalised Levenshtein ratio, cores of at least
   five characters with the same digits). A legal form that differs from the customer's
   (`detectors.news.legalforms.compatible`) or a different region means another company.
3. **Decision.** The best candidate is a match when its confidence reaches ``match_at`` and
   no other customer comes within ``margin`` of it; a candidate between ``review_at`` and
   ``match_at``, or two close candidates, sends the item for review; nothing at all (or only
   companies excluded by form, region or identifier) leaves it unknown.

Every decision depends only on the customers registered so far, in the order given, so a
resolver fed the same master data answers the same way on any machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from detectors.names import Name, parse_name
from detectors.news.chinese import is_short_form
from detectors.news.identifiers import KINDS
from detectors.news.legalforms import compatible
from detectors.news.pinyin import spellings

MATCH, REVIEW, UNKNOWN, AMBIGUOUS = "match", "review", "unknown", "ambiguous"
FUZZY_MIN_LENGTH = 5
"""Cores shorter than this (initials, bare stems) are matched exactly or not at all."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Confidence a match needs, confidence below which nothing is a candidate, and the
    lead the best candidate needs over any other customer."""

    match_at: float = 0.90
    review_at: float = 0.75
    margin: float = 0.03


@dataclass(frozen=True, slots=True)
class Candidate:
    """A customer an item may be about, by which name, how, and how confidently."""

    customer_id: str
    name: str
    method: str
    confidence: float

    def to_json(self) -> dict[str, object]:
        return {"customer_id": self.customer_id, "name": self.name, "method": self.method,
                "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the resolver decided: ``outcome`` is match, review, ambiguous or unknown."""

    outcome: str
    candidates: tuple[Candidate, ...]
    detail: str

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One name of a customer; ``form`` and ``region`` are the customer's where the name
    itself has none (an alias "Hollis Metalworks" of a GmbH is still a GmbH)."""

    customer_id: str
    text: str
    name: Name
    method: str
    form: str | None
    region: str | None


@dataclass(slots=True)
class _Customer:
    entries: tuple[_Entry, ...] = ()
    ids: dict[str, str] = field(default_factory=dict)


class EntityResolver:
    """Customers' names and identifiers, and the rule that picks one for a news item.

    >>> resolver = EntityResolver()
    >>> resolver.register("c1", "Hollis Metalworks GmbH", (), ())
    >>> resolver.register("c2", "上海华美精密机械股份有限公司", ("华美精密",), ())
    >>> [resolver.resolve(n, ()).outcome for n in ("Holis Metalworks GmbH",
    ...     "Hollis Metalworks Gesellschaft mit beschränkter Haftung", "Hollis Metalworks AG")]
    ['match', 'match', 'unknown']
    >>> best = resolver.resolve("华美精密机械", ()).best
    >>> best.customer_id, best.method
    ('c2', 'name')
    """

    def __init__(self, thresholds: Thresholds = Thresholds()) -> None:
        self.thresholds = thresholds
        self._customers: dict[str, _Customer] = {}
        self._by_core: dict[str, list[_Entry]] = {}
        self._by_first: dict[str, list[_Entry]] = {}
        """Chinese entries by the first character of their core (short names keep it)."""
        self._by_spelling: tuple[dict[str, list[_Entry]], dict[str, list[_Entry]]] | None = None
        """Chinese entries by the pinyin of their core (and region and core), and by that of
        their trade name: built when a Latin name first needs them, rebuilt after names
        change (a run without Latin spellings of Chinese names never reads pinyin)."""
        self._by_id: dict[tuple[str, str], set[str]] = {}
        self._taught: dict[str, tuple[str, ...]] = {}
        """Names analysts attached to customers, kept across master-data updates."""
        self._choices: list[str] | None = None
        """Latin cores long enough for fuzzy matching (rebuilt after names change)."""
        self._by_word: dict[str, list[str]] | None = None
        """Those cores by each of their words (rebuilt with them)."""

    # -- master data --------------------------------------------------------------------------

    def register(self, customer_id: str, name: str, aliases: Iterable[str],
                 ids: Iterable[tuple[str, str]]) -> None:
        """A customer's current name, aliases and identifiers (replacing what it had)."""
        customer = self._customers.get(customer_id)
        if customer is None:
            customer = self._customers[customer_id] = _Customer()
        main = parse_name(name)
        names = [(name, "name"), *((a, "alias") for a in aliases),
                 *((t, "correction") for t in self._taught.get(customer_id, ()))]
        entries = tuple(self._entry(customer_id, text, method, main) for text, method in names)
        self._set_entries(customer, tuple(e for e in entries if e.name.core))
        self._set_ids(customer_id, customer, dict(ids))

    def teach(self, company_name: str, customer_id: str) -> None:
        """An analyst's word that ``company_name`` is ``customer_id`` (a correction)."""
        taught = self._taught.get(customer_id, ())
        if company_name in taught:
            return
        self._taught[customer_id] = (*taught, company_name)
        customer = self._customers.get(customer_id)
        if customer is not None and customer.entries:
            entry = self._entry(customer_id, company_name, "correction",
                                customer.entries[0].name)
            if entry.name.core:
                self._set_entries(customer, (*customer.entries, entry))

    @staticmethod
    def _entry(customer_id: str, text: str, method: str, main: Name) -> _Entry:
        name = parse_name(text)
        return _Entry(customer_id, text, name, method, name.form or main.form,
                      name.region or main.region)

    def _set_entries(self, customer: _Customer, entries: tuple[_Entry, ...]) -> None:
        if entries == customer.entries:
            return
        for entry in customer.entries:
            for index, key in self._keys(entry):
                index[key].remove(entry)
                if not index[key]:
                    del index[key]
        for entry in entries:
            for index, key in self._keys(entry):
                index.setdefault(key, []).append(entry)
        changed = (*customer.entries, *entries)
        customer.entries = entries
        if any(e.name.chinese is None for e in changed):
            self._choices = self._by_word = None
        if any(e.name.chinese is not None for e in changed):
            self._by_spelling = None

    def _keys(self, entry: _Entry) -> list[tuple[dict[str, list[_Entry]], str]]:
        name = entry.name
        keys = [(self._by_core, name.core)]
        if name.chinese is not None:
            keys.append((self._by_first, name.core[0]))
        return keys

    def _spelling_index(self) -> tuple[dict[str, list[_Entry]], dict[str, list[_Entry]]]:
        if self._by_spelling is None:
            whole: dict[str, list[_Entry]] = {}
            trade: dict[str, list[_Entry]] = {}
            for entries in self._by_first.values():
                for entry in entries:
                    name = entry.name
                    assert name.chinese is not None
                    texts = [name.core, *((name.region + name.core,) if name.region else ())]
                    for spelling in dict.fromkeys(s for t in texts for s in spellings(t)):
                        whole.setdefault(spelling, []).append(entry)
                    if len(name.chinese.trade) >= 2:
                        for spelling in spellings(name.chinese.trade):
                            trade.setdefault(spelling, []).append(entry)
            self._by_spelling = whole, trade
        return self._by_spelling

    def _set_ids(self, customer_id: str, customer: _Customer, ids: dict[str, str]) -> None:
        for kind, value in customer.ids.items():
            holders = self._by_id[(kind, value)]
            holders.discard(customer_id)
            if not holders:
                del self._by_id[(kind, value)]
        for kind, value in ids.items():
            self._by_id.setdefault((kind, value), set()).add(customer_id)
        customer.ids = ids

    # -- resolving ----------------------------------------------------------------------------

    def resolve(self, company_name: str | None, ids: Iterable[tuple[str, str]]) -> Resolution:
        """The customer an item naming ``company_name`` with identifiers ``ids`` is about."""
        given = dict(ids)
        for kind in KINDS:
            value = given.get(kind)
            holders = sorted(self._by_id.get((kind, value), ())) if value else []
            if len(holders) == 1:
                return Resolution(MATCH, (Candidate(holders[0], value, kind, 1.0),),  # type: ignore[arg-type]
                                  f"{kind} {value} is customer {holders[0]}'s")
            if len(holders) > 1:
                found = tuple(Candidate(h, value, kind, 1.0) for h in holders)  # type: ignore[arg-type]
                return Resolution(AMBIGUOUS, found, f"{kind} {value} is carried by "
                                  f"customers {', '.join(holders)}")
        if not company_name:
            return Resolution(UNKNOWN, (), "no identifier matches and no company_name given")
        query = parse_name(company_name)
        if not query.core:
            return Resolution(UNKNOWN, (), "company_name holds no letters or digits")
        excluded: dict[str, str] = {}
        found = self._by_names(query, given, excluded)
        return self._decide(found, excluded)

    def _by_names(self, query: Name, given: dict[str, str],
                  excluded: dict[str, str]) -> list[Candidate]:
        found: list[Candidate] = []

        def offer(entry: _Entry, method: str, confidence: float) -> None:
            reason = self._excludes(entry, query, given)
            if reason is not None:
                excluded.setdefault(entry.customer_id, reason)
            else:
                found.append(Candidate(entry.customer_id, entry.text, method, confidence))

        for entry in self._by_core.get(query.core, ()):
            offer(entry, entry.method, _exact_confidence(entry, query))
        if found:
            return found
        if query.chinese is not None:
            self._short_names(query, offer)
        else:
            self._pinyin(query, offer)
            if not found:
                self._fuzzy(query, offer)
        return found

    def _excludes(self, entry: _Entry, query: Name, given: dict[str, str]) -> str | None:
        """Why ``entry`` is another company than the one ``query`` names, if it is."""
        if not compatible(entry.form, query.form):
            return f"{entry.text} has another legal form"
        if entry.region and query.region and entry.region != query.region:
            return f"{entry.text} is registered in another region"
        held = self._customers[entry.customer_id].ids
        for kind, value in given.items():
            if kind in held and held[kind] != value:
                return f"{entry.text} has another {kind}"
        return None

    def _short_names(self, query: Name, offer) -> None:  # type: ignore[no-untyped-def]
        assert query.chinese is not None
        for entry in self._by_first.get(query.core[0], ()):
            known = entry.name.chinese
            assert known is not None
            if is_short_form(query.core, known):
                prefix = query.core.startswith(known.trade)
                offer(entry, "short_name", 0.95 if prefix and len(query.core) >= 3
                      else 0.90 if prefix else 0.85)
            elif is_short_form(known.core, query.chinese):
                offer(entry, "short_name", 0.90)

    def _pinyin(self, query: Name, offer) -> None:  # type: ignore[no-untyped-def]
        if not self._by_first:
            return
        whole, trade = self._spelling_index()
        for entry in whole.get(query.core.replace(" ", ""), ()):
            offer(entry, "pinyin", 0.92)
        words = query.core.split()
        for size in (1, 2, 3):
            if size <= len(words):
                for entry in trade.get("".join(words[:size]), ()):
                    offer(entry, "pinyin", 0.80)

    def _fuzzy(self, query: Name, offer) -> None:  # type: ignore[no-untyped-def]
        core = query.core
        if len(core) < FUZZY_MIN_LENGTH:
            return
        if self._choices is None or self._by_word is None:
            self._choices = sorted(c for c, entries in self._by_core.items()
                                   if len(c) >= FUZZY_MIN_LENGTH and entries[0].name.chinese
                                   is None)
            by_word: dict[str, list[str]] = {}
            for choice in self._choices:
                for word in set(choice.split()):
                    by_word.setdefault(word, []).append(choice)
            self._by_word = by_word
        digits = _digits(core)
        cutoff = self.thresholds.review_at * 100.0
        for choice, score, _ in process.extract(core, self._fuzzy_choices(core),
                                                scorer=fuzz.ratio, score_cutoff=cutoff,
                                                limit=8):
            if _digits(choice) != digits:
                continue
            for entry in self._by_core[choice]:
                form = 1.0 if entry.form == query.form else 0.99
                offer(entry, "fuzzy", score / 100.0 * form)

    def _fuzzy_choices(self, core: str) -> list[str]:
        """The cores worth comparing with ``core``: a slip of the keyboard leaves most words
        whole, so those sharing a word with it when it has several words (sorted, so
        the scan order is fixed); all of them for a name of one word."""
        assert self._choices is not None and self._by_word is not None
        words = core.split()
        if len(words) < 2:
            return self._choices
        shared = {c for w in words for c in self._by_word.get(w, ())}
        return sorted(shared) if shared else self._choices

    def _decide(self, found: list[Candidate], excluded: dict[str, str]) -> Resolution:
        t = self.thresholds
        best: dict[str, Candidate] = {}
        for c in found:
            held = best.get(c.customer_id)
            if held is None or (c.confidence, _rank(c)) > (held.confidence, _rank(held)):
                best[c.customer_id] = c
        ranked = tuple(sorted(best.values(), key=lambda c: (-c.confidence, c.customer_id)))
        ranked = tuple(c for c in ranked if c.confidence >= t.review_at)
        if not ranked:
            if excluded:
                why = "; ".join(f"{reason} (customer {cid})"
                                for cid, reason in sorted(excluded.items())[:3])
                return Resolution(UNKNOWN, (), f"no customer by this name: {why}")
            return Resolution(UNKNOWN, (), "company_name matches no customer name or alias "
                                           "known at its time")
        top = ranked[0]
        close = [c for c in ranked[1:] if top.confidence - c.confidence < t.margin]
        if close:
            names = ", ".join(c.customer_id for c in (top, *close))
            return Resolution(AMBIGUOUS, ranked, f"company_name fits customers {names}")
        if top.confidence >= t.match_at:
            return Resolution(MATCH, ranked, f"{top.method} match on {top.name!r}")
        return Resolution(REVIEW, ranked, f"best candidate {top.customer_id} ({top.method} "
                                          f"{top.confidence:.2f}) is below {t.match_at}")


_RANK = {"name": 0, "alias": 1, "correction": 2, "short_name": 3, "pinyin": 4, "fuzzy": 5}


def _rank(candidate: Candidate) -> int:
    return -_RANK.get(candidate.method, 9)


def _exact_confidence(entry: _Entry, query: Name) -> float:
    """Same core: certain with the same legal form, a little less with one missing."""
    base = {"name": 1.0, "alias": 0.97, "correction": 0.99}[entry.method]
    if entry.form == query.form:
        return base
    if entry.form is None or query.form is None:
        return base - 0.02
    return base - 0.04  # compatible forms written differently


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
