"""Where an API source resumes: cursors kept in ``sources.state``, one section per kind.

``sources.state`` holds ``{kind: {cursor name: value}}``. Keeping a section per kind means
a source whose ``kind`` changes in repwatch.toml starts afresh instead of reading another
API's cursors. Cursor names and values are the spider's business (for example
``{"tag:acme": "113042"}`` for a Mastodon hashtag timeline).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repwatch.errors import NotFoundError
from repwatch.store.schema import SourceRow

__all__ = ["get_state", "set_state"]


def get_state(session: Session, source_key: str) -> dict[str, Any]:
    """The cursors of ``source_key`` for its current kind; empty when it has none yet.

    A source not stored yet (never crawled) has no cursors either.
    """
    row = session.execute(
        select(SourceRow.kind, SourceRow.state).where(SourceRow.key == source_key)
    ).one_or_none()
    if row is None:
        return {}
    kind, state = row
    section = (state or {}).get(kind)
    return dict(section) if isinstance(section, dict) else {}


def set_state(session: Session, source_key: str, state: dict[str, Any]) -> None:
    """Merge ``state`` into the cursors of ``source_key``'s current kind.

    Keys in ``state`` replace the stored ones; other stored keys are kept, so a crawl that
    covered only some listings leaves the cursors of the others alone. The source must
    exist (``ensure_source``).
    """
    row = session.scalars(select(SourceRow).where(SourceRow.key == source_key)).one_or_none()
    if row is None:
        raise NotFoundError(f"Unknown source {source_key!r}: call ensure_source first")
    whole = dict(row.state or {})
    section = whole.get(row.kind)
    merged = dict(section) if isinstance(section, dict) else {}
    merged.update(state)
    whole[row.kind] = merged
    row.state = whole  # a new dict, so SQLAlchemy sees the JSON column change
