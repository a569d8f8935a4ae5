"""One audit record: its canonical line, its hash, and the anchor signature.

A record's ``hash`` is the SHA-256 of its canonical JSON without the ``hash`` field, and its
``prev`` is the previous record's ``hash`` in the same partition, so the canonical bytes of
every record are bound into every later one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from config.errors import ConnectorError
from detectors.events import Origin

GENESIS = "0" * 64
"""The ``prev`` of a partition's first record."""

ANCHOR = "anchor"
"""Kind of the records that carry a signed chain head."""

INPUT = "input"
"""Kind of the records of a run's accepted inputs."""

WARNING = "warning"
"""Kind of the records of a run's warnings."""

STOP = "stop"
"""Kind of the records of a run stopped before its inputs ended: the last day it
completed (``through``, days since 1970), one per partition of inputs."""

END = "end"
"""Kind of the records of a run that reached the end of its inputs after a stop: the last
day they support (``through``)."""


def canonical(obj: dict[str, Any]) -> bytes:
    """The one byte encoding of a JSON object that hashes and comparisons use.

    >>> canonical({"b": 1, "a": [1, 2.5]})
    b'{"a":[1,2.5],"b":1}'
    """
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ConnectorError(f"audit record is not plain JSON: {exc}") from exc


def digest(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _text(value: str) -> bytes:
    """A JSON string, as `canonical` writes it (most ids need no escaping at all; the rest
    goes through the encoder `json.dumps` itself uses).

    >>> _text('{"a": "\u2028\\n"}') == canonical({"a": '{"a": "\u2028\\n"}'})[5:-1]
    True
    """
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return b'"' + value.encode("ascii") + b'"'
    return encode_basestring(value).encode("utf-8")


_known_text = lru_cache(maxsize=4096)(_text)
"""`_text` of strings that repeat (kinds, partitions, event times)."""


def input_body(feed: str, raw: str, origin: Origin, day: int) -> bytes:
    """`canonical` of an input record's body, built directly (it is written for every input
    the monitor reads, and its keys are known and in order).

    >>> body = {"feed": "news", "raw": '{"a": "\\u2028"}', "origin": {"file": "n", "line": 3},
    ...         "day": 19000}
    >>> input_body("news", body["raw"], Origin("file", "n", 3), 19000) == canonical(body)
    True
    """
    return b'{"day":%d,"feed":%s,"origin":%s,"raw":%s}' % (
        day, _known_text(feed), origin_json(origin), _text(raw))


def origin_json(origin: Origin) -> bytes:
    """`canonical` of ``origin.to_json()``, built directly.

    >>> all(origin_json(o) == canonical(o.to_json()) for o in (
    ...     Origin("file", "p.jsonl", 7), Origin("kafka", "t.a:b:3", 9), Origin("plugin", "x", 1)))
    True
    """
    if origin.kind == "file":
        return b'{"file":%s,"line":%d}' % (_known_text(origin.source), origin.position)
    if origin.kind == "kafka":
        topic, _, partition = origin.source.rpartition(":")
        return b'{"offset":%d,"partition":%d,"topic":%s}' % (
            origin.position, int(partition), _known_text(topic))
    return canonical(origin.to_json())


def encode(seq: int, partition: str, kind: str, id: str, event_time: str, body_json: bytes,
           prev: str) -> tuple[str, bytes]:
    """The hash and the line (newline included) of the record that follows ``prev``.

    The bytes are those of `canonical` over the record's fields (whose names sort as they
    are written here), with the body's canonical bytes ``body_json`` put in as they are.

    >>> hash, line = encode(0, "p", "input", "x", "2024-01-01T00:00:00Z", b'{"b":1}', GENESIS)
    >>> record = AuditRecord.chained(0, "p", "input", "x", "2024-01-01T00:00:00Z", {"b": 1},
    ...                              GENESIS)
    >>> (hash, line) == (record.hash, record.to_line())
    True
    """
    head = b'{"body":' + body_json + b',"event_time":' + _known_text(event_time)
    tail = (b',"id":' + _text(id) + b',"kind":' + _known_text(kind) + b',"partition":'
            + _known_text(partition) + b',"prev":' + _text(prev) + b',"seq":' + b"%d}" % seq)
    hashed = digest(head + tail)
    return hashed, head + b',"hash":"' + hashed.encode() + b'"' + tail + b"\n"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of the audit log, exactly as stored."""

    seq: int
    partition: str
    kind: str
    id: str
    event_time: str
    body: dict[str, Any]
    prev: str
    hash: str

    @classmethod
    def chained(cls, seq: int, partition: str, kind: str, id: str, event_time: str,
                body: dict[str, Any], prev: str) -> AuditRecord:
        """Build the record that follows ``prev``, computing its own hash."""
        unhashed = {"seq": seq, "partition": partition, "kind": kind, "id": id,
                    "event_time": event_time, "body": body, "prev": prev}
        return cls(**unhashed, hash=digest(canonical(unhashed)))

    def _fields(self) -> dict[str, Any]:
        # A shallow view (dataclasses.asdict would deep-copy every body, for nothing) of every
        # field, so that no field added later escapes the hash.
        return {name: getattr(self, name) for name in _NAMES}

    def content_hash(self) -> str:
        """The hash this record should carry, recomputed from its other fields."""
        unhashed = self._fields()
        del unhashed["hash"]
        return digest(canonical(unhashed))

    def to_line(self) -> bytes:
        """The canonical line, newline included, as it is written to a segment."""
        return canonical(self._fields()) + b"\n"

    @classmethod
    def from_line(cls, line: bytes, canonical_only: bool = True) -> AuditRecord:
        """Parse one line (without its newline); ConnectorError says why it is not a record.
        With ``canonical_only`` (verification), a line that is not the canonical encoding
        of what it says is none either; a reader that does not verify skips that check,
        which costs as much again as parsing."""
        try:
            obj = json.loads(line.decode("utf-8"), parse_constant=_not_plain,
                             parse_float=_finite)
        except (ValueError, RecursionError) as exc:  # (UnicodeDecodeError is a ValueError)
            raise ConnectorError(f"not a JSON line: {type(exc).__name__}: {exc}"[:300]) from None
        if not isinstance(obj, dict) or set(obj) != FIELDS:
            raise ConnectorError("not an audit record: wrong fields")
        types_ok = (
            type(obj["seq"]) is int
            and all(isinstance(obj[name], str)
                    for name in ("partition", "kind", "id", "event_time", "prev", "hash"))
            and isinstance(obj["body"], dict)
        )
        if not types_ok:
            raise ConnectorError("not an audit record: wrong field types")
        record = cls(**obj)
        # A line that parses to the right values but is not their canonical encoding was
        # still altered; without this check such edits (say, added spaces) would pass.
        if canonical_only and record.to_line()[:-1] != line:
            raise ConnectorError("not in canonical encoding")
        return record


def _not_plain(constant: str) -> Any:
    raise ValueError(f"audit record is not plain JSON: {constant}")


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a float (1e999) is no plain JSON."""
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"audit record is not plain JSON: {text[:40]} overflows")
    return value


