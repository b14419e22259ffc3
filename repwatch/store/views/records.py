"""What the dashboard's read queries return: frozen dataclasses, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from repwatch.records import ActionRow, QueueRow, SentimentLabel, Status

OPEN_STATUSES: tuple[Status, ...] = ("new", "assigned")
SENTIMENTS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
Bucket = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which triage items the queue shows. Empty tuples and ``None`` mean "any"."""

    statuses: tuple[Status, ...] = OPEN_STATUSES
    brands: tuple[str, ...] = ()  # brand keys
    sources: tuple[str, ...] = ()  # source keys
    languages: tuple[str, ...] = ()
    topic: str | None = None  # a topic key in the newest analysis
    assignee: str | None = None  # a username
    unassigned: bool = False  # only items nobody is assigned to
    escalated: bool = False  # only escalated items
    published_from: datetime | None = None  # inclusive
    published_to: datetime | None = None  # exclusive
    search: str = ""  # case-insensitive, in title, text or author

    @property
    def needs_mention(self) -> bool:
        """Whether choosing the page must look at the mentions, not only the items."""
        return bool(
            self.brands
            or self.sources
            or self.languages
            or self.topic
            or self.published_from
            or self.published_to
            or self.search.strip()
        )


@dataclass(frozen=True, slots=True)
class TopicScore:
    """One topic the model found in a mention, with its polarity."""

    key: str
    score: float | None
    polarity: str | None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One triage item with everything the queue card shows."""

    item_id: int
    version: int
    status: Status
    priority: float
    deadline_at: datetime
    assignee: str | None
    reason: str
    escalated: bool
    flagged_at: datetime
    responded_at: datetime | None
    mention_id: int
    brand: str
    source: str
    url: str
    title: str | None
    text: str
    author: str | None
    author_reach: int | None
    rating: float | None
    language: str | None
    published_at: datetime | None
    sentiment: SentimentLabel | None
    sentiment_score: float | None
    confidence: float | None
    topics: tuple[TopicScore, ...] = ()

    def to_queue_row(self) -> QueueRow:
        """The shorter ``repwatch.records.QueueRow`` the digest and the CLI use."""
        return QueueRow(
            self.item_id,
            self.version,
            self.status,
            self.priority,
            self.deadline_at,
            self.assignee,
            self.reason,
            self.mention_id,
            self.brand,
            self.source,
            self.url,
            self.title,
            self.text,
            self.author,
            self.rating,
            self.language,
            self.published_at,
            self.sentiment,
            self.sentiment_score,
            self.confidence,
        )


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A page of the queue; ``has_more`` says whether a next page exists."""

    items: tuple[QueueItem, ...]
    offset: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class QueueTotals:
    """Counts for the queue's summary line (all brands, cheap to compute)."""

    open_items: int
    overdue: int
    escalated: int
    unassigned: int


@dataclass(frozen=True, slots=True)
class AnalysisView:
    """One model verdict on a mention."""

    model_name: str
    model_revision: str
    label: SentimentLabel
    score: float
    confidence: float
    probabilities: dict[str, float]
    topics: tuple[TopicScore, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LabelView:
    """A correction made by staff, kept for training."""

    kind: str  # "sentiment" or "topic"
    value: str
    polarity: str | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MentionBrief:
    """A mention in a list: other mentions by an author, near-duplicates, topic items."""

    mention_id: int
    item_id: int | None  # its triage item, if it was flagged
    brand: str
    source: str
    url: str
    title: str | None
    text: str
    author: str | None
    rating: float | None
    published_at: datetime | None
    sentiment: SentimentLabel | None
    similarity: float | None = None  # for near-duplicates, 0..1


@dataclass(frozen=True, slots=True)
class ItemDetail:
    """Everything the item page shows about one triage item."""

    item: QueueItem
    analyses: tuple[AnalysisView, ...]  # newest first
    actions: tuple[ActionRow, ...]  # oldest first
    labels: tuple[LabelView, ...]  # newest first
    revisions: tuple[tuple[datetime, str], ...]  # earlier texts, oldest first
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BrandPeriod:
    """Mentions of one brand in one period, by sentiment of their newest analysis."""

    period: date  # first day of the day, week (Monday) or month
    brand: str
    mentions: int
    negative: int
    neutral: int
    positive: int

    @property
    def net_sentiment(self) -> float | None:
        """(positive - negative) / analysed mentions, -1..1; None when none were analysed."""
        analysed = self.negative + self.neutral + self.positive
        return None if analysed == 0 else (self.positive - self.negative) / analysed


@dataclass(frozen=True, slots=True)
class RatingCount:
    """How many mentions of a brand gave ``stars`` (None: no rating)."""

    brand: str
    stars: int | None
    mentions: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The manager's view of a period: volume, sentiment, ratings and the queue."""

    since: datetime
    until: datetime
    bucket: Bucket
    periods: tuple[BrandPeriod, ...]
    ratings: tuple[RatingCount, ...]
    open_items: int
    overdue_items: int
    escalated_items: int
    responded: int  # items responded to in the period
    median_response: timedelta | None  # flagged -> responded, over those items


@dataclass(frozen=True, slots=True)
class TopicCell:
    """Mentions in the period that touch ``topic`` with this polarity."""

    topic: str
    polarity: str  # negative, neutral or positive
    mentions: int


@dataclass(frozen=True, slots=True)
class TopicMonth:
    """One topic in one calendar month."""

    topic: str
    month: date
    mentions: int
    negative: int
    positive: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.mentions if self.mentions else 0.0


@dataclass(frozen=True, slots=True)
class TopicChange:
    """A topic's newest month against the month before it."""

    topic: str
    month: date
    mentions: int
    previous_mentions: int
    negative_share: float
    previous_negative_share: float | None  # None when the previous month had no mentions

    @property
    def change(self) -> float | None:
        """Change of the negative share in percentage points (positive: got worse)."""
        if self.previous_negative_share is None:
            return None
        return 100.0 * (self.negative_share - self.previous_negative_share)


@dataclass(frozen=True, slots=True)
class TopicSummary:
    """Topics in a period: the heat map, each month, and the newest month's changes."""

    since: datetime
    until: datetime
    cells: tuple[TopicCell, ...]
    months: tuple[TopicMonth, ...]  # by topic, then month
    changes: tuple[TopicChange, ...]  # the biggest worsening first


@dataclass(frozen=True, slots=True)
class CrawlRunView:
    """One crawl of one source."""

    run_id: int
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    pages: int
    items_new: int
    items_updated: int
    items_unchanged: int
    errors: int
    errors_by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class CrawlErrorView:
    """A page a crawl could not use."""

    run_id: int
    source: str
    url: str
    kind: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's crawl health: its last run and the totals of recent runs."""

    source: str
    kind: str
    brand: str
    url: str
    last_run: CrawlRunView | None
    runs: int  # in the window
    failed_runs: int
    items: int  # new + updated in the window
    errors: int  # in the window
