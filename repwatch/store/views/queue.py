"""The triage queue: a filtered page of items, most urgent first, and its totals.

Fast on a million mentions: the page of item ids is chosen first, from
``triage_items`` alone when the filter allows (index on status and priority), and only
those items are then joined with their mentions and newest analyses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.orm import Session

from repwatch.errors import NotFoundError
from repwatch.store.schema import AnalysisRow, MentionRow, SourceRow, TriageItemRow, UserRow
from repwatch.store.views.records import (
    OPEN_STATUSES,
    QueueFilter,
    QueueItem,
    QueuePage,
    QueueTotals,
)
from repwatch.store.views.sql import has_topic, latest_analysis_id, topic_scores

SAMPLE_ROWS = 10_000  # recent rows read to offer languages and topics as filter options
_ORDER = (TriageItemRow.priority.desc(), TriageItemRow.deadline_at, TriageItemRow.id)


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """Values the queue's filters offer."""

    sources: tuple[str, ...]
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    assignees: tuple[str, ...]


def _item_columns() -> Select[*tuple[Any, ...]]:
    return (
        select(
            TriageItemRow.id,
            TriageItemRow.version,
            TriageItemRow.status,
            TriageItemRow.priority,
            TriageItemRow.deadline_at,
            TriageItemRow.assignee,
            TriageItemRow.reason,
            TriageItemRow.escalated,
            TriageItemRow.flagged_at,
            TriageItemRow.responded_at,
            MentionRow.id,
            MentionRow.brand,
            SourceRow.key,
            MentionRow.url,
            MentionRow.title,
            MentionRow.text,
            MentionRow.author,
            MentionRow.author_reach,
            MentionRow.rating,
            MentionRow.language,
            MentionRow.published_at,
            AnalysisRow.label,
            AnalysisRow.score,
            AnalysisRow.confidence,
            AnalysisRow.topics,
        )
        .join(MentionRow, MentionRow.id == TriageItemRow.mention_id)
        .join(SourceRow, SourceRow.id == MentionRow.source_id)
        .outerjoin(AnalysisRow, AnalysisRow.id == latest_analysis_id())
    )


def _to_item(row: Sequence[Any]) -> QueueItem:
    return QueueItem(*row[:-1], topics=topic_scores(row[-1]))  # type: ignore[misc]


def _filtered_ids(f: QueueFilter) -> Select[Any]:
    """``SELECT triage_items.id`` for the filter, unordered and unlimited."""
    stmt = select(TriageItemRow.id).where(TriageItemRow.status.in_(list(f.statuses)))
    if f.assignee is not None:
        stmt = stmt.where(TriageItemRow.assignee == f.assignee)
    if f.unassigned:
        stmt = stmt.where(TriageItemRow.assignee.is_(None))
    if f.escalated:
        stmt = stmt.where(TriageItemRow.escalated.is_(true()))
    if not f.needs_mention:
        return stmt
    stmt = stmt.join(MentionRow, MentionRow.id == TriageItemRow.mention_id)
    if f.brands:
        stmt = stmt.where(MentionRow.brand.in_(f.brands))
    if f.sources:
        keys = select(SourceRow.id).where(SourceRow.key.in_(f.sources))
        stmt = stmt.where(MentionRow.source_id.in_(keys))
    if f.languages:
        stmt = stmt.where(MentionRow.language.in_(f.languages))
    if f.published_from is not None:
        stmt = stmt.where(MentionRow.published_at >= f.published_from)
    if f.published_to is not None:
        stmt = stmt.where(MentionRow.published_at < f.published_to)
    words = f.search.split()
    for word in words:  # every word, anywhere in title, text or author
        stmt = stmt.where(
            or_(
                MentionRow.text.icontains(word, autoescape=True),
                MentionRow.title.icontains(word, autoescape=True),
                MentionRow.author.icontains(word, autoescape=True),
            )
        )
    if f.topic:
        stmt = stmt.join(AnalysisRow, AnalysisRow.id == latest_analysis_id()).where(
            has_topic(f.topic)
        )
    return stmt


def filtered_queue(
    session: Session, f: QueueFilter | None = None, *, limit: int = 50, offset: int = 0
) -> QueuePage:
    """A page of triage items matching ``f``, most urgent first (priority, deadline, id)."""
    f = f or QueueFilter()
    if not f.statuses:
        return QueuePage((), offset, False)
    ids = list(session.scalars(_filtered_ids(f).order_by(*_ORDER).limit(limit + 1).offset(offset)))
    has_more = len(ids) > limit
    items = queue_items(session, ids[:limit])
    return QueuePage(tuple(items), offset, has_more)


def queue_items(session: Session, item_ids: Sequence[int]) -> list[QueueItem]:
    """These triage items as the queue shows them, in the order given (missing ones left out)."""
    if not item_ids:
        return []
    rows = session.execute(_item_columns().where(TriageItemRow.id.in_(list(item_ids))))
    by_id = {row[0]: _to_item(row) for row in rows}
    return [by_id[i] for i in item_ids if i in by_id]


def queue_item(session: Session, item_id: int) -> QueueItem:
    """One triage item; ``NotFoundError`` when there is none with this id."""
    found = queue_items(session, [item_id])
    if not found:
        raise NotFoundError(
            f"There is no triage item {item_id}. It may have been deleted; "
            "go back to the queue and pick another."
        )
    return found[0]


def queue_totals(session: Session, now: datetime) -> QueueTotals:
    """Open, overdue, escalated and unassigned open items (over all brands)."""
    open_ = TriageItemRow.status.in_(list(OPEN_STATUSES))
    row = session.execute(
        select(
            func.count(),
            func.count().filter(TriageItemRow.deadline_at < now),
            func.count().filter(TriageItemRow.escalated.is_(true())),
            func.count().filter(TriageItemRow.assignee.is_(None)),
        ).where(open_)
    ).one()
    return QueueTotals(*(int(n or 0) for n in row))


def filter_options(session: Session) -> FilterOptions:
    """Sources, languages and topics seen recently, and people items can be assigned to."""
    sources = tuple(session.scalars(select(SourceRow.key).order_by(SourceRow.key)))
    recent = (
        select(MentionRow.language).order_by(MentionRow.id.desc()).limit(SAMPLE_ROWS).subquery()
    )
    languages = session.scalars(select(recent.c.language).distinct())
    topics: set[str] = set()
    recent_topics = select(AnalysisRow.topics).order_by(AnalysisRow.id.desc()).limit(SAMPLE_ROWS)
    for raw in session.scalars(recent_topics):
        topics.update(t.key for t in topic_scores(raw))
    return FilterOptions(
        sources=sources,
        languages=tuple(sorted(lang for lang in languages if lang)),
        topics=tuple(sorted(topics)),
        assignees=assignees(session),
    )


def assignees(session: Session) -> tuple[str, ...]:
    """Active agents and admins, and whoever open items are assigned to now."""
    users = select(UserRow.username).where(
        UserRow.role.in_(["agent", "admin"]), UserRow.disabled.is_(false())
    )
    current = (
        select(TriageItemRow.assignee)
        .distinct()
        .where(TriageItemRow.status.in_(list(OPEN_STATUSES)), TriageItemRow.assignee.is_not(None))
    )
    names = set(session.scalars(users)) | {n for n in session.scalars(current) if n}
    return tuple(sorted(names))
