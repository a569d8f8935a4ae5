"""Bad input for the engine's acceptance test: a copy of a simulated book with thousands of
mutated records mixed in (`mutate_book`), and a rewrite of a book whose valid strings carry
hostile text (`hostile_book`).

The acceptance test runs the monitor on a book and on its mutated copy and expects no crash,
``read = accepted + rejected + duplicates``, exactly the baseline's records accepted, and
byte-identical warnings and scores. So every mutant must be something the monitor REJECTS
(a dead letter) or counts as a DUPLICATE; none may be a new valid record. The rules the
mutants are designed against (the new engine's rules):

- A line is parsed as JSON (a repeated key: the last value counts) and validated against
  contract v1. Invalid (``invalid_json``, ``not_utf8``, ``schema``, ``unknown_version``,
  ``too_large``): malformed JSON, NaN/Infinity literals anywhere (not JSON), a line that is
  not an object, an EMPTY OR WHITESPACE-ONLY LINE (``invalid_json``: it is read and counted,
  never skipped), invalid UTF-8, JSON nested deeper than about 200 levels, wrong types,
  missing required fields, an unknown ``type``, unknown currency or country codes,
  impossible dates (2023-02-29), timestamps without an offset, amounts that are negative,
  non-finite or above 1e15 in absolute value, ``days_past_due`` above 100000, an unknown
  ``contract_version``, a line over 1,000,000 bytes (``too_large``).
- Event ids are unique within their feed; the first record read wins. A later record with a
  seen id is a ``duplicate`` (identical bytes) or rejected ``duplicate_id`` (other bytes,
  even if it parses to the same content). Ids are compared as exact strings.
- A payments, registry or news record naming a ``customer_id`` that never appears in the
  customers feed is rejected ``unknown_customer``; news whose ``company_name`` matches no
  customer name or alias is rejected ``unknown_company``.
- A record dated more than 3660 days after what its file has reached is rejected
  ``implausible_time``; one more than 7 days behind it is rejected ``late``. So is one dated
  more than a month after every file's end, alone there (not among a quarter's worth of the
  feed's records), wherever it lies in its file: a typo'd year in a book's records.
- A UTF-8 BOM at the very start of a file is skipped and CRLF line ends are fine; a file may
  end without a final newline. None of these costs a record.
- A truncated gzip file gives the lines before the break, then one ``unreadable_file``.

How mutants are made so they cannot change results:

- Each mutant is made from one valid source line and has ONE fault (its ``reason``). Mutants
  that are not about ids get a fresh event id (``mut-<seed>-<n>``, and a fresh invoice id for
  invoices), so no id of theirs can collide with a valid record.
- A mutant goes in AFTER its source line, at a point where its file has reached at most
  `WINDOW` past the source's time: a copy (duplicate, reused id) comes after its original
  and within the lateness allowance, and no mutant dated inside the book moves any file's
  clock forward. Only the deliberate time mutants lie outside what their file has reached,
  and they lie years away (or, for ``late``, 180 days behind with at least
  `LAG_PROOF_LINES` later source lines in between, so even a lagging clock calls them late).
- Mutants never go after a file's last line, so every file still ends with a source line.
- Hostile text (NUL, RTL override, zero-width, U+2028/U+2029/U+0085, ``<script>``, ANSI
  escapes, very long strings) only goes into records rejected for another reason; valid
  records get hostile text through `hostile_book` instead, in both runs alike.
- The truncated gzip ``payments-0002.jsonl.gz`` holds only rejected mutants (no copies of
  valid payments: a copy there could win the tie against its original, as the monitor's
  total order breaks ties by file name, and ``payments-0002.jsonl.gz`` sorts before
  ``payments.jsonl``). It is cut right after a full flush, so exactly its lines up to the
  cut decompress, then the stream ends.

The kinds (`KINDS`, one small function each): wrong_type, missing_field, unknown_type,
unknown_code, impossible_date, no_offset, negative_amount, nan_amount, nan_literal,
huge_number, duplicate_key, deep_nesting, invalid_utf8, lone_surrogate, not_object,
blank_line, broken_json, unknown_version, huge_line, unknown_customer, unknown_company,
hostile_text, reused_id, exact_duplicate, far_future, after_the_book, ancient, late; with
the default count each comes 109-113 times, except huge_line (12: one of 10 MB, the rest
just over 1 MB), plus the gzip file's 40 lines (drawn from the contract kinds and
unknown_customer) and its one ``truncated_gzip`` tail.

How the manifest counts: one `Mutant` per line the monitor reads beyond the source book:
every inserted line (file, 1-based line number in dst, kind, expected outcome, reason), each
readable line of the gzip file, and ONE entry for the gzip's broken tail (kind
``truncated_gzip``, outcome ``rejected``, reason ``unreadable_file``, line = the number of
its readable lines + 1). So ``read(dst) = read(src) + manifest.added`` and
``manifest.added = manifest.rejected + manifest.duplicates = count``. File framing (BOM,
CRLF, no final newline) is listed in ``manifest.framing`` and adds no line. ``reason`` is
the rule a mutant breaks; where two rules could name a record (a year-1999 date is
``late`` here, ``implausible_time`` to an engine that measures both ways), only the outcome
is certain.

>>> _dumps({"a": Raw(b"NaN"), "b": "\\u2028"}) == b'{"a":NaN,"b":"\\xe2\\x80\\xa8"}'
True
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["CONTRACT_REASONS", "GZIP_NAME", "KINDS", "Manifest", "Mutant",
           "event_time_seconds", "hostile_book", "mutate_book"]

DAY = 86_400
WINDOW = 6 * DAY
"""A mutant goes where its file has reached at most this far past its source line's time."""
LATE_BY = 180 * DAY
LAG_PROOF_LINES = 128
"""Source lines a ``late`` mutant needs between its time (+8 days) and where it goes."""
FUTURE_BY = 5000 * DAY
GZIP_NAME = "payments-0002.jsonl.gz"
GZIP_LINES = 40
HUGE_LINES = 12
HUGE_BYTES = 10_000_000
MAX_RECORD_BYTES = 1_000_000
FRAMING = {"customers.jsonl": ("bom",), "news.jsonl": ("bom", "crlf"),
           "registry.jsonl": ("crlf",), "payments.jsonl": ("no_final_newline",)}
