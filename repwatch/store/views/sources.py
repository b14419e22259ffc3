"""Crawl health per source, from the crawl-run records the crawler writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from repwatch.store.schema import CrawlErrorRow, CrawlRunRow, SourceRow
from repwatch.store.views.records import CrawlErrorView, CrawlRunView, SourceHealth

FAILED = "failed"


def _run_columns() -> Any:
    return select(
        CrawlRunRow.id,
        SourceRow.key,
        CrawlRunRow.started_at,
        CrawlRunRow.finished_at,
        CrawlRunRow.status,
        CrawlRunRow.pages,
        CrawlRunRow.items_new,
        CrawlRunRow.items_updated,
        CrawlRunRow.items_unchanged,
        CrawlRunRow.errors,
        CrawlRunRow.errors_by_kind,
    ).join(SourceRow, SourceRow.id == CrawlRunRow.source_id)


def _run(row: Any) -> CrawlRunView:
    kinds = {str(k): int(v) for k, v in (row[-1] or {}).items() if isinstance(v, int | float)}
    return CrawlRunView(*row[:-1], errors_by_kind=kinds)  # type: ignore[misc]


def source_health(session: Session, *, since: datetime) -> list[SourceHealth]:
    """Every stored source with its last run and the totals of runs since ``since``."""
    totals = {
        source_id: (int(runs), int(failed or 0), int(items or 0), int(errors or 0))
        for source_id, runs, failed, items, errors in session.execute(
            select(
                CrawlRunRow.source_id,
                func.count(),
                func.sum((CrawlRunRow.status == FAILED).cast(Integer)),
                func.sum(CrawlRunRow.items_new + CrawlRunRow.items_updated),
                func.sum(CrawlRunRow.errors),
            )
            .where(CrawlRunRow.started_at >= since)
            .group_by(CrawlRunRow.source_id)
        )
    }
    newest = (
        select(func.max(CrawlRunRow.id))
        .where(CrawlRunRow.source_id == SourceRow.id)
        .correlate(SourceRow)
        .scalar_subquery()
    )
    last_runs = {
        row[1]: _run(row) for row in session.execute(_run_columns().where(CrawlRunRow.id == newest))
    }
    out = []
    for source_id, key, kind, brand, url in session.execute(
        select(
            SourceRow.id, SourceRow.key, SourceRow.kind, SourceRow.brand, SourceRow.url
        ).order_by(SourceRow.key)
    ):
        runs, failed, items, errors = totals.get(source_id, (0, 0, 0, 0))
        out.append(
            SourceHealth(key, kind, brand, url, last_runs.get(key), runs, failed, items, errors)
        )
    return out


def crawl_runs(
    session: Session, *, source: str | None = None, limit: int = 50
) -> list[CrawlRunView]:
    """The newest crawl runs, of one source or all."""
    stmt = _run_columns().order_by(CrawlRunRow.started_at.desc(), CrawlRunRow.id.desc())
    if source is not None:
        stmt = stmt.where(SourceRow.key == source)
    return [_run(row) for row in session.execute(stmt.limit(limit))]


def crawl_errors(
    session: Session, *, source: str | None = None, limit: int = 50
) -> list[CrawlErrorView]:
    """The newest crawl errors (page URL, kind, reason), of one source or all."""
    stmt = (
        select(
            CrawlErrorRow.run_id,
            SourceRow.key,
            CrawlErrorRow.url,
            CrawlErrorRow.kind,
            CrawlErrorRow.reason,
            CrawlErrorRow.at,
        )
        .join(CrawlRunRow, CrawlRunRow.id == CrawlErrorRow.run_id)
        .join(SourceRow, SourceRow.id == CrawlRunRow.source_id)
        .order_by(CrawlErrorRow.id.desc())
        .limit(limit)
    )
    if source is not None:
        stmt = stmt.where(SourceRow.key == source)
    return [CrawlErrorView(*row) for row in session.execute(stmt)]
