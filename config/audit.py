"""Settings of the audit log: whether it is written, how it is anchored and how it is cut."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_ANCHOR_EVERY = 1000
DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024


class AuditSettings(BaseModel):
    """How the hash-chained audit log is written (see ``docs/audit.md``).

    ``hmac_key`` signs the anchors. Without it anchors carry a plain SHA-256 digest, which
    detects accidental damage but not a forger, who can recompute any digest.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    hmac_key: SecretStr | None = None
    anchor_every: int = Field(default=DEFAULT_ANCHOR_EVERY, gt=0)
    segment_max_bytes: int = Field(default=DEFAULT_SEGMENT_MAX_BYTES, gt=0)

    def key_bytes(self) -> bytes | None:
        """The anchor key as bytes, or None when anchors are unsigned."""
        if self.hmac_key is None:
            return None
        return self.hmac_key.get_secret_value().encode("utf-8")
