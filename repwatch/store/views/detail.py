"""One triage item in full: scores, action log, corrections, the author's other mentions
and near-duplicates of its text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repwatch.records import ActionRow
from repwatch.store.schema import (
    AnalysisRow,
    LabelRow,
    MentionRevisionRow,
    MentionRow,
    SourceRow,
    TriageActionRow,
    TriageItemRow,
)
from repwatch.store.views.queue import queue_item
from repwatch.store.views.records import (
    AnalysisView,
    ItemDetail,
    LabelView,
    MentionBrief,
)
from repwatch.store.views.sql import latest_analysis_id, topic_scores

NEAR_DUPLICATE_DAYS = 7  # candidates are published this close to the mention
NEAR_DUPLICATE_CANDIDATES = 5_000
NEAR_DUPLICATE_THRESHOLD = 0.5  # Jaccard similarity of word shingles
LENGTH_RATIO = 0.7  # candidates are at least this long relative to each other
_WORD = re.compile(r"\w+")


def item_detail(session: Session, item_id: int) -> ItemDetail:
    """Everything about one triage item; ``NotFoundError`` when it does not exist."""
    item = queue_item(session, item_id)
    analyses = session.execute(
        select(
            AnalysisRow.model_name,
            AnalysisRow.model_revision,
            AnalysisRow.label,
            AnalysisRow.score,
            AnalysisRow.confidence,
            AnalysisRow.probabilities,
            AnalysisRow.topics,
            AnalysisRow.created_at,
        )
        .where(AnalysisRow.mention_id == item.mention_id)
        .order_by(AnalysisRow.id.desc())
    )
    actions = action_log(session, item_id)
    labels = session.execute(
        select(LabelRow.kind, LabelRow.value, LabelRow.polarity, LabelRow.actor, LabelRow.at)
        .where(LabelRow.mention_id == item.mention_id)
        .order_by(LabelRow.id.desc())
    )
    revisions = session.execute(
        select(MentionRevisionRow.replaced_at, MentionRevisionRow.text)
        .where(MentionRevisionRow.mention_id == item.mention_id)
        .order_by(MentionRevisionRow.id)
    )
    metrics = session.scalar(select(MentionRow.metrics).where(MentionRow.id == item.mention_id))
    return ItemDetail(
        item=item,
        analyses=tuple(
            AnalysisView(name, rev, label, score, conf, dict(probs or {}), topic_scores(t), at)
            for name, rev, label, score, conf, probs, t, at in analyses
        ),
        actions=tuple(actions),
        labels=tuple(LabelView(*row) for row in labels),
        revisions=tuple((at, text) for at, text in revisions),
        metrics=dict(metrics or {}),
    )


def _brief_columns() -> Any:
    return (
        select(
            MentionRow.id,
            TriageItemRow.id,
            MentionRow.brand,
            SourceRow.key,
            MentionRow.url,
            MentionRow.title,
            MentionRow.text,
            MentionRow.author,
            MentionRow.rating,
            MentionRow.published_at,
            AnalysisRow.label,
        )
        .join(SourceRow, SourceRow.id == MentionRow.source_id)
        .outerjoin(TriageItemRow, TriageItemRow.mention_id == MentionRow.id)
        .outerjoin(AnalysisRow, AnalysisRow.id == latest_analysis_id())
    )


def briefs(session: Session, mention_ids: Sequence[int]) -> list[MentionBrief]:
    """These mentions as list entries, in the order given."""
    if not mention_ids:
        return []
    rows = session.execute(_brief_columns().where(MentionRow.id.in_(list(mention_ids))))
    by_id = {row[0]: MentionBrief(*row) for row in rows}
    return [by_id[i] for i in mention_ids if i in by_id]


def author_mentions(session: Session, mention_id: int, *, limit: int = 20) -> list[MentionBrief]:
    """Other mentions by the author of ``mention_id`` on the same source, newest first."""
    author, source_id = session.execute(
        select(MentionRow.author, MentionRow.source_id).where(MentionRow.id == mention_id)
    ).one()
    if not author:
        return []
    ids = session.scalars(
        select(MentionRow.id)
        .where(
            MentionRow.author == author,
            MentionRow.source_id == source_id,  # a name is only an identity within a source
            MentionRow.id != mention_id,
        )
        .order_by(MentionRow.published_at.desc(), MentionRow.id.desc())
        .limit(limit)
    )
    return briefs(session, list(ids))


def shingles(text: str, size: int = 3) -> frozenset[str]:
    """Overlapping runs of ``size`` lower-cased words (the words themselves for short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two shingle sets, 0..1."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicates(
    session: Session,
    mention_id: int,
    *,
    limit: int = 10,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> list[MentionBrief]:
    """Mentions of the same brand whose text nearly matches, most similar first.

    Candidates are the mentions published within ``NEAR_DUPLICATE_DAYS`` of this one and
    of similar length, so the search stays cheap on millions of mentions: copied
    reviews and coordinated posts appear within days of each other.
    """
    brand, text, published = session.execute(
        select(MentionRow.brand, MentionRow.text, MentionRow.published_at).where(
            MentionRow.id == mention_id
        )
    ).one()
    mine = shingles(text)
    if not mine:
        return []
    length = len(text)
    stmt = select(MentionRow.id, MentionRow.text).where(
        MentionRow.brand == brand,
        MentionRow.id != mention_id,
        func.length(MentionRow.text).between(
            int(length * LENGTH_RATIO), int(length / LENGTH_RATIO)
        ),
    )
    if published is not None:
        window = timedelta(days=NEAR_DUPLICATE_DAYS)
        stmt = stmt.where(MentionRow.published_at.between(published - window, published + window))
    else:
        stmt = stmt.order_by(MentionRow.id.desc())
    scored = []
    for other_id, other_text in session.execute(stmt.limit(NEAR_DUPLICATE_CANDIDATES)):
        score = similarity(mine, shingles(other_text))
        if score >= threshold:
            scored.append((score, other_id))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    top = scored[:limit]
    found = {b.mention_id: b for b in briefs(session, [i for _, i in top])}
    return [replace(found[i], similarity=round(score, 3)) for score, i in top if i in found]


def action_log(session: Session, item_id: int) -> list[ActionRow]:
    """The action log of one triage item, oldest first."""
    stmt = (
        select(
            TriageActionRow.item_id,
            TriageActionRow.action,
            TriageActionRow.actor,
            TriageActionRow.at,
            TriageActionRow.from_status,
            TriageActionRow.to_status,
            TriageActionRow.detail,
        )
        .where(TriageActionRow.item_id == item_id)
        .order_by(TriageActionRow.id)
    )
    return [ActionRow(*row) for row in session.execute(stmt)]  # type: ignore[arg-type]