_NAMES = tuple(f.name for f in fields(AuditRecord))
FIELDS = frozenset(_NAMES)
"""The keys of a record's line: exactly its fields."""


def anchor_message(partition: str, seq: int, head: str, final: bool,
                   sealed: bool = False) -> bytes:
    """What an anchor signs: where it stands, the chain head, whether it closes the log, and
    whether the log is sealed by a manifest of its partitions when its run ends (a run's
    log: `connectors.audit.manifest`; said only when it is, so other logs sign as before)."""
    fields: dict[str, Any] = {"partition": partition, "seq": seq, "head": head, "final": final}
    if sealed:
        fields["sealed"] = True
    return canonical(fields)


def anchor_body(
    partition: str, seq: int, head: str, final: bool, key: bytes | None, sealed: bool = False
) -> dict[str, Any]:
    """The body of the anchor at ``seq``: an HMAC with the key, else only a plain digest."""
    message = anchor_message(partition, seq, head, final, sealed)
    return {"head": head, "final": final, **({"sealed": True} if sealed else {}),
            **signature(message, key)}


def anchor_fault(record: AuditRecord, key: bytes | None) -> str | None:
    """Why the anchor ``record`` does not vouch for its chain head, or None when it does."""
    body = record.body
    final = body.get("final")
    if body.get("head") != record.prev or not isinstance(final, bool):
        return "anchor does not name the chain head before it"
    message = anchor_message(record.partition, record.seq, record.prev, final,
                             body.get("sealed") is True)
    return signature_fault(body, message, key, "anchor",
                           "records before it were rewritten, or the key differs")


def signature(message: bytes, key: bytes | None) -> dict[str, str]:
    """How a body vouches for ``message`` (an anchor's, a manifest's): an HMAC with the
    audit key, else a plain digest."""
    if key is None:
        return {"digest": digest(message)}
    return {"mac": hmac.new(key, message, "sha256").hexdigest()}


def signature_fault(body: dict[str, Any], message: bytes, key: bytes | None, what: str,
                    rewritten: str) -> str | None:
    """Why ``body`` (the ``what``: an anchor, a manifest) does not vouch for ``message``
    (`signature`), ``rewritten`` saying what a bad signature means; None when it does, or
    when it is signed and no key was given to check it (the report says so)."""
    if key is None:
        if "mac" in body:
            return None
        return None if body.get("digest") == digest(message) else f"{what} digest does not match"
    if "mac" not in body:
        return f"{what} is unsigned but a key was given"
    expected = hmac.new(key, message, "sha256").hexdigest()
    if not hmac.compare_digest(str(body["mac"]), expected):
        return f"bad {what} signature: {rewritten}"
    return None
