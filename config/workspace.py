"""Settings of the risk desk's workspace (``creditradar serve``): storage and sign-in. Approved
actions go to the ERP endpoints of ``alerts.actions``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class WorkspaceSettings(BaseModel):
    """How the workspace stores its state and signs people in.

    ``database`` is an SQLAlchemy URL (``postgresql+psycopg://user:password@host/db`` for a
    deployment of several processes); without it the workspace keeps an SQLite file in its
    data folder. Both URLs are secrets: they may carry a password.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: SecretStr | None = None
    data_dir: Path | None = None
    """Where the SQLite file and the workspace's audit log live; default ``OUT/workspace``."""
    session_hours: float = Field(default=8.0, gt=0)
    secure_cookies: bool = True
    login_failures_allowed: int = Field(default=5, ge=1)
    """Failed sign-ins per account (and per client address) within ``login_window_minutes``
    before further attempts are refused."""
    login_window_minutes: float = Field(default=15.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)
    """How often the workspace looks for new lines in the run's output files."""
