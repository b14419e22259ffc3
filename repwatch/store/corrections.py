"""Read the sentiment and topic corrections staff made in the dashboard, for retraining."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repwatch.records import MentionText
from repwatch.store.schema import AnalysisRow, LabelRow, MentionRow


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


@dataclass(frozen=True, slots=True)
class TopicCorrection:
    """What staff said about a mention's topics (their latest label per topic)."""

    mention: MentionText
    present: frozenset[str]  # topics staff confirmed or added, with any polarity
    absent: frozenset[str]  # topics staff said the mention is not about
    predicted: frozenset[str]  # the topics of the mention's latest analysis

    @property
    def topics(self) -> frozenset[str]:
        """The mention's topics after the corrections: what to learn from."""
        return (self.predicted | self.present) - self.absent


def topic_corrections(session: Session) -> list[TopicCorrection]:
    """Every mention with topic corrections, by mention id."""
    latest = (
        select(func.max(LabelRow.id).label("id"))
        .where(LabelRow.kind == "topic")
        .group_by(LabelRow.mention_id, LabelRow.value)
        .subquery()
    )
    stmt = (
        select(
            MentionRow.id,
            MentionRow.text,
            MentionRow.title,
            MentionRow.language,
            LabelRow.value,
            LabelRow.polarity,
        )
        .join(LabelRow, LabelRow.mention_id == MentionRow.id)
        .join(latest, latest.c.id == LabelRow.id)
        .order_by(MentionRow.id, LabelRow.value)
    )
    labels: dict[int, tuple[MentionText, set[str], set[str]]] = {}
    for i, text, title, lang, key, polarity in session.execute(stmt):
        _, present, absent = labels.setdefault(
            i, (MentionText(id=i, text=text, title=title, language=lang), set(), set())
        )
        (absent if polarity == "absent" else present).add(key)
    predicted = _latest_topics(session, list(labels))
    return [
        TopicCorrection(m, frozenset(p), frozenset(a), predicted.get(i, frozenset()))
        for i, (m, p, a) in labels.items()
    ]


def _latest_topics(session: Session, mention_ids: list[int]) -> dict[int, frozenset[str]]:
    """The topic keys of each mention's most recent analysis."""
    if not mention_ids:
        return {}
    latest = (
        select(func.max(AnalysisRow.id).label("id"))
        .where(AnalysisRow.mention_id.in_(mention_ids))
        .group_by(AnalysisRow.mention_id)
        .subquery()
    )
    rows = session.execute(
        select(AnalysisRow.mention_id, AnalysisRow.topics).join(
            latest, latest.c.id == AnalysisRow.id
        )
    )
    return {i: frozenset((topics or {}).keys()) for i, topics in rows}
