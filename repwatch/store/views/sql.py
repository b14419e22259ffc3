"""SQL pieces the views share, written once for SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, func, literal_column, or_, select, text, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from repwatch.store.schema import AnalysisRow, MentionRow
from repwatch.store.views.records import TopicScore


def dialect_of(session: Session) -> str:
    """``sqlite`` or ``postgresql``."""
    return session.get_bind().dialect.name


def latest_analysis_id(mention_id: Any = MentionRow.id) -> Any:
    """The id of the newest analysis of ``mention_id`` (a correlated scalar subquery).

    One index probe per mention (``ix_analyses_mention_id``) instead of grouping
    every analysis in the database.
    """
    return (
        select(func.max(AnalysisRow.id))
        .where(AnalysisRow.mention_id == mention_id)
        .correlate_except(AnalysisRow)
        .scalar_subquery()
    )


def latest_analysis(session: Session) -> tuple[Any, ColumnElement[bool]]:
    """The newest analysis of each ``MentionRow`` to join, and the join condition.

    Returns a table-like with ``.c.id``, ``.c.label``, ``.c.score`` and ``.c.topics``.
    PostgreSQL gets a ``LATERAL`` subquery (one index probe per mention; a plain join on
    the correlated ``max(id)`` makes it hash all analyses); SQLite the correlated join.
    """
    if dialect_of(session) == "postgresql":
        newest = (
            select(AnalysisRow.id, AnalysisRow.label, AnalysisRow.score, AnalysisRow.topics)
            .where(AnalysisRow.mention_id == MentionRow.id)
            .order_by(AnalysisRow.id.desc())
            .limit(1)
            .lateral("latest")
        )
        return newest, true()
    table = AnalysisRow.__table__
    return table, table.c.id == latest_analysis_id()


def tune_for_aggregates(session: Session) -> None:
    """PostgreSQL settings for this transaction's scans of a few hundred thousand rows.

    JIT compilation costs more than it saves here (up to 0.7 s), and with the default
    4 MB of ``work_mem`` the grouping spills to disk instead of hashing in memory.
    """
    if dialect_of(session) == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def day_text(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of a UTC datetime column."""
    if dialect_of(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)
    return func.substr(column, 1, 10, type_=String)  # stored as 'YYYY-MM-DD HH:MM:SS...'


def month_text(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a UTC datetime column."""
    if dialect_of(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM", type_=String)
    return func.substr(column, 1, 7, type_=String)


def has_topic(topic: str, topics: Any = AnalysisRow.topics) -> ColumnElement[bool]:
    """Whether the ``topics`` JSON of an analysis mentions ``topic`` (on both backends)."""
    score = topics[(topic, "score")].as_float()
    polarity = topics[(topic, "polarity")].as_string()
    return or_(score.is_not(None), polarity.is_not(None))


def topic_pairs(
    session: Session, topics: Any = AnalysisRow.topics
) -> tuple[Any, ColumnElement[str], ColumnElement[str]]:
    """A table of (topic key, polarity) per analysis: ``json_each`` over ``topics``.

    Returns the table-valued function to join and its key and polarity columns.
    """
    each = func.json_each(topics).table_valued("key", "value").alias("topic")
    polarity: ColumnElement[str]
    if dialect_of(session) == "postgresql":
        polarity = literal_column("topic.value ->> 'polarity'", String)
    else:
        polarity = func.json_extract(each.c.value, "$.polarity", type_=String)
    return each, each.c.key, polarity


def topic_scores(raw: Any) -> tuple[TopicScore, ...]:
    """The ``topics`` JSON of an analysis as sorted ``TopicScore`` values (best first)."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, dict):
        return ()
    out = []
    for key, value in raw.items():
        score = polarity = None
        if isinstance(value, dict):
            score = value.get("score")
            polarity = value.get("polarity")
        elif isinstance(value, int | float):
            score = value
        out.append(
            TopicScore(
                str(key),
                float(score) if isinstance(score, int | float) else None,
                str(polarity) if polarity is not None else None,
            )
        )
    return tuple(sorted(out, key=lambda t: (-(t.score or 0.0), t.key)))
