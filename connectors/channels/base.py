"""The one extension point for delivery: a ``Channel`` sends a titled body or raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from config.errors import NotificationError

BodyFormat = Literal["text", "markdown", "html", "slack", "cloudevents"]
"""What a rendered body is: text in one of the four human formats, or a CloudEvent (JSON)."""


class RetryLater(NotificationError):
    """The receiver asked us to come back later (HTTP 429 or 503 with ``Retry-After``): not a
    failed attempt, the delivery waits ``seconds`` and tries again."""

    def __init__(self, seconds: float, detail: str) -> None:
        super().__init__(detail)
        self.seconds = seconds


@runtime_checkable
class Channel(Protocol):
    """Delivers one message; raises ``NotificationError`` when the far end did not accept it."""

    def send(self, title: str, body: str, body_format: BodyFormat) -> None: ...


@dataclass
class RecordingChannel:
    """Test double: records every message and fails the first ``fail_times`` sends."""

    fail_times: int = 0
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    attempts: int = 0

    def send(self, title: str, body: str, body_format: BodyFormat) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise NotificationError(f"recording channel refused attempt {self.attempts}")
        self.sent.append((title, body, body_format))
