"""Scheduled job runs: one row per run of a ``repwatch run`` job (a crawl group, the digest).

The service writes a run when it starts (``start_job_run``) and finishes it
(``finish_job_run``); at start-up ``last_job_runs`` tells it which runs were missed or
interrupted, and the dashboard's Sources page shows ``recent_job_runs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repwatch.store.schema import JobRunRow, utcnow

JobStatus = Literal["running", "ok", "failed", "interrupted", "skipped"]
_DETAIL_CHARS = 2000  # a run's detail is a summary line or an error, never a whole log


@dataclass(frozen=True, slots=True)
class JobRunView:
    """One run of a scheduled job."""

    run_id: int
    job: str  # "crawl", "crawl:group:social", "crawl:source:acme-reviews", "digest"
    scheduled_for: datetime | None  # the cron time it ran for; None for a start-up catch-up
    started_at: datetime
    finished_at: datetime | None
    status: str  # a JobStatus; "running" with no finish after a crash
    detail: str


def _view(row: JobRunRow) -> JobRunView:
    return JobRunView(
        row.id, row.job, row.scheduled_for, row.started_at, row.finished_at, row.status, row.detail
    )


def start_job_run(
    session: Session,
    job: str,
    *,
    scheduled_for: datetime | None,
    started_at: datetime | None = None,
) -> int:
    """Record that ``job`` started; returns the run's id."""
    row = JobRunRow(
        job=job,
        scheduled_for=scheduled_for,
        started_at=started_at or utcnow(),
        status="running",
        detail="",
    )
    session.add(row)
    session.flush()
    return row.id


def finish_job_run(session: Session, run_id: int, status: JobStatus, detail: str) -> None:
    """Record how a run ended."""
    row = session.get(JobRunRow, run_id)
    if row is None:
        raise LookupError(f"no job run {run_id}")
    row.status = status
    row.detail = detail[:_DETAIL_CHARS]
    row.finished_at = utcnow()


def record_skipped_run(session: Session, job: str, *, scheduled_for: datetime, detail: str) -> None:
    """Record a run that did not happen (its previous run was still going)."""
    now = utcnow()
    session.add(
        JobRunRow(
            job=job,
            scheduled_for=scheduled_for,
            started_at=now,
            finished_at=now,
            status="skipped",
            detail=detail[:_DETAIL_CHARS],
        )
    )


def last_job_runs(session: Session, jobs: Iterable[str]) -> dict[str, JobRunView]:
    """The newest run that was not skipped, per job of ``jobs`` that has one."""
    wanted = list(jobs)
    if not wanted:
        return {}
    newest = (
        select(func.max(JobRunRow.id))
        .where(JobRunRow.job.in_(wanted), JobRunRow.status != "skipped")
        .group_by(JobRunRow.job)
    )
    rows = session.scalars(select(JobRunRow).where(JobRunRow.id.in_(newest)))
    return {row.job: _view(row) for row in rows}


def recent_job_runs(session: Session, *, limit: int = 50) -> list[JobRunView]:
    """The newest runs of every job, newest first."""
    rows = session.scalars(
        select(JobRunRow).order_by(JobRunRow.started_at.desc(), JobRunRow.id.desc()).limit(limit)
    )
    return [_view(row) for row in rows]