"""Format changes that must cost no record: a BOM before the first customer, CRLF lines."""
CONTRACT_REASONS = frozenset(("invalid_json", "not_utf8", "schema", "unknown_version",
                              "too_large"))
"""Reasons found from a line alone (what `connectors.contracts.parse_record` decides)."""
FEEDS = ("customers", "payments", "news", "registry")
BOM = b"\xef\xbb\xbf"

Made = tuple[bytes, str]
"""A mutant line (without its line end) and the reason it must be rejected for."""


class Raw:
    """JSON text put verbatim into `_dumps` output (NaN, 1e400, invalid UTF-8, ...)."""

    def __init__(self, text: bytes) -> None:
        self.text = text


def _dumps(obj: Any) -> bytes:
    """Compact JSON with non-ASCII kept raw (U+2028 stays a raw byte sequence) and `Raw`
    values spliced in as they are."""
    raws: list[bytes] = []

    def mark(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(f"cannot serialise {type(value).__name__}")
        raws.append(value.text)
        return f"\ue000{len(raws) - 1}\ue000"

    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=mark).encode()
    for i, raw in enumerate(raws):
        text = text.replace(f'"\ue000{i}\ue000"'.encode(), raw)
    return text


def event_time_seconds(text: str) -> int:
    """An event time (a date, or RFC 3339 with an offset) in seconds since the epoch."""
    if len(text) == 10:
        return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
                   .timestamp())
    return int(datetime.fromisoformat(text).timestamp())


def _time_like(original: str, seconds: int) -> str:
    """``seconds`` written as a date or a UTC timestamp, whichever ``original`` is."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.date().isoformat() if len(original) == 10 else f"{moment:%Y-%m-%dT%H:%M:%SZ}"


# ---------------------------------------------------------------------------- the book


@dataclass(slots=True)
class FeedFile:
    """One source feed file: its lines, their event times, and the mutants to insert."""

    name: str
    feed: str
    lines: list[bytes]
    times: list[int]
    reached: list[int]
    """The latest event time among lines up to each one (what the file has reached)."""
    inserts: dict[int, list[tuple[bytes, str, str]]] = field(default_factory=dict)
    """Gap p (before source line p) -> (line, kind, reason) to insert there."""

    def gap_for(self, index: int, rng: random.Random) -> int | None:
        """A random gap after line ``index`` where the file has reached at most `WINDOW`
        past that line's time, never after the last line; None if there is none."""
        last = min(bisect_right(self.reached, self.times[index] + WINDOW), len(self.lines) - 1)
        return rng.randint(index + 1, last) if last >= index + 1 else None


@dataclass(slots=True)
class Book:
    """What the generator knows of the source book."""

    seed: int
    files: list[FeedFile]
    customers: list[str]
    known_customers: frozenset[str]
    name_tokens: frozenset[str]
    made: int = 0
    made_huge: bool = False

    def fresh_id(self) -> str:
        self.made += 1
        return f"mut-{self.seed}-{self.made:05d}"


def _feed_of(name: str) -> str | None:
    stem = name.removesuffix(".jsonl")
    feed = stem.split("-", 1)[0]
    return feed if name.endswith(".jsonl") and feed in FEEDS else None


def _read_file(path: Path, feed: str) -> FeedFile:
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    times = [event_time_seconds(json.loads(line)["event_time"]) for line in lines]
    reached, top = [], -(1 << 62)
    for moment in times:
        top = max(top, moment)
        reached.append(top)
    return FeedFile(path.name, feed, lines, times, reached)


