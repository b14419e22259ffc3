"""Claiming mentions to score, so several ``repwatch score`` workers never score one twice.

On PostgreSQL a worker claims a batch with ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``:
the rows stay locked until its transaction ends, and the other workers skip them and take
the next ones. ``NO KEY UPDATE`` is the weaker form of ``FOR UPDATE``: it excludes other
workers and edits of the mention, but not inserts that merely reference it (the analyses
and triage items), so saving the batch and flagging never wait for a worker.

On SQLite there are no row locks and one writer at a time: ``claim_unscored`` is the plain
``unscored_mentions`` query, and a single worker per database is the supported setup.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from repwatch.records import MentionText
from repwatch.store import queries
from repwatch.store.schema import MentionRow


def claims_rows(session: Session) -> bool:
    """Whether ``claim_unscored`` locks what it returns (PostgreSQL) or not (SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def claim_unscored(
    session: Session, model_name: str, model_revision: str, limit: int, *, after_id: int = 0
) -> list[MentionText]:
    """The next ``limit`` mentions (by id, after ``after_id``) not scored by this revision.

    On PostgreSQL they are locked for this transaction and skipped by every other one:
    score and save them in the same transaction (see ``sentiment.score``).
    """
    if not claims_rows(session):
        return queries.unscored_mentions(
            session, model_name, model_revision, limit=limit, after_id=after_id
        )
    unscored = ~queries.analysed_by(model_name, model_revision)
    stmt = (
        select(MentionRow.id, MentionRow.text, MentionRow.title, MentionRow.language)
        .where(MentionRow.id > after_id, unscored)
        .order_by(MentionRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True, of=MentionRow)
    )
    while True:
        claimed = [MentionText(*row) for row in session.execute(stmt)]
        if not claimed:
            return []
        # A worker that committed between this statement's snapshot and its lock left its
        # analyses invisible to it; a new statement sees them, so drop what it just scored
        # (and look again when that was all of them: the next query no longer matches them).
        ids = [m.id for m in claimed]
        still = set(session.scalars(select(MentionRow.id).where(MentionRow.id.in_(ids), unscored)))
        if still:
            return [m for m in claimed if m.id in still]
