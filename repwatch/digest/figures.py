"""Every figure of one weekly digest, collected through the dashboard's query layer.

Volume, net sentiment, share of voice, ratings, the queue and the median time to
respond come from the same view functions the dashboard calls (``views.overview``,
``views.share_of_voice``, ``views.topic_summary``), so the two always agree; what only a
digest shows comes from ``repwatch.store.views.digest``.

The brand table compares the brand (or every brand) with the week before and with the
competitors; the lists (topics, serious items, deadlines, responses, new sites) cover
the *scope*: the chosen brand, or all own brands (competitors' items need no answer).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from repwatch.config import Brand
from repwatch.digest.week import IsoWeek, WeekError
from repwatch.errors import ConfigError
from repwatch.store import views
from repwatch.store.schema import utcnow
from repwatch.store.views import (
    BrandPeriod,
    FlaggedItems,
    MentionBrief,
    NegativeSource,
    OverdueItems,
    Overview,
    RatingCount,
    TopicCell,
    VoiceShare,
)

TOPICS_LISTED = 5  # topics that got worse, and better, each
EXAMPLES_PER_TOPIC = 2
ITEMS_LISTED = 10  # serious and overdue items
OWN, RIVALS = "own brands", "competitors"


@dataclass(frozen=True, slots=True)
class BrandWeek:
    """One brand (or a group of brands) this week and the week before."""

    key: str
    name: str
    competitor: bool
    week: BrandPeriod
    previous: BrandPeriod

    @classmethod
    def combine(cls, key: str, name: str, rows: Sequence[BrandWeek]) -> BrandWeek:
        """Several brands as one row (``rows`` must not be empty)."""

        def total(periods: Sequence[BrandPeriod]) -> BrandPeriod:
            return BrandPeriod(
                periods[0].period,
                key,
                sum(p.mentions for p in periods),
                sum(p.negative for p in periods),
                sum(p.neutral for p in periods),
                sum(p.positive for p in periods),
            )

        return cls(
            key=key,
            name=name,
            competitor=all(r.competitor for r in rows),
            week=total([r.week for r in rows]),
            previous=total([r.previous for r in rows]),
        )

    @property
    def volume_change(self) -> float | None:
        """Change of the mentions against the week before, in percent."""
        if not self.previous.mentions:
            return None
        return 100.0 * (self.week.mentions - self.previous.mentions) / self.previous.mentions

    @property
    def net_change(self) -> float | None:
        """Change of the net sentiment, in percentage points."""
        now, before = self.week.net_sentiment, self.previous.net_sentiment
        return None if now is None or before is None else 100.0 * (now - before)


@dataclass(frozen=True, slots=True)
class TopicWeek:
    """A topic this week against the week before: its negative share and examples."""

    topic: str
    mentions: int
    negative: int
    previous_mentions: int
    previous_negative: int
    examples: tuple[MentionBrief, ...] = ()

    @property
    def negative_share(self) -> float:
        return self.negative / self.mentions if self.mentions else 0.0

    @property
    def previous_negative_share(self) -> float | None:
        return self.previous_negative / self.previous_mentions if self.previous_mentions else None

    @property
    def change(self) -> float | None:
        """Change of the negative share in percentage points (positive: got worse)."""
        before = self.previous_negative_share
        return None if before is None else 100.0 * (self.negative_share - before)


@dataclass(frozen=True, slots=True)
class AssigneeResponses:
    """How fast one person answered this week."""

    assignee: str
    responded: int
    median: timedelta
    on_time: int


@dataclass(frozen=True, slots=True)
class ResponseFigures:
    """The team's response times this week, over the scope's items."""

    responded: int
    median: timedelta | None  # the dashboard's figure (``Overview.median_response``)
    p90: timedelta | None
    on_time: int  # responded by the deadline
    by_assignee: tuple[AssigneeResponses, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """The weekly reputation digest: what the renderers turn into HTML, PDF, CSV or Markdown."""

    week: IsoWeek
    since: datetime
    until: datetime  # the end of the week, or now while the week is still running
    brand: str | None  # the brand asked for, or None for all
    scope: tuple[str, ...]  # brand keys the lists cover
    names: dict[str, str]  # brand key -> display name
    brands: tuple[BrandWeek, ...]  # each brand shown, own brands first
    groups: tuple[BrandWeek, ...]  # own brands together, competitors together
    voice: tuple[VoiceShare, ...]  # the week before, then this week
    overview: Overview  # this week, all brands: ratings and the whole queue
    daily: tuple[BrandPeriod, ...]  # the scope's mentions per day and brand
    topics_worse: tuple[TopicWeek, ...]
    topics_better: tuple[TopicWeek, ...]
    flagged: FlaggedItems
    overdue: OverdueItems
    responses: ResponseFigures
    new_sources: tuple[NegativeSource, ...]
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def complete(self) -> bool:
        return self.until >= self.week.until

    @property
    def scope_label(self) -> str:
        """Who the lists are about, for people: a brand name or the own brands' names."""
        return ", ".join(self.names.get(b, b) for b in self.scope) or "all brands"

    @property
    def ratings(self) -> tuple[RatingCount, ...]:
        """Ratings this week of the brands in the table."""
        shown = {b.key for b in self.brands}
        return tuple(r for r in self.overview.ratings if r.brand in shown)

    @property
    def total(self) -> BrandWeek | None:
        """The scope's brands as one row: the headline figures."""
        rows = [r for r in self.brands if not self.scope or r.key in self.scope]
        return BrandWeek.combine("scope", self.scope_label, rows) if rows else None

    def name(self, key: str) -> str:
        return self.names.get(key, key)