def _tokens(name: str) -> set[str]:
    """Every word a name could be matched by (ASCII-folded, lower case, split on the rest)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return set(re.split(r"[^a-z0-9]+", folded)) - {""}


def _read_book(src: Path, seed: int) -> Book:
    files = [_read_file(p, feed) for p in sorted(src.iterdir())
             if (feed := _feed_of(p.name)) is not None]
    ids: set[str] = set()
    tokens: set[str] = set()
    for line in (ln for f in files if f.feed == "customers" for ln in f.lines):
        record = json.loads(line)
        ids.add(record["customer_id"])
        for name in (record["name"], *record.get("aliases", ())):
            tokens |= _tokens(name)
    return Book(seed, files, sorted(ids), frozenset(ids), frozenset(tokens))


# ---------------------------------------------------------------------------- one pick


@dataclass(slots=True)
class Pick:
    """One source line a mutant is made from."""

    file: FeedFile
    index: int
    book: Book
    rng: random.Random

    @property
    def raw(self) -> bytes:
        return self.file.lines[self.index]

    @property
    def time(self) -> int:
        return self.file.times[self.index]

    def record(self) -> dict[str, Any]:
        """The source record, a fresh copy to change."""
        return json.loads(self.raw)

    def fresh(self) -> dict[str, Any]:
        """The source record under a fresh event id (and invoice id, for an invoice)."""
        record = self.record()
        record["event_id"] = self.book.fresh_id()
        if record.get("type") == "invoice":
            record["invoice_id"] = f"MUT-INV-{record['event_id']}"
        return record

    def choice(self, options: Any) -> Any:
        return self.rng.choice(list(options))


def _number_paths(record: dict[str, Any]) -> list[tuple[str, ...]]:
    """Where the record carries numbers the contract checks (amounts, dpd, sentiment)."""
    paths = [(k,) for k in NUMBERS if k in record]
    return paths + [("financials", k) for k in record.get("financials", {})]


def _amount_paths(record: dict[str, Any]) -> list[tuple[str, ...]]:
    """Where the record carries amounts that must not be negative."""
    paths = [(k,) for k in AMOUNTS if k in record]
    return paths + [("financials", k) for k in record.get("financials", {}) if k in AMOUNTS]


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


def _unknown_customer(pick: Pick) -> str:
    """A customer id the customers feed never names (some look much like one that it does)."""
    real = pick.choice(pick.book.customers)
    options = [f"X{pick.rng.randrange(10**6):06d}", real.lower(), f" {real}", f"{real} ",
               real + "0", "".join(chr(ord(c) + 0xFEE0) for c in real), "", "unknown"]
    found = pick.choice(options)
    return found if found and found not in pick.book.known_customers else f"ZZ-{pick.index}"


def _unknown_company(pick: Pick) -> str:
    """A company name none of whose words is a word of any customer name or alias."""
    words: list[str] = []
    wanted = pick.rng.randint(2, 3)
    while len(words) < wanted:
        word = "".join(pick.choice("bcdfghjklmnpqrstvwxz") + pick.choice("aeiouy")
                       for _ in range(pick.rng.randint(3, 4)))
        if word not in pick.book.name_tokens:
            words.append(word)
    name = " ".join(w.capitalize() for w in words)
    return pick.choice((name, f"{name} GmbH", f"{name} Ltd.", f"{name} S.A.", "\u200b", "!!!"))


def _other_content(pick: Pick) -> bytes:
    """The source record under its own id with other content (still contract-valid)."""
    record = pick.record()
    amounts = [p[0] for p in _amount_paths(record) if len(p) == 1 and isinstance(
        record[p[0]], str)]
    if amounts and pick.rng.random() < 0.4:
        key = pick.choice(amounts)
        record[key] = f"{Decimal(record[key]) + 1:.2f}"
    elif "customer_id" in record and pick.rng.random() < 0.3:
        record["customer_id"] = pick.choice(c for c in pick.book.customers
                                            if c != record["customer_id"])
    elif pick.rng.random() < 0.5:
        spaced = pick.raw.replace(b'","', b'",' + pick.choice((b" ", b"\t", b"\r")) + b'"', 1)
        if spaced != pick.raw:
            return spaced
        record["note"] = "other content"
    else:
        record["note"] = pick.choice(HOSTILE)
    return _dumps(record)


# ---------------------------------------------------------------------------- the kinds
# Each takes a pick and returns (line, reason), or None when the source line does not fit.

PAID = ("payment", "credit_note", "write_off")
"""Ledger types that settle an invoice: with an unknown customer, the invoice is unknown too."""
NUMBERS = ("amount", "outstanding", "overdue", "credit_limit", "paid_in_period",
           "insured_limit", "days_past_due", "sentiment", "delta")
AMOUNTS = ("amount", "overdue", "credit_limit", "paid_in_period",
           "insured_limit", "total_assets", "total_liabilities", "current_assets",
           "current_liabilities", "short_term_liabilities", "inventory", "receivables")
WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    "event_id": (12345, ["x"], True), "event_time": (1609459200, ["2021-01-01"], True),
    "customer_id": (15, ["C1"], True), "name": (42, ["x"]), "company_name": (42, ["x"]),
    "type": (1, ["invoice"], True), "invoice_id": (1, True), "days_past_due": ("30", 30.5, True),
    "currency": (978, ["EUR"], True), "country": (528, ["NL"]), "industry": (1, ["x"]),
    "issue_date": (20210101, True), "due_date": (20210101, ["2021-01-01"]),
    "period_end": (20201231, True), "tags": ("sme", [1], {"a": "b"}), "aliases": ("x", [1]),
    "headline": (1, ["x"], True), "source": (1, ["x"]), "url": (1,), "language": (1,),
    "categories": ("lawsuit", [1]), "sentiment": ("0.3", True, [0.1]),
    "status": (1, True, ["active"]), "financials": ("x", [1], 5), "change": (1, True),
    "agency": (1, ["x"]), "to": (1,), "from": (1,), "kind": (1,), "role": (1,),
    **{k: (True, False, [1], {"value": "1.00"}) for k in ("delta", "outstanding", *AMOUNTS)},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "name"), "news": ("headline", "source"),
    "invoice": ("customer_id", "type", "invoice_id", "amount", "currency", "issue_date",
                "due_date"),
    **{t: ("customer_id", "type", "invoice_id", "amount", "currency")
       for t in ("payment", "credit_note", "write_off")},
    "tradeline": ("customer_id", "type", "days_past_due", "currency"),
    "status_change": ("customer_id", "type", "status"),
    "accounts_filed": ("customer_id", "type", "period_end"),
    "accounts_overdue": ("customer_id", "type", "period_end"),
    "director_change": ("customer_id", "type", "change"),
    "capital_change": ("customer_id", "type", "delta", "currency"),
    "court_judgment": ("customer_id", "type", "amount", "currency"),
    "rating_change": ("customer_id", "type", "agency", "to"),
}
BAD_DATES = ("2023-02-29", "2021-02-30", "2021-13-01", "2021-04-31", "2021-00-10",
             "0000-01-01", "2021-6-5", "15/06/2021")
BAD_TIMES = (*BAD_DATES, "2021-06-15T25:00:00Z", "2021-06-15T12:60:00Z",
             "2021-06-15T12:00:00+25:00", "9999-12-31T23:59:59-01:00", "2021-06-15Z")
HUGE = (b"9e307", b"1e400", b"-1e400", b'"1e16"', b"10000000000000000", b"1500000000000000.5",
        b'"9e307"', b"1000000000000000000000000000000", b"1.7976931348623157e308")
NAN = (b"NaN", b"Infinity", b"-Infinity", b'"NaN"', b'"Infinity"', b'"nan"', b'"inf"',
       b'"-Infinity"')
NEGATIVE = ("-0.01", "-1", -1, "-100.00", -0.5, "-1e3")
BAD_UTF8 = (b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"M\xfcller", b"\xe2\x82")
SURROGATES = (b"\\ud800", b"\\udfff", b"\\ud83d", b"\\udc00\\ud800")
HOSTILE = ("\u0000", "a\u202eb", "\u200b", "x\u2028y", "x\u2029y", "x\u0085y", "\ufeff",
           "<script>alert(1)</script>", "\u001b[31mred\u001b[0m", "\u001b]0;title\u0007",
           "' OR 1=1 --", "=cmd|'/C calc'!A0", "${jndi:ldap://x/a}", "%s%n{0}", "a\r\nb")


def wrong_type(pick: Pick) -> Made | None:
    """A declared field holding a value of the wrong JSON type ("30" for days_past_due)."""
    record = pick.fresh()
    fields = [k for k in record if k in WRONG_TYPES]
    key = pick.choice(fields)
    record[key] = pick.choice(WRONG_TYPES[key])
    return _dumps(record), "schema"


def missing_field(pick: Pick) -> Made | None:
    """A required field left out, or null, or nothing at all (``{}``)."""
    record = pick.fresh()
    required = ["event_id", "event_time", *REQUIRED[record.get("type", pick.file.feed)]]
    if pick.file.feed == "news":
        required += [k for k in ("customer_id", "company_name") if k in record]
    key = pick.choice(required)
    way = pick.rng.random()
    if way < 0.1:
        return b"{}", "schema"
    if way < 0.4:
        record[key] = None
    else:
        del record[key]
    return _dumps(record), "schema"


def unknown_type(pick: Pick) -> Made | None:
    """A ``type`` the feed does not have ("refund", "INVOICE", "invoice ")."""
    record = pick.fresh()
    record["type"] = pick.choice(("refund", "INVOICE", "invoice ", "", "Tradeline",
                                  "status-change", "invoice\u0000", "payment\u200b"))
    return _dumps(record), "schema"


def unknown_code(pick: Pick) -> Made | None:
    """A currency or country code ISO does not have ("XXY", "eur", "UK")."""
    record = pick.fresh()
    keys = [k for k in ("currency", "country") if k in record]
    if not keys:
        return None
    key = pick.choice(keys)
    record[key] = pick.choice(("XXY", "eur", "EURO", "\u20ac", "", "XBT") if key == "currency"
                              else ("XX", "nl", "NLD", "UK", "", "ZZ"))
    return _dumps(record), "schema"


def impossible_date(pick: Pick) -> Made | None:
    """A date or time that does not exist (2023-02-29, 25:00, an offset UTC cannot hold)."""
    record = pick.fresh()
    dates = [k for k in ("issue_date", "due_date", "period_end") if k in record]
    if record.get("type") == "invoice" and pick.rng.random() < 0.15:
        record["due_date"] = "2000-01-01"  # due before issued
    elif dates and pick.rng.random() < 0.3:
        record[pick.choice(dates)] = pick.choice(BAD_DATES)
    else:
        record["event_time"] = pick.choice(BAD_TIMES)
    return _dumps(record), "schema"


def no_offset(pick: Pick) -> Made | None:
    """A timestamp without an offset (whose instant nobody knows)."""
    record = pick.fresh()
    day = record["event_time"][:10]
    record["event_time"] = day + pick.choice(("T12:00:00", " 12:00:00", "T12:00",
                                              "T12:00:00.5"))
    return _dumps(record), "schema"


def negative_amount(pick: Pick) -> Made | None:
    """An amount below zero."""
    record = pick.fresh()
    paths = _amount_paths(record)
    if not paths:
        return None
    return _dumps(_set(record, pick.choice(paths), pick.choice(NEGATIVE))), "schema"


def nan_amount(pick: Pick) -> Made | None:
    """NaN or Infinity, as a literal or a string, where a number is checked."""
    record = pick.fresh()
    paths = _number_paths(record)
    if not paths:
        return None
    return _dumps(_set(record, pick.choice(paths), Raw(pick.choice(NAN)))), "schema"


def nan_literal(pick: Pick) -> Made | None:
    """A NaN/Infinity literal in an ignored extra field: not JSON, so not a record."""
    record = pick.fresh()
    record[pick.choice(("score", "x", "ratio"))] = Raw(pick.choice(NAN[:3]))
    return _dumps(record), "invalid_json"


def huge_number(pick: Pick) -> Made | None:
    """A number too big to be an amount (9e307, 1e400, "1e16") or days_past_due > 100000."""
    record = pick.fresh()
    paths = _number_paths(record)
    if not paths:
        return None
    path = pick.choice(paths)
    value = pick.choice(HUGE + ((b"100001",) if path == ("days_past_due",) else ()))
    return _dumps(_set(record, path, Raw(value))), "schema"


def duplicate_key(pick: Pick) -> Made | None:
    """A key given twice: the last value is invalid, or it turns the line into a repeat of
    its source's id (first value fresh, last the source's)."""
    way = pick.rng.randrange(4)
    if way == 0:  # the first event_id is fresh, the last is the source's
        return b'{"event_id":"' + pick.book.fresh_id().encode() + b'",' + pick.raw[1:], \
            "duplicate_id"
    if way == 1:  # a key repeated with its own value: same content, other bytes
        key, value = pick.choice(pick.record().items())
        return pick.raw[:-1] + b"," + _dumps({key: value})[1:], "duplicate_id"
    record = pick.fresh()
    body = _dumps(record)[:-1]
    if way == 2:
        return body + b',"contract_version":"1","contract_version":"2"}', "unknown_version"
    key = pick.choice(k for k in record if k in WRONG_TYPES)
    return body + b"," + _dumps({key: pick.choice(WRONG_TYPES[key])})[1:], "schema"


def deep_nesting(pick: Pick) -> Made | None:
    """An extra field nested hundreds to 100,000 levels deep."""
    depth = pick.choice((300, 1000, 10_000, 100_000))
    record = pick.fresh()
    if pick.rng.random() < 0.5:
        record["x"] = Raw(b"[" * depth + b"]" * depth)
    else:
        record["x"] = Raw(b'{"a":' * depth + b"1" + b"}" * depth)
    return _dumps(record), "invalid_json"


def invalid_utf8(pick: Pick) -> Made | None:
    """Bytes that are not UTF-8 inside a string (a lone 0xff, an overlong, Latin-1)."""
    record = pick.fresh()
    key = pick.choice(k for k, v in record.items() if isinstance(v, str))
    record[key] = Raw(_dumps(record[key])[:-1] + pick.choice(BAD_UTF8) + b'"')
    return _dumps(record), "not_utf8"


def lone_surrogate(pick: Pick) -> Made | None:
    """A ``\\ud800`` escape (no character) in a record also naming an unknown customer or
    company, so it is rejected whatever the JSON parser makes of the escape."""
    record = pick.fresh()
    if pick.file.feed == "news":
        record.pop("customer_id", None)
        record["company_name"] = _unknown_company(pick)
        record["headline"] = Raw(b'"x' + pick.choice(SURROGATES) + b'"')
    else:
        record["customer_id"] = Raw(b'"X' + pick.choice(SURROGATES) + b'"')
    return _dumps(record), "invalid_json"


def not_object(pick: Pick) -> Made | None:
    """Valid JSON that is not an object: ``[]``, ``"x"``, ``null``, the record in a list."""
    raw = pick.raw
    return pick.choice((b"[]", b'"x"', b"null", b"0", b"true", b"[1,2,3]",
                        b"[" + raw + b"]", _dumps(raw.decode()))), "invalid_json"


def blank_line(pick: Pick) -> Made | None:
    """An empty or whitespace-only line: read and counted as ``invalid_json``."""
    return pick.choice((b"", b" ", b"\t", b"  \t  ", b"\r")), "invalid_json"


def broken_json(pick: Pick) -> Made | None:
    """Malformed JSON: cut short, trailing junk, two objects, single quotes, a raw control
    character, a BOM in mid-file, comments, unquoted keys."""
    raw = _dumps(pick.fresh())
    cuts = [i for i in range(1, len(raw) - 1) if raw[i] < 0x80]
    return pick.choice((
        raw[:pick.choice(cuts)], raw + b"x", raw + raw, raw[:-1] + b",}", raw + b"\x00",
        raw.replace(b'"', b"'"), re.sub(rb'"(\w+)":', rb"\1:", raw), BOM + raw,
        raw[:-1] + b"/*c*/}", raw.replace(b'":"', b'":"\x01', 1), b"{" + raw,
    )), "invalid_json"


def unknown_version(pick: Pick) -> Made | None:
    """A ``contract_version`` other than "1"."""
    record = pick.fresh()
    version = pick.choice(("2", "0", "1.0", "v1", 2, 1, True, "", "1 "))
    if pick.rng.random() < 0.5:
        record = {"contract_version": version, **record}
    else:
        record["contract_version"] = version
    return _dumps(record), "unknown_version"


def huge_line(pick: Pick) -> Made | None:
    """A record over 1,000,000 bytes (the first one 10 MB), otherwise valid."""
    record = pick.fresh()
    size = HUGE_BYTES if not pick.book.made_huge else pick.rng.randint(1_000_100, 1_200_000)
    pick.book.made_huge = True
    record["pad"] = ""
    record["pad"] = "x" * (size - len(_dumps(record)))
    return _dumps(record), "too_large"


def unknown_customer(pick: Pick) -> Made | None:
    """A valid record of a customer the customers feed never names."""
    record = pick.fresh()
    if "customer_id" not in record or record.get("type") in PAID:
        return None  # (a payment would also name an unknown invoice: two faults)
    record["customer_id"] = _unknown_customer(pick)
    return _dumps(record), "unknown_customer"


def unknown_company(pick: Pick) -> Made | None:
    """A valid news item naming a company that is no customer's name or alias."""
    record = pick.fresh()
    record.pop("customer_id", None)
    record["company_name"] = _unknown_company(pick)
    return _dumps(record), "unknown_company"


