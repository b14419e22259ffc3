"""Every read and write the crawler, the scorer, the triage rules and the dashboard need.

Functions take a ``Session`` inside a transaction (see ``session_scope``) and return
``repwatch.records`` values. Writes are idempotent: re-running a step never duplicates a row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repwatch.errors import NotFoundError
from repwatch.records import (
    ActionRow,
    Analysis,
    Counts,
    FlagCandidate,
    MentionRecord,
    MentionText,
    QueueRow,
    Status,
    TriageDecision,
    UpsertResult,
)
from repwatch.store import actions
from repwatch.store.schema import (
    AnalysisRow,
    MentionRevisionRow,
    MentionRow,
    SourceRow,
    TriageActionRow,
    TriageItemRow,
    utcnow,
)
from repwatch.store.views.detail import action_log
from repwatch.store.views.queue import filtered_queue, queue_item
from repwatch.store.views.records import QueueFilter

SYSTEM_ACTOR = "repwatch"
log = logging.getLogger(__name__)


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"repwatch supports SQLite and PostgreSQL, not {dialect}")


def ensure_source(session: Session, *, key: str, kind: str, brand: str, url: str) -> int:
    """The id of the source ``key``, created or brought up to date with the config."""
    stmt = (
        dialect_insert(session, SourceRow)
        .values(key=key, kind=kind, brand=brand, url=url, created_at=utcnow())
        .on_conflict_do_update(
            index_elements=["key"], set_={"kind": kind, "brand": brand, "url": url}
        )
    )
    session.execute(stmt)
    return int(session.scalars(select(SourceRow.id).where(SourceRow.key == key)).one())


@dataclass(frozen=True, slots=True)
class SourcePause:
    """Who paused a source, and since when."""

    source: str
    by: str
    since: datetime


def set_source_paused(
    session: Session,
    *,
    key: str,
    kind: str,
    brand: str,
    url: str,
    paused: bool,
    actor: str,
) -> None:
    """Pause or resume crawling the source ``key`` (created from its config if new)."""
    ensure_source(session, key=key, kind=kind, brand=brand, url=url)
    session.execute(
        update(SourceRow)
        .where(SourceRow.key == key)
        .values(paused_by=actor if paused else None, paused_at=utcnow() if paused else None)
    )
    log.info("source %s %s by %s", key, "paused" if paused else "resumed", actor)


def paused_sources(session: Session) -> dict[str, SourcePause]:
    """The paused sources by key."""
    stmt = select(SourceRow.key, SourceRow.paused_by, SourceRow.paused_at).where(
        SourceRow.paused_at.is_not(None)
    )
    return {
        key: SourcePause(key, by or "?", at)
        for key, by, at in session.execute(stmt)
        if at is not None
    }


def upsert_mentions(session: Session, records: Sequence[MentionRecord]) -> UpsertResult:
    """Store mentions: new ones are inserted, edited ones updated, the rest left alone.

    Sources must exist (``ensure_source``). Duplicates inside ``records`` count once.
    """
    if not records:
        return UpsertResult()
    keys = {r.source for r in records}
    source_ids = dict(
        session.execute(select(SourceRow.key, SourceRow.id).where(SourceRow.key.in_(keys))).all()
    )
    missing = keys - source_ids.keys()
    if missing:
        raise NotFoundError(f"Unknown source(s) {sorted(missing)}: call ensure_source first")

    unique: dict[tuple[int, str], MentionRecord] = {}
    for record in records:
        unique[(source_ids[record.source], record.external_id)] = record
    existing: dict[tuple[int, str], str] = {}
    engagement: dict[tuple[int, str], tuple[int | None, Any]] = {}
    for source_id in {sid for sid, _ in unique}:
        ids = [ext for sid, ext in unique if sid == source_id]
        rows = session.execute(
            select(
                MentionRow.external_id,
                MentionRow.content_hash,
                MentionRow.author_reach,
                MentionRow.metrics,
            ).where(MentionRow.source_id == source_id, MentionRow.external_id.in_(ids))
        )
        for ext, digest, reach, metrics in rows.all():
            existing[(source_id, ext)] = digest
            engagement[(source_id, ext)] = (reach, metrics)

    now = utcnow()
    new = updated = unchanged = 0
    edited: list[tuple[int, str]] = []
    rows_to_write: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    for (source_id, external_id), record in unique.items():
        digest = record.content_hash
        old = existing.get((source_id, external_id))
        if old == digest:
            unchanged += 1
            # Reach and engagement change without an edit: refresh them, still "unchanged".
            reach, metrics = engagement[(source_id, external_id)]
            new_reach = reach if record.author_reach is None else record.author_reach
            new_metrics = metrics if record.metrics is None else record.metrics
            if (new_reach, new_metrics) != (reach, metrics):
                refreshed.append(
                    {
                        "k_source": source_id,
                        "k_external": external_id,
                        "author_reach": new_reach,
                        "metrics": new_metrics,
                    }
                )
            continue
        if old is None:
            new += 1
        else:
            updated += 1
            edited.append((source_id, external_id))
        rows_to_write.append(
            {
                "source_id": source_id,
                "brand": record.brand,
                "url": record.url,
                "external_id": external_id,
                "author": record.author,
                "author_reach": record.author_reach,
                "title": record.title,
                "text": record.text,
                "rating": record.rating,
                "language": record.language,
                # An edit re-opens language detection: a stated language then gets 1.0 again.
                "language_confidence": None,
                "published_at": record.published_at,
                "fetched_at": now,
                "updated_at": now,
                "content_hash": digest,
                "metrics": record.metrics,
            }
        )
    _keep_revisions(session, edited, now)
    if refreshed:
        table = MentionRow.metadata.tables[MentionRow.__tablename__]
        session.connection().execute(
            update(table)
            .where(
                table.c.source_id == bindparam("k_source"),
                table.c.external_id == bindparam("k_external"),
            )
            .values(author_reach=bindparam("author_reach"), metrics=bindparam("metrics")),
            refreshed,
        )
    if rows_to_write:
        stmt = dialect_insert(session, MentionRow)
        changed = (
            "url",
            "author",
            "author_reach",
            "title",
            "text",
            "rating",
            "language",
            "language_confidence",
            "published_at",
            "updated_at",
            "content_hash",
            "metrics",
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["source_id", "external_id"],
            set_={name: stmt.excluded[name] for name in changed},
            where=MentionRow.content_hash != stmt.excluded.content_hash,
        )
        session.execute(stmt, rows_to_write)
    return UpsertResult(new=new, updated=updated, unchanged=unchanged)


def _keep_revisions(session: Session, keys: Sequence[tuple[int, str]], now: datetime) -> None:
    """Copy what edited mentions said before into ``mention_revisions``."""
    for source_id in {sid for sid, _ in keys}:
        ids = [ext for sid, ext in keys if sid == source_id]
        old = session.execute(
            select(
                MentionRow.id,
                MentionRow.title,
                MentionRow.text,
                MentionRow.rating,
                MentionRow.content_hash,
            ).where(MentionRow.source_id == source_id, MentionRow.external_id.in_(ids))
        ).all()
        session.add_all(
            MentionRevisionRow(
                mention_id=m_id,
                title=title,
                text=text,
                rating=rating,
                content_hash=digest,
                replaced_at=now,
            )
            for m_id, title, text, rating, digest in old
        )
    session.flush()


def mention_history(session: Session, mention_id: int) -> list[tuple[datetime, str]]:
    """Earlier texts of an edited mention, oldest first, with when they were replaced."""
    stmt = (
        select(MentionRevisionRow.replaced_at, MentionRevisionRow.text)
        .where(MentionRevisionRow.mention_id == mention_id)
        .order_by(MentionRevisionRow.id)
    )
    return [(at, text) for at, text in session.execute(stmt)]


def count_unscored(session: Session, model_name: str, model_revision: str) -> int:
    """How many mentions have no analysis by this model revision yet."""
    stmt = (
        select(func.count()).select_from(MentionRow).where(~analysed_by(model_name, model_revision))
    )
    return int(session.scalar(stmt) or 0)


def analysed_by(model_name: str, model_revision: str) -> Any:
    """This model revision has scored the mention's current text (not an earlier edit)."""
    return (
        select(AnalysisRow.id)
        .where(
            AnalysisRow.mention_id == MentionRow.id,
            AnalysisRow.model_name == model_name,
            AnalysisRow.model_revision == model_revision,
            AnalysisRow.created_at >= MentionRow.updated_at,
        )
        .exists()
    )


