"""Crawl health per source: the last run, items found and errors, from the crawl-run records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import data, session
from dashboard.app_pages._common import flash, page_start
from dashboard.render import ago, plain
from repwatch.store import queries
from repwatch.store.queries import SourcePause
from repwatch.store.views import CrawlRunView, JobRunView, SourceHealth

WINDOW_DAYS = 7
STALE_AFTER = timedelta(hours=24)


def health(source: SourceHealth | None, now: datetime) -> str:
    """A word for a source's state: never crawled, running, failed, interrupted, stale,
    errors or ok (the run statuses are the crawler's, ``repwatch.store.crawl_runs``)."""
    run = source.last_run if source else None
    if run is None:
        return "never crawled"
    if run.status == "running" and run.finished_at is None:
        return "running"
    if run.status in ("failed", "interrupted"):
        return run.status
    if now - run.started_at > STALE_AFTER:
        return "stale"
    return "errors" if run.errors else "ok"


def render() -> None:
    """The page: one row per source, then the newest runs and errors."""
    context, _user = page_start(
        "Sources", "Crawl health per source, from the records each crawl run leaves."
    )
    now = datetime.now(UTC)
    stored, runs, errors = data.source_health(
        context.database_url, data.hour_ceiling() - timedelta(days=WINDOW_DAYS)
    )
    by_key = {s.source: s for s in stored}
    keys = sorted(set(context.config.settings.sources) | set(by_key))
    if not keys:
        st.info("No sources yet: add one to repwatch.toml under [sources.NAME].")
        return
    paused = data.paused_sources(context.database_url)
    rows = []
    for key in keys:
        source = by_key.get(key)
        run = source.last_run if source else None
        state = health(source, now)
        if key not in context.config.settings.sources:
            state += " (not in config)"
        if key in paused:
            state = f"paused by {paused[key].by} · {state}"
        rows.append(
            {
                "Source": key,
                "Health": state,
                "Last run": ago(run.started_at, now) if run else "",
                "New": run.items_new if run else None,
                "Updated": run.items_updated if run else None,
                "Errors": run.errors if run else None,
                "Runs": source.runs if source else 0,
                "Failed runs": source.failed_runs if source else 0,
                "Items": source.items if source else 0,
                "All errors": source.errors if source else 0,
            }
        )
    st.caption(
        f"New, Updated and Errors are of the last run; Runs, Failed runs, Items (new or "
        f"updated) and All errors add up the last {WINDOW_DAYS} days."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="source-health")
    if _user.is_admin:
        _pause_controls(context, paused)
    st.subheader("Newest runs")
    st.dataframe(_runs(runs), hide_index=True, key="crawl-runs")
    st.subheader("Scheduled jobs")
    _job_runs(data.job_runs(context.database_url))
    st.subheader("Newest errors")
    if not errors:
        st.caption("No crawl errors recorded.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "When (UTC)": [f"{e.at:%Y-%m-%d %H:%M}" for e in errors],
                "Source": [e.source for e in errors],
                "Kind": [e.kind for e in errors],
                "Page": [plain(e.url) for e in errors],
                "Reason": [plain(e.reason, 300) for e in errors],
            }
        ),
        hide_index=True,
        key="crawl-errors",
    )


def _pause_controls(context: data.DashboardContext, paused: dict[str, SourcePause]) -> None:
    """Admins pause a source (crawls skip it) or resume it."""
    configured = context.config.settings.sources
    with st.form("pause-source", border=True):
        st.markdown("**Pause or resume a source** (admins): crawls skip a paused source.")
        key = st.selectbox("Source", sorted(configured), key="pause-source-key")
        pause, resume = st.columns(2)
        do_pause = pause.form_submit_button("Pause crawling", icon=":material/pause:")
        do_resume = resume.form_submit_button("Resume crawling", icon=":material/play_arrow:")
    if not (do_pause or do_resume) or key is None:
        return
    source = configured[key]
    user = session.require_role("admin")
    data.act(
        context.database_url,
        lambda s: queries.set_source_paused(
            s, key=key, kind=source.kind, brand=source.brand or "", url=source.base_url,
            paused=do_pause, actor=user.username,
        ),
    )  # fmt: skip
    flash("success", f"Source {key} {'paused' if do_pause else 'resumed'}.")
    st.rerun()


def _job_runs(runs: list[JobRunView]) -> None:
    """The newest runs of `repwatch run`: each crawl group's pipeline and the digest."""
    if not runs:
        st.caption("No scheduled runs yet: `repwatch run` records each run of its jobs here.")
        return
    frame = pd.DataFrame(
        {
            "Job": [r.job for r in runs],
            "Due (UTC)": [f"{r.scheduled_for:%Y-%m-%d %H:%M}" if r.scheduled_for else "catch-up"
                          for r in runs],
            "Began (UTC)": [f"{r.started_at:%Y-%m-%d %H:%M:%S}" for r in runs],
            "Minutes": [
                None if r.finished_at is None
                else round((r.finished_at - r.started_at).total_seconds() / 60, 1)
                for r in runs
            ],
            "Result": [r.status for r in runs],
            "Detail": [plain(r.detail, 300) for r in runs],
        }
    )  # fmt: skip
    st.dataframe(frame, hide_index=True, key="job-runs")


def _runs(runs: list[CrawlRunView]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Started (UTC)": [f"{r.started_at:%Y-%m-%d %H:%M}" for r in runs],
            "Source": [r.source for r in runs],
            "Status": [r.status for r in runs],
            "Minutes": [
                None
                if r.finished_at is None
                else round((r.finished_at - r.started_at).total_seconds() / 60, 1)
                for r in runs
            ],
            "Pages": [r.pages for r in runs],
            "New": [r.items_new for r in runs],
            "Updated": [r.items_updated for r in runs],
            "Unchanged": [r.items_unchanged for r in runs],
            "Errors": [r.errors for r in runs],
            "Errors by kind": [
                ", ".join(f"{k}: {n}" for k, n in sorted(r.errors_by_kind.items())) for r in runs
            ],
        }
    )
