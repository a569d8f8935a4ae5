"""Settings of the audit log: whether it is written, how it is anchored and how it is cut.

The anchor key comes from ``hmac_key``, else from ``key_file``, else from the key file that
``creditradar audit init`` writes into the state directory (`default_key_file`): once a key
exists there, every run signs its anchors with it without further configuration.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from config.errors import ConfigError

DEFAULT_ANCHOR_EVERY = 1000
DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024
KEY_FILE_NAME = "audit.key"


class AuditSettings(BaseModel):
    """How the hash-chained audit log is written (see ``docs/audit.md``).

    ``hmac_key`` signs the anchors. Without it anchors carry a plain SHA-256 digest, which
    detects accidental damage but not a forger, who can recompute any digest.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    enabled: bool = True
    hmac_key: SecretStr | None = None
    key_file: Path | None = None
    """A file holding the anchor key (made by ``creditradar audit init``); read when
    ``hmac_key`` is not set. Default: ``STATE_DIR/audit.key`` when it exists."""
    anchor_every: int = Field(default=DEFAULT_ANCHOR_EVERY, gt=0)
    segment_max_bytes: int = Field(default=DEFAULT_SEGMENT_MAX_BYTES, gt=0)

    def key_bytes(self) -> bytes | None:
        """The anchor key as bytes, or None when anchors are unsigned."""
        if self.hmac_key is None:
            return None
        return self.hmac_key.get_secret_value().encode("utf-8")

    def with_key_from_file(self, state_dir: Path) -> AuditSettings:
        """These settings with ``hmac_key`` read from the key file, when none is set and the
        file (``key_file``, else the state directory's) exists."""
        if self.hmac_key is not None:
            return self
        path = self.key_file or default_key_file(state_dir)
        if not path.is_file():
            if self.key_file is not None:
                raise ConfigError(f"audit.key_file: {path} does not exist")
            return self
        key = read_key(path)
        return self.model_copy(update={"hmac_key": SecretStr(key)})


def default_key_file(state_dir: Path) -> Path:
    """Where ``creditradar audit init`` puts the key by default."""
    return Path(state_dir) / KEY_FILE_NAME


def read_key(path: Path) -> str:
    """The key in a key file (one line of text)."""
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"audit key file {path} cannot be read: {exc.strerror}") from None
    if not key:
        raise ConfigError(f"audit key file {path} is empty")
    return key


def create_key_file(path: Path) -> None:
    """Write a new random key (256 bits, hex) to ``path``, readable by its owner only;
    an existing file is never replaced (its key signed earlier logs)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists: its key signed earlier logs, so it is "
                          "not replaced") from None
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