def unscored_mentions(
    session: Session, model_name: str, model_revision: str, *, limit: int, after_id: int = 0
) -> list[MentionText]:
    """The next ``limit`` mentions (by id, after ``after_id``) not scored by this revision."""
    stmt = (
        select(MentionRow.id, MentionRow.text, MentionRow.title, MentionRow.language)
        .where(MentionRow.id > after_id, ~analysed_by(model_name, model_revision))
        .order_by(MentionRow.id)
        .limit(limit)
    )
    return [MentionText(*row) for row in session.execute(stmt)]


def save_analyses(session: Session, analyses: Iterable[Analysis]) -> int:
    """Store analyses; a re-score of an edited mention replaces that revision's old verdict.

    Analyses by other model revisions are kept, for comparison.
    """
    rows = [
        {
            "mention_id": a.mention_id,
            "model_name": a.model_name,
            "model_revision": a.model_revision,
            "label": a.label,
            "score": a.score,
            "confidence": a.confidence,
            "probabilities": a.probabilities,
            "topics": {
                key: {"score": t.score, "polarity": t.polarity} for key, t in a.topics.items()
            },
            "created_at": utcnow(),
        }
        for a in analyses
    ]
    if not rows:
        return 0
    stmt = dialect_insert(session, AnalysisRow)
    stmt = stmt.on_conflict_do_update(
        index_elements=["mention_id", "model_name", "model_revision"],
        set_={
            name: stmt.excluded[name]
            for name in ("label", "score", "confidence", "probabilities", "topics", "created_at")
        },
    )
    session.execute(stmt, rows)
    return len(rows)


