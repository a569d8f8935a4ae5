"""The exceptions CreditRadar raises, in one tree.

    CreditRadarError
     ├── ConfigError          settings or routing that cannot be loaded or validated
     ├── ContractError        a feed record that is not valid under the feed contract
     ├── ConnectorError       a source, sink or plugin that cannot be found or opened
     └── NotificationError    a channel that failed to deliver (after its retries)

Messages name the step, feed or customer concerned; causes are chained with ``from``.
"""

from __future__ import annotations


class CreditRadarError(Exception):
    """Root of every error CreditRadar raises on purpose."""


class ConfigError(CreditRadarError):
    """Settings, routing trees or files that cannot be loaded or are invalid."""


class ContractError(CreditRadarError):
    """A feed record that breaks the contract; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ConnectorError(CreditRadarError):
    """A source, sink or plugin that cannot be found, opened or read."""


class NotificationError(CreditRadarError):
    """A notification channel that failed to deliver after its retries."""