def _hostile_company(pick: Pick, text: str) -> Made:
    record = pick.fresh()
    record.pop("customer_id", None)
    record["company_name"] = _unknown_company(pick) + text
    record["headline"] = text * pick.choice((1, 20_000))
    return _dumps(record), "unknown_company"


def _hostile_customer(pick: Pick, text: str) -> Made:
    record = pick.fresh()
    record["customer_id"] = pick.choice(pick.book.customers) + text
    return _dumps(record), "unknown_customer"


def _hostile_repeat(pick: Pick, text: str) -> Made:
    record = pick.record()
    record["headline" if pick.file.feed == "news" else "note"] = text * 3
    return _dumps(record), "duplicate_id"


def _hostile_invalid(pick: Pick, text: str) -> Made:
    record = pick.fresh()
    record["event_id"] = text + record["event_id"] + text
    record["event_time"] = text
    return _dumps(record), "schema"


def _hostile_long_id(pick: Pick, text: str) -> Made:
    record = pick.fresh()
    record["event_id"] = "x" * 257 + text
    return _dumps(record), "schema"


def _hostile_raw_control(pick: Pick, text: str) -> Made:
    raw = _dumps(pick.fresh())
    control = pick.choice((b"\x00", b"\x1b[31m", b"\x07"))
    return raw.replace(b'":"', b'":"' + control, 1), "invalid_json"