def _latest_analysis_ids() -> Any:
    return (
        select(func.max(AnalysisRow.id).label("id"))
        .group_by(AnalysisRow.mention_id)
        .subquery("latest")
    )


def flag_candidates(session: Session) -> list[FlagCandidate]:
    """Mentions not yet in the triage queue, each with its newest analysis (if any)."""
    latest = _latest_analysis_ids()
    analysis = (
        select(AnalysisRow).where(AnalysisRow.id.in_(select(latest.c.id))).subquery("analysis")
    )
    stmt = (
        select(
            MentionRow.id,
            MentionRow.rating,
            MentionRow.published_at,
            MentionRow.author_reach,
            analysis.c.label,
            analysis.c.probabilities,
            analysis.c.score,
        )
        .outerjoin(analysis, analysis.c.mention_id == MentionRow.id)
        .where(~select(TriageItemRow.id).where(TriageItemRow.mention_id == MentionRow.id).exists())
        .order_by(MentionRow.id)
    )
    out = []
    for mention_id, rating, published, reach, label, probs, score in session.execute(stmt):
        negative = None if probs is None else float(probs.get("negative", 0.0))
        out.append(FlagCandidate(mention_id, rating, published, reach, label, negative, score))
    return out


def add_triage_items(session: Session, decisions: Iterable[TriageDecision]) -> int:
    """Put mentions in the triage queue (once each) and log it; returns how many were new."""
    added = 0
    for decision in decisions:
        stmt = (
            dialect_insert(session, TriageItemRow)
            .values(
                mention_id=decision.mention_id,
                status="new",
                priority=decision.priority,
                deadline_at=decision.deadline_at,
                reason=decision.reason,
                flagged_at=utcnow(),
                version=1,
            )
            .on_conflict_do_nothing(index_elements=["mention_id"])
            .returning(TriageItemRow.id)
        )
        item_id = session.execute(stmt).scalar()
        if item_id is None:
            continue
        added += 1
        session.add(
            TriageActionRow(
                item_id=item_id,
                action="flagged",
                actor=SYSTEM_ACTOR,
                at=utcnow(),
                from_status=None,
                to_status="new",
                detail=decision.reason,
            )
        )
    return added


def triage_queue(
    session: Session,
    *,
    statuses: Sequence[Status] = ("new", "assigned"),
    brand: str | None = None,
    limit: int = 50,
) -> list[QueueRow]:
    """Flagged items in these statuses, most urgent first (priority, then deadline).

    The page of items is chosen first and only its rows are joined (see
    ``repwatch.store.views.queue``), so it stays fast on millions of mentions.
    """
    f = QueueFilter(statuses=tuple(statuses), brands=(brand,) if brand is not None else ())
    return [item.to_queue_row() for item in filtered_queue(session, f, limit=limit).items]


def triage_item(session: Session, item_id: int) -> QueueRow:
    """One triage item as the queue shows it; ``NotFoundError`` when there is none."""
    return queue_item(session, item_id).to_queue_row()


def change_status(
    session: Session,
    item_id: int,
    *,
    expected_version: int,
    to_status: Status,
    actor: str,
    detail: str | None = None,
    assignee: str | None = None,
) -> QueueRow:
    """Move an item to ``to_status`` if nobody changed it since ``expected_version`` was read.

    Raises ``ConflictError`` (an ``actions.ItemConflict`` with the fresh state) naming
    who changed it. Moving to ``responded`` records the time of the first response.
    """
    item = actions.set_status(
        session,
        item_id,
        expected_version=expected_version,
        to_status=to_status,
        actor=actor,
        detail=detail,
        assignee=assignee,
    )
    return item.to_queue_row()


def item_actions(session: Session, item_id: int) -> list[ActionRow]:
    """The action log of one item, oldest first."""
    return action_log(session, item_id)


def counts(session: Session) -> Counts:
    """Totals: mentions, mentions with any analysis, flagged items, open items."""
    mentions = session.scalar(select(func.count()).select_from(MentionRow)) or 0
    analysed = session.scalar(select(func.count(func.distinct(AnalysisRow.mention_id)))) or 0
    flagged = session.scalar(select(func.count()).select_from(TriageItemRow)) or 0
    open_items = (
        session.scalar(
            select(func.count())
            .select_from(TriageItemRow)
            .where(TriageItemRow.status.in_(["new", "assigned"]))
        )
        or 0
    )
    return Counts(mentions, analysed, flagged, open_items)
