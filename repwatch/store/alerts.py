"""The ``alerts`` table and the counts that spike detection needs.

An alert row is written once per ``key`` ("item:42", "spike:brand:kestrel:2026-11-23T10").
Delivery state lives with it: ``payload["deliveries"]`` maps each target's id to when it got
the alert, so a target that failed is retried later without sending the alert again to the
targets that already have it; ``sent_at`` is set once every configured target has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from repwatch.store.queries import dialect_insert
from repwatch.store.schema import AlertRow, MentionRow, SourceRow, TriageItemRow, UTCDateTime
from repwatch.store.views.sql import dialect_of, latest_analysis, topic_pairs

AlertKind = Literal["item", "spike"]
SpikeSubject = Literal["brand", "topic"]
# 2 of 5 stars on the 0..1 scale (1 star = 0.0); a little slack for float ratings.
NEGATIVE_RATING = 0.25 + 1e-9


@dataclass(frozen=True, slots=True)
class Alert:
    """Something to tell people about, once: a new serious item or a spike."""

    key: str  # unique: "item:42" or "spike:brand:kestrel:2026-11-23T10"
    kind: AlertKind
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)  # the facts, JSON-safe


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as stored, with its delivery state."""

    id: int
    key: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    deliveries: dict[str, str]  # target id -> ISO time it was delivered there
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ItemForAlert:
    """A new triage item with what an alert about it says."""

    item_id: int
    priority: float
    reason: str
    deadline_at: datetime
    flagged_at: datetime
    mention_id: int
    brand: str
    source: str
    url: str
    title: str | None
    text: str
    rating: float | None
    published_at: datetime | None


