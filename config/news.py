"""Settings of news intelligence: matching thresholds, the reader, stories and sources."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NewsSettings(BaseModel):
    """How news is matched to customers, read, and counted (docs/news.md)."""

    model_config = ConfigDict(extra="forbid")

    match_at: float = Field(0.90, gt=0, le=1)
    """A match needs at least this confidence; below it the item is held for review."""
    review_at: float = Field(0.75, gt=0, le=1)
    """Candidates below this confidence are not candidates at all (the item is unknown)."""
    margin: float = Field(0.03, ge=0, le=1)
    """The best candidate must lead every other customer by this much, else review."""
    model_add_at: float = Field(0.8, ge=0, le=1)
    """The text model adds a category to a reading at this probability or more."""
    model_veto_at: float = Field(0.05, ge=0, le=1)
    """The text model removes a rule's category at this probability or less."""
    distress_at: float = Field(0.8, ge=0, le=1)
    """The outcome-trained head calls an unexplained headline adverse at this or more."""
    source_weights: dict[str, float] = {}
    """How much each news source is believed, 0 to 1 (by the feed's ``source``)."""
    default_source_weight: float = Field(1.0, ge=0, le=1)
    believe_from: float = Field(0.5, gt=0, le=1)
    """A story moves risk once its sources together are believed this much."""
    story_window_days: int = Field(3, ge=0, le=60)
    """Copies of a story up to this many days after its first one count with it."""
    story_similarity: float = Field(80.0, ge=0, le=100)
    """Headlines this close (token-set ratio, 0-100) are one story."""
    knowledge: Path | None = None
    """The file ``creditradar learn-news`` writes (corrections, aliases, text model)."""

    @model_validator(mode="after")
    def _ordered(self) -> NewsSettings:
        if self.review_at > self.match_at:
            raise ValueError("news.review_at must not exceed news.match_at")
        if any(not 0.0 <= w <= 1.0 for w in self.source_weights.values()):
            raise ValueError("news.source_weights must be between 0 and 1")
        return self