def hostile_text(pick: Pick) -> Made | None:
    """NUL, RTL override, zero-width, U+2028/U+2029/U+0085, <script>, ANSI escapes and very
    long strings, each in a record rejected for something else: most often an unknown
    company or customer named in hostile text, else a reused id, an invalid time, an
    over-long id, a raw control character."""
    ways = [_hostile_repeat, _hostile_invalid, _hostile_long_id, _hostile_raw_control]
    if pick.file.feed == "news":
        ways += [_hostile_company] * 4
    elif pick.file.feed != "customers" and pick.record().get("type") not in PAID:
        ways += [_hostile_customer] * 4
    return pick.choice(ways)(pick, pick.choice(HOSTILE))


def reused_id(pick: Pick) -> Made | None:
    """The source's event id again, after it, with other content (amount, customer, a
    note, a space): rejected ``duplicate_id``, as the first record read wins."""
    return _other_content(pick), "duplicate_id"


def exact_duplicate(pick: Pick) -> Made | None:
    """The source line again, byte for byte, shortly after it."""
    return pick.raw, "duplicate"


def far_future(pick: Pick) -> Made | None:
    """A date years past what the file has reached (2999, 9999, +5000 days, 2100)."""
    record = pick.fresh()
    when = record["event_time"]
    dated = len(when) == 10
    record["event_time"] = pick.choice((
        "2999-03-01" if dated else "2999-03-01T10:00:00Z",
        "9999-12-31" if dated else "9999-12-31T23:59:59Z",
        "2100-01-01" if dated else "2100-01-01T00:00:00+01:00",
        _time_like(when, pick.time + FUTURE_BY)))
    return _dumps(record), "implausible_time"