def _stored(row: AlertRow) -> StoredAlert:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return StoredAlert(
        id=row.id,
        key=row.key,
        kind=row.kind,
        title=row.title,
        body=row.body,
        data=dict(payload.get("data") or {}),
        deliveries=dict(payload.get("deliveries") or {}),
        created_at=row.created_at,
        sent_at=row.sent_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` already have an alert row (sent or not)."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(session.scalars(select(AlertRow.key).where(AlertRow.key.in_(chunk))))
    return found


def add_alerts(session: Session, alerts: Sequence[Alert], *, created_at: datetime) -> list[str]:
    """Store new alerts, pending; keys already stored are left alone. Returns the new keys."""
    added = []
    for alert in alerts:
        stmt = (
            dialect_insert(session, AlertRow)
            .values(
                key=alert.key,
                kind=alert.kind,
                title=alert.title,
                body=alert.body,
                payload={"data": alert.data, "deliveries": {}},
                created_at=created_at,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(AlertRow.key)
        )
        key = session.execute(stmt).scalar()
        if key is not None:
            added.append(str(key))
    return added


def pending_alerts(session: Session, *, lock: bool = False) -> list[StoredAlert]:
    """Alerts not yet delivered to every target, oldest first.

    With ``lock`` on PostgreSQL the rows stay locked (``FOR UPDATE SKIP LOCKED``) until the
    transaction ends, so two overlapping runs never send the same alert; SQLite has no row
    locks (and one writer at a time anyway).
    """
    stmt = select(AlertRow).where(AlertRow.sent_at.is_(None)).order_by(AlertRow.id)
    if lock and dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [_stored(row) for row in session.scalars(stmt)]


def alerts_after(
    session: Session, after: datetime, *, kind: AlertKind | None = None
) -> list[StoredAlert]:
    """Alerts created after ``after`` (not at it), oldest first."""
    stmt = select(AlertRow).where(AlertRow.created_at > after).order_by(AlertRow.id)
    if kind is not None:
        stmt = stmt.where(AlertRow.kind == kind)
    return [_stored(row) for row in session.scalars(stmt)]


def messages_since(session: Session, since: datetime) -> dict[str, int]:
    """Messages sent to each target id since ``since``.

    One run sends each target one message stamped with one time, so the messages are the
    distinct delivery times. Only pending alerts and those sent since ``since`` can hold
    such a delivery: ``sent_at`` is the time of an alert's last delivery.
    """
    stmt = select(AlertRow).where(or_(AlertRow.sent_at.is_(None), AlertRow.sent_at >= since))
    times: dict[str, set[datetime]] = {}
    for row in session.scalars(stmt):
        for target, at in _stored(row).deliveries.items():
            when = datetime.fromisoformat(at)
            if when >= since:
                times.setdefault(target, set()).add(when)
    return {target: len(at) for target, at in times.items()}


def save_delivery(
    session: Session,
    alert_id: int,
    *,
    data: dict[str, Any],
    deliveries: dict[str, str],
    attempts: int,
    last_error: str | None,
    sent_at: datetime | None,
) -> None:
    """Write an alert's delivery state after a run."""
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id)
        .values(
            payload={"data": data, "deliveries": deliveries},
            attempts=attempts,
            last_error=last_error,
            sent_at=sent_at,
        )
    )


def new_items_for_alerts(
    session: Session, *, min_priority: float, flagged_since: datetime
) -> list[ItemForAlert]:
    """Untouched (status ``new``) items of at least ``min_priority`` flagged since then.

    Items already alerted on are not filtered here: see ``existing_keys``.
    """
    stmt = (
        select(
            TriageItemRow.id,
            TriageItemRow.priority,
            TriageItemRow.reason,
            TriageItemRow.deadline_at,
            TriageItemRow.flagged_at,
            MentionRow.id,
            MentionRow.brand,
            SourceRow.key,
            MentionRow.url,
            MentionRow.title,
            MentionRow.text,
            MentionRow.rating,
            MentionRow.published_at,
        )
        .join(MentionRow, MentionRow.id == TriageItemRow.mention_id)
        .join(SourceRow, SourceRow.id == MentionRow.source_id)
        .where(
            TriageItemRow.status == "new",
            TriageItemRow.priority >= min_priority,
            TriageItemRow.flagged_at >= flagged_since,
        )
        .order_by(TriageItemRow.priority.desc(), TriageItemRow.id)
    )
    return [ItemForAlert(*row) for row in session.execute(stmt)]  # type: ignore[call-arg]


def _in_window(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Published in ``[start, end)``; mentions without a date count when they were fetched."""
    published = MentionRow.published_at
    return or_(
        and_(published >= start, published < end),
        and_(published.is_(None), MentionRow.fetched_at >= start, MentionRow.fetched_at < end),
    )


def negative_counts(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    by: SpikeSubject,
    brands: Sequence[str] | None = None,
) -> dict[str, int]:
    """Negative mentions per brand (or per topic) published in ``[start, end)``.

    A mention is negative when its newest analysis says so or it has at most 2 of 5 stars.
    For topics the topic's own polarity counts, else the mention's label (as the topics
    view does); mentions without an analysis have no topics. ``brands`` limits the brands.
    """
    newest, on = latest_analysis(session)
    if by == "brand":
        key: Any = MentionRow.brand
        negative = or_(newest.c.label == "negative", MentionRow.rating <= NEGATIVE_RATING)
        stmt = select(key, func.count()).select_from(MentionRow).outerjoin(newest, on)
    else:
        each, key, polarity = topic_pairs(session, newest.c.topics)
        negative = or_(
            func.coalesce(polarity, newest.c.label) == "negative",
            MentionRow.rating <= NEGATIVE_RATING,
        )
        stmt = select(key, func.count()).select_from(MentionRow).join(newest, on).join(each, true())
    stmt = stmt.where(_in_window(start, end), negative).group_by(key)
    if brands is not None:
        stmt = stmt.where(MentionRow.brand.in_(list(brands)))
    return {str(k): int(n) for k, n in session.execute(stmt)}


def first_seen(session: Session) -> dict[str, datetime]:
    """When each brand's earliest stored mention was published (or fetched, if undated)."""
    when = func.min(
        func.coalesce(MentionRow.published_at, MentionRow.fetched_at), type_=UTCDateTime()
    )
    stmt = select(MentionRow.brand, when).group_by(MentionRow.brand)
    return {str(brand): at for brand, at in session.execute(stmt) if at is not None}
