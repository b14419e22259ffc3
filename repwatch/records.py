"""Typed values that cross package boundaries (crawler -> store -> scorer -> dashboard).

No ORM rows or loose dicts leave ``repwatch.store``; these frozen dataclasses do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Status = Literal["new", "assigned", "responded", "dismissed"]
STATUSES: tuple[Status, ...] = ("new", "assigned", "responded", "dismissed")
SentimentLabel = Literal["negative", "neutral", "positive"]


@dataclass(frozen=True, slots=True)
class MentionRecord:
    """One review or post as a spider found it, normalised by the item pipelines."""

    source: str  # source key from repwatch.toml
    brand: str  # brand key from repwatch.toml
    url: str  # canonical URL of the review itself
    external_id: str  # stable id within the source
    text: str
    title: str | None = None
    author: str | None = None
    author_reach: int | None = None
    rating: float | None = None  # 0..1, normalised by the spider (1 of 5 stars = 0.0)
    language: str | None = None
    published_at: datetime | None = None
    # Engagement the source reports, e.g. {"boosts": 3, "favourites": 10}; not hashed:
    # new likes refresh the stored counts without counting the mention as edited.
    metrics: dict[str, int] | None = None

    @property
    def content_hash(self) -> str:
        """Hash of what a reader sees; a changed hash means the review was edited."""
        parts = (self.title or "", self.text, "" if self.rating is None else f"{self.rating:.4f}")
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """How many mentions a write created, changed or found unchanged."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class MentionText:
    """What the scorer needs of a stored mention."""

    id: int
    text: str
    title: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class TopicFinding:
    """A customer-service topic a mention talks about, and what it says about it."""

    score: float  # 0..1, how surely the mention is about the topic
    polarity: SentimentLabel  # the sentiment of the sentences about the topic


@dataclass(frozen=True, slots=True)
class Analysis:
    """The scorer's verdict on one mention, by one model revision."""

    mention_id: int
    model_name: str
    model_revision: str
    label: SentimentLabel
    score: float  # -1 (very negative) .. 1 (very positive)
    confidence: float  # probability of the chosen label
    probabilities: dict[str, float] = field(default_factory=dict)
    topics: dict[str, TopicFinding] = field(default_factory=dict)  # by topic key


@dataclass(frozen=True, slots=True)
class FlagCandidate:
    """An unflagged mention with its newest analysis, for the triage rules."""

    mention_id: int
    rating: float | None
    published_at: datetime | None
    author_reach: int | None
    label: SentimentLabel | None
    negative_probability: float | None
    sentiment_score: float | None = None  # -1..1, the model's score, for star/text disagreement


@dataclass(frozen=True, slots=True)
class TriageDecision:
    """The triage rules' decision to put a mention in the queue."""

    mention_id: int
    priority: float  # 0..100, higher is more urgent
    deadline_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the triage queue, as the dashboard and the digest show it."""

    item_id: int
    version: int
    status: Status
    priority: float
    deadline_at: datetime
    assignee: str | None
    reason: str
    mention_id: int
    brand: str
    source: str
    url: str
    title: str | None
    text: str
    author: str | None
    rating: float | None
    language: str | None
    published_at: datetime | None
    sentiment: SentimentLabel | None
    sentiment_score: float | None
    confidence: float | None


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One entry of a triage item's append-only action log."""

    item_id: int
    action: str
    actor: str
    at: datetime
    from_status: Status | None
    to_status: Status | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Counts:
    """Totals for progress lines and ``repwatch demo --no-dashboard``."""

    mentions: int
    analysed: int
    flagged: int
    open_items: int
