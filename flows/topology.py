"""The keys of every step of the monitor, and which key a record goes to.

Customers are spread over ``buckets`` (by a stable hash of the customer id) and event ids
over as many shares; the steps that see the whole book (the name directory, the learner, the
ranker, the alert feed) have one key each. Results never depend on how many buckets there
are: every step applies its items in the same total order. The bucket count only spreads the
work, so it defaults to the number of workers, and the key names are chosen so that bytewax
puts bucket ``i`` on worker ``i`` (bytewax routes a key to worker ``siphash13(key) % workers``,
as Rust's ``DefaultHasher`` does; `worker_of` computes the same).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from detectors.events import Envelope

MASK = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash13(data: bytes) -> int:
    """SipHash-1-3 with zero keys, the hash behind Rust's ``DefaultHasher::new()``.

    >>> hex(siphash13(b""))
    '0xd1fba762150c532c'
    """
    v0, v1 = 0x736F6D6570736575, 0x646F72616E646F6D
    v2, v3 = 0x6C7967656E657261, 0x7465646279746573

    def sip_round() -> None:
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & MASK
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & MASK
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & MASK
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & MASK
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    whole = len(data) - len(data) % 8
    for i in range(0, whole, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v3 ^= m
        sip_round()
        v0 ^= m
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[whole:], "little")
    v3 ^= last
    sip_round()
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        sip_round()
    return (v0 ^ v1 ^ v2 ^ v3) & MASK


def worker_of(key: str, workers: int) -> int:
    """The worker bytewax routes state key ``key`` to (Rust hashes a str with a 0xff tail)."""
    return siphash13(key.encode("utf-8") + b"\xff") % workers


def _key_on(prefix: str, index: int, workers: int) -> str:
    """A key name for share ``index`` that bytewax routes to worker ``index % workers``."""
    name, salt = f"{prefix}-{index}", 0
    while worker_of(name, workers) != index % workers:
        salt += 1
        name = f"{prefix}-{index}.{salt}"
    return name


@dataclass(frozen=True)
class Topology:
    """Step keys for a run on ``workers`` workers with ``buckets`` buckets."""

    workers: int = 1
    buckets: int = 0
    """0: as many as workers."""
    bucket_keys: tuple[str, ...] = field(init=False)
    id_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        buckets = self.buckets or self.workers
        object.__setattr__(self, "buckets", buckets)
        object.__setattr__(self, "bucket_keys", tuple(
            _key_on("bucket", i, self.workers) for i in range(buckets)))
        object.__setattr__(self, "id_keys", tuple(
            _key_on("ids", i, self.workers) for i in range(buckets)))

    def bucket_of(self, customer_id: str) -> str:
        """The bucket of a customer: the same in every run and process."""
        return self.bucket_keys[zlib.crc32(customer_id.encode("utf-8", "surrogatepass"))
                                % self.buckets]

    def ids_of(self, envelope: Envelope) -> str:
        """The id step of a record: every record with the same feed and id meets there."""
        event = envelope.event
        text = f"{event.FEED}\x00{event.event_id}".encode("utf-8", "surrogatepass")
        return self.id_keys[zlib.crc32(text) % self.buckets]
