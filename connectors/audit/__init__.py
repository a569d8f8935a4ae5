"""The tamper-evident audit log: hash-chained JSON-lines segments, signed anchors, verification.

- ``record``: one record, its canonical encoding, hash and anchor signature
- ``writer``: :class:`AuditWriter`, appending to one partition and resuming at a snapshot
- ``sink``: :class:`AuditSink`, the bytewax sink that writes :class:`AuditEntry` items
- ``verify``: :func:`read_log` and :func:`verify_log`, which names the first bad record

See ``docs/audit.md`` for the format and what the anchors do and do not protect against.
"""

from connectors.audit.record import ANCHOR, GENESIS, AuditRecord
from connectors.audit.sink import AuditEntry, AuditSink
from connectors.audit.verify import Problem, VerifyReport, read_log, verify_log
from connectors.audit.writer import AuditPosition, AuditWriter

__all__ = [
    "ANCHOR",
    "GENESIS",
    "AuditEntry",
    "AuditPosition",
    "AuditRecord",
    "AuditSink",
    "AuditWriter",
    "Problem",
    "VerifyReport",
    "read_log",
    "verify_log",
]
