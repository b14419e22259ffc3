"""Topics: the topic x sentiment heat map, month-over-month change, and the items behind it.

A topic's polarity comes from the newest analysis (``{"delivery": {"score": 0.9,
"polarity": "negative"}}``); a topic without one takes the mention's overall label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from repwatch.store.schema import MentionRow
from repwatch.store.views.detail import briefs
from repwatch.store.views.records import (
    MentionBrief,
    TopicCell,
    TopicChange,
    TopicMonth,
    TopicSummary,
)
from repwatch.store.views.sql import (
    has_topic,
    latest_analysis,
    month_text,
    topic_pairs,
    tune_for_aggregates,
)

POLARITIES = ("negative", "neutral", "positive")


def month_bounds(month: date) -> tuple[date, date]:
    """The first day of ``month`` and of the month after it."""
    first = month.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, after


def topic_summary(
    session: Session, *, since: datetime, until: datetime, brands: Sequence[str] = ()
) -> TopicSummary:
    """Mentions per topic, polarity and month, published in ``[since, until)``."""
    newest, on = latest_analysis(session)
    each, key, polarity = topic_pairs(session, newest.c.topics)
    month = month_text(session, MentionRow.published_at).label("month")
    pol = func.coalesce(polarity, newest.c.label).label("polarity")
    stmt = (
        select(month, key, pol, func.count())
        .select_from(MentionRow)
        .join(newest, on)
        .join(each, true())
        .where(MentionRow.published_at >= since, MentionRow.published_at < until)
        .group_by(month, key, pol)
    )
    if brands:
        stmt = stmt.where(MentionRow.brand.in_(list(brands)))
    tune_for_aggregates(session)
    rows = [
        (date.fromisoformat(f"{m}-01"), str(k), str(p), int(n))
        for m, k, p, n in session.execute(stmt)
    ]
    months = _months(rows)
    return TopicSummary(
        since=since,
        until=until,
        cells=tuple(_cells(rows)),
        months=tuple(months),
        changes=tuple(_changes(months)),
    )


def _cells(rows: Iterable[tuple[date, str, str, int]]) -> list[TopicCell]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for _month, topic, polarity, n in rows:
        counts[(topic, polarity)] += n
    return [TopicCell(t, p, n) for (t, p), n in sorted(counts.items())]


def _months(rows: Iterable[tuple[date, str, str, int]]) -> list[TopicMonth]:
    counts: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, topic, polarity, n in rows:
        cell = counts[(topic, month)]
        cell["mentions"] += n
        cell[polarity] += n
    return [
        TopicMonth(topic, month, c["mentions"], c["negative"], c["positive"])
        for (topic, month), c in sorted(counts.items())
    ]


def _changes(months: Sequence[TopicMonth]) -> list[TopicChange]:
    """Each topic's newest month against the calendar month before it, worst first."""
    by_topic: dict[str, dict[date, TopicMonth]] = defaultdict(dict)
    for m in months:
        by_topic[m.topic][m.month] = m
    if not months:
        return []
    newest = max(m.month for m in months)
    previous = (newest.replace(day=1) - timedelta(days=1)).replace(day=1)
    out = []
    for topic, per_month in by_topic.items():
        now = per_month.get(newest)
        if now is None:
            continue
        before = per_month.get(previous)
        out.append(
            TopicChange(
                topic=topic,
                month=newest,
                mentions=now.mentions,
                previous_mentions=before.mentions if before else 0,
                negative_share=now.negative_share,
                previous_negative_share=before.negative_share if before else None,
            )
        )
    return sorted(out, key=lambda c: (-(c.change if c.change is not None else -1e9), c.topic))


def topic_items(
    session: Session,
    topic: str,
    month: date,
    *,
    polarity: str | None = None,
    brands: Sequence[str] = (),
    limit: int = 50,
) -> list[MentionBrief]:
    """Mentions about ``topic`` published in ``month``, the most negative first."""
    first, after = month_bounds(month)
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    end = datetime(after.year, after.month, 1, tzinfo=UTC)
    newest, on = latest_analysis(session)
    stmt = (
        select(MentionRow.id)
        .join(newest, on)
        .where(
            MentionRow.published_at >= start,
            MentionRow.published_at < end,
            has_topic(topic, newest.c.topics),
        )
        .order_by(newest.c.score, MentionRow.id)
        .limit(limit)
    )
    if polarity is not None:
        topic_polarity = newest.c.topics[(topic, "polarity")].as_string()
        stmt = stmt.where(func.coalesce(topic_polarity, newest.c.label) == polarity)
    if brands:
        stmt = stmt.where(MentionRow.brand.in_(list(brands)))
    return briefs(session, list(session.scalars(stmt)))
