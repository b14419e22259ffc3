"""Crawl runs: one row per source per crawl, the errors of each, and source health.

The crawler writes a run when it starts (``start_run``), updates it as it goes and
finishes it (``finish_run``); ``repwatch sources`` reads ``source_health``. The history
(``source_history``) tells a new crawl whether it may stop early (incremental) and since
when sitemap pages count as modified.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from repwatch.store.schema import (
    CrawlErrorRow,
    CrawlRunRow,
    MentionRow,
    SourceRow,
    utcnow,
)

RunStatus = Literal["running", "finished", "failed", "interrupted"]
# Errors after which a page was not read at all: a run with one of these may have missed
# reviews, so the next run must not stop early or skip sitemap pages on its strength.
FETCH_ERROR_KINDS = frozenset(
    {"http", "network", "dns", "timeout", "too-large", "redirect", "blocked"}
)
_ID_CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a crawl did for one source (so far)."""

    pages: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    errors: int = 0
    errors_by_kind: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunError:
    """A page of a run that could not be used."""

    url: str
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceHistory:
    """What earlier crawls of a source tell the next one."""

    previous_clean: bool = False  # the newest run finished without fetch errors
    last_clean_started_at: datetime | None = None  # start of the newest such run


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's newest crawl run, as ``repwatch sources`` shows it."""

    key: str
    kind: str
    started_at: datetime | None
    finished_at: datetime | None
    status: str | None  # None: never crawled
    pages: int
    items_new: int
    items_updated: int
    errors: int
    errors_by_kind: Mapping[str, int]
    last_error: RunError | None
    last_clean_at: datetime | None  # start of the newest clean run


def is_clean(status: str, errors_by_kind: Mapping[str, int] | None) -> bool:
    """Whether a run finished and read every page it meant to (no fetch errors)."""
    return status == "finished" and not any(
        count for kind, count in (errors_by_kind or {}).items() if kind in FETCH_ERROR_KINDS
    )


def start_run(session: Session, source_id: int, started_at: datetime | None = None) -> int:
    """A new run of a source in status "running"; older runs still "running" (their
    process was killed) become "interrupted". Returns the run id."""
    session.execute(
        update(CrawlRunRow)
        .where(CrawlRunRow.source_id == source_id, CrawlRunRow.status == "running")
        .values(status="interrupted")
    )
    row = CrawlRunRow(source_id=source_id, started_at=started_at or utcnow(), status="running")
    session.add(row)
    session.flush()
    return row.id


def update_run(session: Session, run_id: int, counts: RunCounts) -> None:
    """Store the counts of a run so far; the status stays as it is."""
    session.execute(update(CrawlRunRow).where(CrawlRunRow.id == run_id).values(**_counts(counts)))


def finish_run(
    session: Session,
    run_id: int,
    status: RunStatus,
    counts: RunCounts,
    finished_at: datetime | None = None,
) -> None:
    """Close a run with its final status and counts."""
    session.execute(
        update(CrawlRunRow)
        .where(CrawlRunRow.id == run_id)
        .values(status=status, finished_at=finished_at or utcnow(), **_counts(counts))
    )


def _counts(counts: RunCounts) -> dict[str, object]:
    return {
        "pages": counts.pages,
        "items_new": counts.items_new,
        "items_updated": counts.items_updated,
        "items_unchanged": counts.items_unchanged,
        "errors": counts.errors,
        "errors_by_kind": dict(counts.errors_by_kind),
    }


def record_errors(session: Session, run_id: int, errors: Iterable[RunError]) -> int:
    """Store the page errors of a run; returns how many were stored."""
    now = utcnow()
    rows = [
        CrawlErrorRow(run_id=run_id, url=e.url, kind=e.kind, reason=e.reason, at=now)
        for e in errors
    ]
    session.add_all(rows)
    return len(rows)


def run_errors(session: Session, run_id: int) -> list[RunError]:
    """The page errors of a run, in the order they were recorded."""
    stmt = (
        select(CrawlErrorRow.url, CrawlErrorRow.kind, CrawlErrorRow.reason)
        .where(CrawlErrorRow.run_id == run_id)
        .order_by(CrawlErrorRow.id)
    )
    return [RunError(*row) for row in session.execute(stmt)]


