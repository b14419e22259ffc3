"""Which mentions still need a language, and storing the detected ones.

A mention needs one when ``language`` or ``language_confidence`` is NULL:

- both NULL: never detected (or edited since, with no language from the source);
- ``language`` set, confidence NULL: the source stated the language (``inLanguage``,
  ``lang``). It is kept as the source gave it, with confidence 1.0;
- ``language`` NULL, confidence set: the text was edited after an earlier detection.

Detected mentions get an ISO 639-1 code or ``"unknown"``, both with a confidence, so a
second run finds nothing to do. On PostgreSQL, ``claim_needing_language`` locks the rows
it returns (``FOR NO KEY UPDATE SKIP LOCKED``, as ``repwatch.store.scoring`` does), so
several ``repwatch score`` workers each detect different mentions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from repwatch.records import MentionText
from repwatch.store.schema import MentionRow

SOURCE_CONFIDENCE = 1.0  # a language the source states is taken as certain


def needs_language() -> Any:
    """SQL condition: this mention has no language, or no confidence for it, yet."""
    return or_(MentionRow.language.is_(None), MentionRow.language_confidence.is_(None))


def count_needing_language(session: Session) -> int:
    """How many mentions have no language or no language confidence yet."""
    stmt = select(func.count()).select_from(MentionRow).where(needs_language())
    return int(session.scalar(stmt) or 0)


def claim_needing_language(session: Session, *, limit: int, after_id: int = 0) -> list[MentionText]:
    """The next ``limit`` mentions (by id, after ``after_id``) that need a language.

    ``MentionText.language`` is the language the source gave, if any. On PostgreSQL the
    rows stay locked, and skipped by other workers, until this transaction ends: detect
    and ``set_languages`` in the same transaction.
    """
    stmt = (
        select(MentionRow.id, MentionRow.text, MentionRow.title, MentionRow.language)
        .where(MentionRow.id > after_id, needs_language())
        .order_by(MentionRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, key_share=True, of=MentionRow)
    return [MentionText(*row) for row in session.execute(stmt)]


def set_languages(session: Session, detections: Iterable[tuple[int, str, float]]) -> int:
    """Store ``(mention_id, language, confidence)`` for mentions that still need it.

    A language the source gave is never overwritten: such a mention keeps it and gets
    confidence 1.0, whatever was detected. Mentions that already have both a language
    and a confidence are left alone. Returns how many mentions were updated.
    """
    rows: list[dict[str, Any]] = [
        {"m_id": mention_id, "m_language": language, "m_confidence": float(confidence)}
        for mention_id, language, confidence in sorted(detections)  # one lock order for all
    ]
    if not rows:
        return 0
    table = MentionRow.metadata.tables[MentionRow.__tablename__]
    source_gave = table.c.language.is_not(None)
    # SET expressions read the row as it was before the update, on SQLite and PostgreSQL.
    stmt = (
        update(table)
        .where(
            table.c.id == bindparam("m_id"),
            or_(~source_gave, table.c.language_confidence.is_(None)),
        )
        .values(
            language=case((source_gave, table.c.language), else_=bindparam("m_language")),
            language_confidence=case(
                (source_gave, SOURCE_CONFIDENCE), else_=bindparam("m_confidence")
            ),
        )
    )
    result = session.connection().execute(stmt, rows)
    return int(result.rowcount)