def digest_brands(
    brands: Mapping[str, Brand], brand: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(brands in the table, brands in scope) for a digest of ``brand`` or of all brands."""
    if brand is not None and brand not in brands:
        raise ConfigError(
            f"Unknown brand {brand!r}; expected one of {', '.join(sorted(brands))} "
            "(the [brands] keys in repwatch.toml)."
        )
    rivals = tuple(k for k, b in brands.items() if b.competitor)
    if brand is None:
        own = tuple(k for k in brands if k not in rivals)
        return (), own
    return (brand, *(r for r in rivals if r != brand)), (brand,)


def collect_digest(
    session: Session,
    brands: Mapping[str, Brand],
    week: IsoWeek,
    *,
    brand: str | None = None,
    now: datetime | None = None,
) -> Digest:
    """The digest of ``week`` for ``brand`` (or all brands), read in one session."""
    now = now or utcnow()
    if week.since > now:
        raise WeekError(
            f"Week {week} has not started yet; expected {IsoWeek.of(now.date())} or earlier."
        )
    shown, scope = digest_brands(brands, brand)
    since, until = week.since, min(week.until, now)
    before = week.previous.since
    this = views.overview(session, since=since, until=until, bucket="week", brands=shown)
    last = views.overview(session, since=before, until=since, bucket="week", brands=shown)
    daily = views.overview(session, since=since, until=until, bucket="day", brands=scope)
    rivals = {k for k, b in brands.items() if b.competitor}
    names = {k: b.name for k, b in brands.items()}
    rows = _brand_weeks(this.periods, last.periods, names, rivals, week)
    return Digest(
        week=week,
        since=since,
        until=until,
        brand=brand,
        scope=scope,
        names=names,
        brands=tuple(rows),
        groups=tuple(_groups(rows)),
        voice=tuple(views.share_of_voice([*last.periods, *this.periods], rivals)),
        overview=this,
        daily=daily.periods,
        **_topics(session, week, until, scope),
        flagged=views.flagged_items(
            session, since=since, until=until, brands=scope, limit=ITEMS_LISTED
        ),
        overdue=views.overdue_items(session, now=until, brands=scope, limit=ITEMS_LISTED),
        responses=_responses(session, daily, scope),
        new_sources=tuple(
            views.new_negative_sources(session, since=since, until=until, brands=scope)
        ),
        generated_at=now,
    )


def _brand_weeks(
    this: Iterable[BrandPeriod],
    last: Iterable[BrandPeriod],
    names: Mapping[str, str],
    rivals: set[str],
    week: IsoWeek,
) -> list[BrandWeek]:
    """One row per brand with mentions in either week, own brands first, then by volume."""
    now = {p.brand: p for p in this}
    before = {p.brand: p for p in last}
    rows = [
        BrandWeek(
            key=key,
            name=names.get(key, key),
            competitor=key in rivals,
            week=now.get(key) or BrandPeriod(week.monday, key, 0, 0, 0, 0),
            previous=before.get(key) or BrandPeriod(week.previous.monday, key, 0, 0, 0, 0),
        )
        for key in now.keys() | before.keys()
    ]
    return sorted(rows, key=lambda r: (r.competitor, -r.week.mentions, r.key))


def _groups(rows: Sequence[BrandWeek]) -> list[BrandWeek]:
    """Own brands together and competitors together, when both are in the table."""
    own = [r for r in rows if not r.competitor]
    rivals = [r for r in rows if r.competitor]
    if not own or not rivals:
        return []
    return [
        BrandWeek.combine(OWN, "Own brands", own),
        BrandWeek.combine(RIVALS, "Competitors", rivals),
    ]


def _topic_counts(cells: Iterable[TopicCell]) -> dict[str, tuple[int, int]]:
    """Topic -> (mentions, negative) from the heat map's cells."""
    out: dict[str, tuple[int, int]] = {}
    for c in cells:
        total, negative = out.get(c.topic, (0, 0))
        out[c.topic] = (
            total + c.mentions,
            negative + (c.mentions if c.polarity == "negative" else 0),
        )
    return out


def _topics(
    session: Session, week: IsoWeek, until: datetime, scope: tuple[str, ...]
) -> dict[str, tuple[TopicWeek, ...]]:
    """The topics whose negative share rose (or that are new with negative mentions) and
    those whose share fell, the biggest changes first, with example mentions."""
    now = views.topic_summary(session, since=week.since, until=until, brands=scope)
    last = views.topic_summary(session, since=week.previous.since, until=week.since, brands=scope)
    before = _topic_counts(last.cells)
    topics = [
        TopicWeek(topic, total, negative, *before.get(topic, (0, 0)))
        for topic, (total, negative) in _topic_counts(now.cells).items()
    ]
    worse = [t for t in topics if (t.change or 0) > 0 or (t.change is None and t.negative)]
    better = [t for t in topics if (t.change or 0) < 0]
    worse.sort(key=lambda t: (t.change is None, -(t.change or 100 * t.negative_share), t.topic))
    better.sort(key=lambda t: (t.change or 0, t.topic))

    def with_examples(t: TopicWeek, polarity: str) -> TopicWeek:
        examples = views.topic_examples(
            session,
            t.topic,
            since=week.since,
            until=until,
            polarity=polarity,
            brands=scope,
            limit=EXAMPLES_PER_TOPIC,
        )
        return replace(t, examples=tuple(examples))

    return {
        "topics_worse": tuple(with_examples(t, "negative") for t in worse[:TOPICS_LISTED]),
        "topics_better": tuple(with_examples(t, "positive") for t in better[:TOPICS_LISTED]),
    }


def _percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between the sorted values."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _responses(session: Session, daily: Overview, scope: tuple[str, ...]) -> ResponseFigures:
    """Counts and median from ``overview`` (the dashboard's), the rest from each response."""
    times = views.response_times(session, since=daily.since, until=daily.until, brands=scope)
    hours = [t.hours for t in times]
    people: dict[str, list[views.ResponseTime]] = {}
    for t in times:
        people.setdefault(t.assignee or "(unassigned)", []).append(t)
    return ResponseFigures(
        responded=daily.responded,
        median=daily.median_response,
        p90=timedelta(hours=_percentile(hours, 0.9)) if hours else None,
        on_time=sum(t.on_time for t in times),
        by_assignee=tuple(
            AssigneeResponses(
                assignee=name,
                responded=len(done),
                median=timedelta(hours=statistics.median(t.hours for t in done)),
                on_time=sum(t.on_time for t in done),
            )
            for name, done in sorted(people.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ),
    )