def after_the_book(pick: Pick) -> Made | None:
    """A date a year to five years after the file's end (a typo'd year or month), which only
    the end of its input can judge: it waits there, alone after the rest."""
    record = pick.fresh()
    when = pick.file.reached[-1] + pick.rng.randint(400, 1800) * DAY
    record["event_time"] = _time_like(record["event_time"], when)
    return _dumps(record), "implausible_time"


def ancient(pick: Pick) -> Made | None:
    """A date decades or millennia behind the file: year 1, 1900, the epoch, 1999."""
    record = pick.fresh()
    dated = len(record["event_time"]) == 10
    record["event_time"] = pick.choice(
        ("0001-01-01", "1900-02-28", "1970-01-01", "1999-12-31") if dated else
        ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59+01:00"))
    return _dumps(record), "late"


def late(pick: Pick) -> Made | None:
    """A record 180 days behind the file, placed after many later lines."""
    when = pick.time - LATE_BY
    passed = pick.index + 1 - bisect_left(pick.file.reached, when + 8 * DAY + 1)
    if passed < LAG_PROOF_LINES:
        return None
    record = pick.fresh()
    record["event_time"] = _time_like(record["event_time"], when)
    return _dumps(record), "late"


@dataclass(frozen=True)
class Kind:
    """A mutation kind: how to make one, and which feeds it applies to."""

    make: Callable[[Pick], Made | None]
    feeds: tuple[str, ...] = FEEDS
    in_gzip: bool = False
    """Whether it may go into the truncated gzip file (it needs no neighbouring original)."""


LEDGER = ("payments", "registry")
KINDS: dict[str, Kind] = {
    "wrong_type": Kind(wrong_type, in_gzip=True),
    "missing_field": Kind(missing_field, in_gzip=True),
    "unknown_type": Kind(unknown_type, LEDGER, in_gzip=True),
    "unknown_code": Kind(unknown_code, ("customers", *LEDGER), in_gzip=True),
    "impossible_date": Kind(impossible_date, in_gzip=True),
    "no_offset": Kind(no_offset, in_gzip=True),
    "negative_amount": Kind(negative_amount, ("customers", *LEDGER), in_gzip=True),
    "nan_amount": Kind(nan_amount, in_gzip=True),
    "nan_literal": Kind(nan_literal),
    "huge_number": Kind(huge_number, in_gzip=True),
    "duplicate_key": Kind(duplicate_key),
    "deep_nesting": Kind(deep_nesting, in_gzip=True),
    "invalid_utf8": Kind(invalid_utf8, in_gzip=True),
    "lone_surrogate": Kind(lone_surrogate, ("news", *LEDGER), in_gzip=True),
    "not_object": Kind(not_object, in_gzip=True),
    "blank_line": Kind(blank_line, in_gzip=True),
    "broken_json": Kind(broken_json, in_gzip=True),
    "unknown_version": Kind(unknown_version, in_gzip=True),
    "huge_line": Kind(huge_line),
    "unknown_customer": Kind(unknown_customer, ("news", *LEDGER), in_gzip=True),
    "unknown_company": Kind(unknown_company, ("news",)),
    "hostile_text": Kind(hostile_text),
    "reused_id": Kind(reused_id),
    "exact_duplicate": Kind(exact_duplicate),
    "far_future": Kind(far_future),
    "after_the_book": Kind(after_the_book, ("news", *LEDGER)),
    "ancient": Kind(ancient),
    "late": Kind(late),
}
"""Every mutation kind, by name (plus ``truncated_gzip``, the gzip file's broken tail)."""


# ---------------------------------------------------------------------------- the driver


@dataclass(frozen=True, slots=True)
class Mutant:
    """One line the mutated book adds: where it is and what must become of it."""

    file: str
    line: int
    kind: str
    outcome: str
    """Either "rejected" (a dead letter) or "duplicate"."""
    reason: str


@dataclass(frozen=True)
class Manifest:
    """Every line `mutate_book` added (see the module docstring for how it counts)."""

    seed: int
    mutants: tuple[Mutant, ...]
    framing: dict[str, tuple[str, ...]]

    @property
    def added(self) -> int:
        return len(self.mutants)

    @property
    def rejected(self) -> int:
        return sum(m.outcome == "rejected" for m in self.mutants)

    @property
    def duplicates(self) -> int:
        return sum(m.outcome == "duplicate" for m in self.mutants)

    def by_kind(self) -> Counter[str]:
        return Counter(m.kind for m in self.mutants)

    def by_reason(self) -> Counter[str]:
        return Counter(m.reason for m in self.mutants)

    def in_file(self, name: str) -> dict[int, Mutant]:
        """The file's mutants by line number."""
        return {m.line: m for m in self.mutants if m.file == name}


def _plan(count: int) -> list[str]:
    """The kinds of the mutants to make in the plain files, round robin."""
    regular = [k for k in KINDS if k != "huge_line"]
    rest = count - HUGE_LINES - GZIP_LINES - 1
    if rest < len(regular):
        raise ValueError(f"count must be at least {HUGE_LINES + GZIP_LINES + 1 + len(regular)}")
    return ["huge_line"] * HUGE_LINES + [regular[i % len(regular)] for i in range(rest)]


def _make(book: Book, name: str, rng: random.Random, files: list[FeedFile]) -> tuple[Pick,
                                                                                       Made]:
    """A mutant of kind ``name`` from a random fitting source line of ``files``."""
    kind = KINDS[name]
    candidates = [f for f in files if f.feed in kind.feeds and len(f.lines) > 1]
    for _ in range(2000):
        file = rng.choice(candidates)
        pick = Pick(file, rng.randrange(len(file.lines) - 1), book, rng)
        made = kind.make(pick)
        if made is not None:
            if b"\n" in made[0]:
                raise AssertionError(f"{name} made a line with a line break")
            return pick, made
    raise ValueError(f"no source line fits mutation kind {name!r}")


def _insert(book: Book, name: str, rng: random.Random) -> None:
    while True:
        pick, (line, reason) = _make(book, name, rng, book.files)
        gap = pick.file.gap_for(pick.index, rng)
        if gap is not None:
            pick.file.inserts.setdefault(gap, []).append((line, name, reason))
            return


def _truncated_gzip(lines: list[bytes]) -> bytes:
    """A gzip stream of ``lines`` cut right after a full flush: every line decompresses,
    then the stream just ends (no final block, no CRC trailer).

    >>> import gzip, io
    >>> reader = gzip.GzipFile(fileobj=io.BytesIO(_truncated_gzip([b"a", b"b"])))
    >>> reader.readline(), reader.readline()
    (b'a\\n', b'b\\n')
    >>> reader.readline()
    Traceback (most recent call last):
    EOFError: Compressed file ended before the end-of-stream marker was reached
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(b"".join(line + b"\n" for line in lines)) + packer.flush(
        zlib.Z_FULL_FLUSH)


def _assemble(file: FeedFile) -> tuple[list[bytes], list[tuple[int, str, str]]]:
    """The file's lines with the mutants in, and (line number, kind, reason) of each mutant."""
    out: list[bytes] = []
    added: list[tuple[int, str, str]] = []
    for p, line in enumerate(file.lines):
        for mutant, kind, reason in file.inserts.get(p, ()):
            out.append(mutant)
            added.append((len(out), kind, reason))
        out.append(line)
    return out, added


def _frame(lines: list[bytes], framing: tuple[str, ...]) -> bytes:
    end = b"\r\n" if "crlf" in framing else b"\n"
    data = end.join(lines) + (b"" if "no_final_newline" in framing else end)
    return BOM + data if "bom" in framing else data


def _mutant(file: str, line: int, kind: str, reason: str) -> Mutant:
    return Mutant(file, line, kind, "duplicate" if reason == "duplicate" else "rejected", reason)


def mutate_book(src: Path, dst: Path, *, seed: int, count: int = 3000) -> Manifest:
    """Copy the feeds folder ``src`` to ``dst`` with ``count`` mutants mixed in (a truncated
    gzip file among them), every source line kept unchanged and in order; same seed, same
    bytes. Returns the `Manifest` of what was added."""
    src, dst = Path(src), Path(dst)
    if (src / GZIP_NAME).exists():
        raise ValueError(f"{src} already has {GZIP_NAME}")
    rng = random.Random(seed)
    book = _read_book(src, seed)
    for name in _plan(count):
        _insert(book, name, rng)
    gzip_made = _gzip_made(book, rng)
    dst.mkdir(parents=True, exist_ok=True)
    mutants: list[Mutant] = []
    framing: dict[str, tuple[str, ...]] = {}
    for path in sorted(src.iterdir()):
        file = next((f for f in book.files if f.name == path.name), None)
        if file is None:
            (dst / path.name).write_bytes(path.read_bytes())
            continue
        lines, added = _assemble(file)
        framing[file.name] = FRAMING.get(file.name, ())
        (dst / file.name).write_bytes(_frame(lines, framing[file.name]))
        mutants += [_mutant(file.name, n, kind, reason) for n, kind, reason in added]
    (dst / GZIP_NAME).write_bytes(_truncated_gzip([line for line, _, _ in gzip_made]))
    mutants += [_mutant(GZIP_NAME, n, kind, reason)
                for n, (_, kind, reason) in enumerate(gzip_made, 1)]
    mutants.append(_mutant(GZIP_NAME, len(gzip_made) + 1, "truncated_gzip", "unreadable_file"))
    return Manifest(seed, tuple(mutants), framing)


def _gzip_made(book: Book, rng: random.Random) -> list[tuple[bytes, str, str]]:
    """The gzip file's readable lines (line, kind, reason), made from payments lines and
    kept in their source order, so its contract-valid ones are in event-time order."""
    payments = [f for f in book.files if f.feed == "payments"]
    kinds = [k for k, kind in KINDS.items() if kind.in_gzip and "payments" in kind.feeds]
    made = []
    for i in range(GZIP_LINES):
        name = kinds[i % len(kinds)]
        pick, (line, reason) = _make(book, name, rng, payments)
        made.append((pick.index, i, line, name, reason))
    return [(line, name, reason) for _, _, line, name, reason in sorted(made)]


# ---------------------------------------------------------------------------- hostile book

NAME_DRESS: tuple[Callable[[str], str], ...] = (
    lambda s: "\u202e" + s + "\u202c",
    lambda s: s[:1] + "\u200b" + s[1:] + "\u200d",
    lambda s: s + "\u2028\u2029\u0085",
    lambda s: s + " \u0000",
    lambda s: "\ufeff" + s,
    lambda s: "\u001b[1m" + s + "\u001b[0m",
    lambda s: s + " <script>alert(1)</script>",
    lambda s: s + ' "\\,;\n\r\t',
    lambda s: s + " \U0001f3ed\u0301",
)
"""Ways to dress a company name in hostile text (each keeps it a valid, non-empty name)."""
TEXT_DRESS: tuple[Callable[[str], str], ...] = (
    *NAME_DRESS,
    lambda s: s + ' <img src=x onerror="alert(1)">',
    lambda s: "=HYPERLINK(\"http://x\")," + s,
    lambda s: s + " %s%n{0}${jndi:ldap://x/a}",
    lambda s: s + "\r\n\r\n" + s,
)


def _dress(text: str, seed: int, dresses: tuple[Callable[[str], str], ...], long: int) -> str:
    """``text`` in hostile dress, the same for the same text and seed (so a company name in
    news is dressed exactly like the customer name it equals); one in ``long`` also very
    long."""
    rng = random.Random(f"{seed}\x00{text}")
    dressed = rng.choice(dresses)(text)
    return dressed + "\u200b" * 30_000 if rng.randrange(long) == 0 else dressed


def _hostile_record(feed: str, record: dict[str, Any], seed: int) -> dict[str, Any]:
    if feed == "customers":
        record["name"] = _dress(record["name"], seed, NAME_DRESS, 40)
        if "aliases" in record:
            record["aliases"] = [_dress(a, seed, NAME_DRESS, 40) for a in record["aliases"]]
    elif feed == "news":
        if "company_name" in record:
            record["company_name"] = _dress(record["company_name"], seed, NAME_DRESS, 40)
        record["headline"] = _dress(record["headline"], seed, TEXT_DRESS, 50)
        record["source"] = _dress(record["source"], seed, TEXT_DRESS, 1000)
    return record


def hostile_book(src: Path, dst: Path, *, seed: int) -> None:
    """Copy the feeds folder ``src`` to ``dst`` with every customer name and alias, and every
    news company name, headline and source, dressed in hostile text: the records stay valid,
    the same lines in the same order, and each news company name still equals the name or
    alias of its customer (both are dressed alike). Other files are copied byte for byte."""
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()):
        feed = _feed_of(path.name)
        data = path.read_bytes()
        if feed in ("customers", "news"):
            lines = data.split(b"\n")
            data = b"\n".join(
                _dumps(_hostile_record(feed, json.loads(line), seed)) if line else line
                for line in lines)
        (dst / path.name).write_bytes(data)
