"""The manager's overview: volume and sentiment over time per brand, ratings, the queue.

One grouped scan of the period's mentions (by day, brand, sentiment and rating) feeds
every chart; weeks and months are folded from days here, the same on both backends.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Float, func, select
from sqlalchemy.orm import Session

from repwatch.store.schema import MentionRow, TriageItemRow
from repwatch.store.views.queue import queue_totals
from repwatch.store.views.records import BrandPeriod, Bucket, Overview, RatingCount
from repwatch.store.views.sql import day_text, dialect_of, latest_analysis, tune_for_aggregates


def period_start(day: date, bucket: Bucket) -> date:
    """The first day of the day, week (Monday) or month that ``day`` falls in."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def overview(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket = "week",
    brands: Sequence[str] = (),
) -> Overview:
    """Mentions published in ``[since, until)`` by period and brand, plus queue figures."""
    day = day_text(session, MentionRow.published_at).label("day")
    newest, on = latest_analysis(session)
    stmt = (
        select(day, MentionRow.brand, newest.c.label, MentionRow.rating, func.count())
        .select_from(MentionRow)
        .outerjoin(newest, on)
        .where(MentionRow.published_at >= since, MentionRow.published_at < until)
        .group_by(day, MentionRow.brand, newest.c.label, MentionRow.rating)
    )
    tune_for_aggregates(session)
    if brands:
        stmt = stmt.where(MentionRow.brand.in_(list(brands)))
    rows = [
        (date.fromisoformat(d), b, label, rating, int(n))
        for d, b, label, rating, n in session.execute(stmt)
    ]
    totals = queue_totals(session, until)
    durations = response_hours(session, since=since, until=until, brands=brands)
    return Overview(
        since=since,
        until=until,
        bucket=bucket,
        periods=tuple(_periods(rows, bucket)),
        ratings=tuple(_ratings(rows)),
        open_items=totals.open_items,
        overdue_items=totals.overdue,
        escalated_items=totals.escalated,
        responded=len(durations),
        median_response=(timedelta(hours=statistics.median(durations)) if durations else None),
    )


def _periods(
    rows: Iterable[tuple[date, str, str | None, float | None, int]], bucket: Bucket
) -> list[BrandPeriod]:
    counts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, brand, label, _rating, n in rows:
        cell = counts[(period_start(day, bucket), brand)]
        cell["mentions"] += n
        if label is not None:
            cell[label] += n
    return [
        BrandPeriod(period, brand, c["mentions"], c["negative"], c["neutral"], c["positive"])
        for (period, brand), c in sorted(counts.items())
    ]


def _ratings(
    rows: Iterable[tuple[date, str, str | None, float | None, int]],
) -> list[RatingCount]:
    counts: dict[tuple[str, int | None], int] = defaultdict(int)
    for _day, brand, _label, rating, n in rows:
        count = None if rating is None else min(5, max(1, round(1 + 4 * rating)))  # 0..1 -> stars
        counts[(brand, count)] += n
    return [
        RatingCount(brand, count, n)
        for (brand, count), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
    ]


def response_hours(
    session: Session, *, since: datetime, until: datetime, brands: Sequence[str] = ()
) -> list[float]:
    """Hours from flagging to the response, for items responded to in ``[since, until)``."""
    if dialect_of(session) == "postgresql":
        hours = func.extract("epoch", TriageItemRow.responded_at - TriageItemRow.flagged_at) / 3600
    else:
        days = func.julianday(TriageItemRow.responded_at) - func.julianday(TriageItemRow.flagged_at)
        hours = days * 24
    stmt = select(hours.cast(Float)).where(
        TriageItemRow.responded_at >= since, TriageItemRow.responded_at < until
    )
    if brands:
        stmt = stmt.join(MentionRow, MentionRow.id == TriageItemRow.mention_id).where(
            MentionRow.brand.in_(list(brands))
        )
    return [float(h) for h in session.scalars(stmt) if h is not None]


@dataclass(frozen=True, slots=True)
class VoiceShare:
    """Own brands' and competitors' mentions in one period."""

    period: date
    own: int
    competitors: int

    @property
    def own_share(self) -> float | None:
        total = self.own + self.competitors
        return None if total == 0 else self.own / total


def share_of_voice(periods: Iterable[BrandPeriod], competitors: Iterable[str]) -> list[VoiceShare]:
    """Own against competitor mentions per period (``competitors``: brand keys)."""
    rivals = set(competitors)
    own: dict[date, int] = defaultdict(int)
    other: dict[date, int] = defaultdict(int)
    for p in periods:
        (other if p.brand in rivals else own)[p.period] += p.mentions
    return [VoiceShare(d, own[d], other[d]) for d in sorted(own.keys() | other.keys())]
