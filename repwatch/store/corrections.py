"""Read the sentiment corrections staff made in the dashboard, for retraining the model."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repwatch.records import MentionText
from repwatch.store.schema import LabelRow, MentionRow


@dataclass(frozen=True, slots=True)
class SentimentCorrection:
    """The sentiment staff gave a mention (their latest correction of it)."""

    mention: MentionText
    label: str  # negative, neutral or positive


def sentiment_corrections(session: Session) -> list[SentimentCorrection]:
    """Every mention's latest sentiment correction, by mention id."""
    latest = (
        select(func.max(LabelRow.id).label("id"))
        .where(LabelRow.kind == "sentiment")
        .group_by(LabelRow.mention_id)
        .subquery()
    )
    stmt = (
        select(
            MentionRow.id, MentionRow.text, MentionRow.title, MentionRow.language, LabelRow.value
        )
        .join(LabelRow, LabelRow.mention_id == MentionRow.id)
        .join(latest, latest.c.id == LabelRow.id)
        .order_by(MentionRow.id)
    )
    return [
        SentimentCorrection(MentionText(id=i, text=text, title=title, language=lang), label)
        for i, text, title, lang, label in session.execute(stmt)
    ]