def source_history(session: Session, keys: Collection[str]) -> dict[str, SourceHistory]:
    """For each source key, what its earlier runs say.

    Call it before ``start_run``: a run still "running" then was killed (or runs in
    another process) and is not clean, so the next crawl does not stop early.
    """
    stmt = (
        select(
            SourceRow.key, CrawlRunRow.status, CrawlRunRow.errors_by_kind, CrawlRunRow.started_at
        )
        .join(SourceRow, SourceRow.id == CrawlRunRow.source_id)
        .where(SourceRow.key.in_(list(keys)))
        .order_by(CrawlRunRow.started_at.desc(), CrawlRunRow.id.desc())
    )
    newest: dict[str, bool] = {}
    clean_at: dict[str, datetime] = {}
    for key, status, by_kind, started in session.execute(stmt):
        clean = is_clean(status, by_kind)
        newest.setdefault(key, clean)
        if clean:
            clean_at.setdefault(key, started)
    return {key: SourceHistory(newest.get(key, False), clean_at.get(key)) for key in keys}


def known_external_ids(
    session: Session, source_key: str, ids: Collection[str], *, before: datetime | None = None
) -> dict[str, str]:
    """The ``content_hash`` of each of ``ids`` already stored for a source.

    With ``before``, only mentions last changed before then count (what an incremental
    crawl started at ``before`` found stored, not what it stored itself).
    """
    out: dict[str, str] = {}
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), _ID_CHUNK):
        stmt = (
            select(MentionRow.external_id, MentionRow.content_hash)
            .join(SourceRow, SourceRow.id == MentionRow.source_id)
            .where(
                SourceRow.key == source_key,
                MentionRow.external_id.in_(wanted[start : start + _ID_CHUNK]),
            )
        )
        if before is not None:
            stmt = stmt.where(MentionRow.updated_at < before)
        out.update({ext: digest for ext, digest in session.execute(stmt)})
    return out


def source_health(session: Session, keys: Sequence[str] | None = None) -> list[SourceHealth]:
    """Every source's newest run (or none), its last error and last clean run; by key."""
    sources = select(SourceRow.id, SourceRow.key, SourceRow.kind).order_by(SourceRow.key)
    if keys is not None:
        sources = sources.where(SourceRow.key.in_(list(keys)))
    out = []
    for source_id, key, kind in session.execute(sources).all():
        runs = session.scalars(
            select(CrawlRunRow)
            .where(CrawlRunRow.source_id == source_id)
            .order_by(CrawlRunRow.started_at.desc(), CrawlRunRow.id.desc())
        )
        newest = None
        last_clean = None
        for run in runs:
            newest = newest or run
            if is_clean(run.status, run.errors_by_kind):
                last_clean = run.started_at
                break
        out.append(_health(session, key, kind, newest, last_clean))
    return out


def _health(
    session: Session, key: str, kind: str, run: CrawlRunRow | None, last_clean: datetime | None
) -> SourceHealth:
    if run is None:
        return SourceHealth(key, kind, None, None, None, 0, 0, 0, 0, {}, None, last_clean)
    last = session.execute(
        select(CrawlErrorRow.url, CrawlErrorRow.kind, CrawlErrorRow.reason)
        .where(CrawlErrorRow.run_id == run.id)
        .order_by(CrawlErrorRow.id.desc())
        .limit(1)
    ).first()
    return SourceHealth(
        key=key,
        kind=kind,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        pages=run.pages,
        items_new=run.items_new,
        items_updated=run.items_updated,
        errors=run.errors,
        errors_by_kind=dict(run.errors_by_kind or {}),
        last_error=RunError(*last) if last else None,
        last_clean_at=last_clean,
    )


def count_runs(session: Session, source_key: str) -> int:
    """How many runs a source has had."""
    stmt = (
        select(func.count())
        .select_from(CrawlRunRow)
        .join(SourceRow, SourceRow.id == CrawlRunRow.source_id)
        .where(SourceRow.key == source_key)
    )
    return int(session.scalar(stmt) or 0)
