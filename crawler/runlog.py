"""The ``crawl_runs`` rows of one crawl: started before fetching, updated, finished after.

``RunLog.start`` writes a "running" row per source and reads each source's history (for
incremental crawling); ``update`` stores the counts so far (``repwatch sources`` shows
live numbers); ``finish`` stores the final status, counts and page errors. A crawl that
is killed leaves its rows "running"; the next crawl of the source marks them
"interrupted".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from scrapy.crawler import Crawler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler import reporting
from repwatch.config import Source
from repwatch.store import session_scope
from repwatch.store.crawl_runs import (
    RunCounts,
    RunError,
    RunStatus,
    SourceHistory,
    finish_run,
    record_errors,
    source_history,
    start_run,
    update_run,
)
from repwatch.store.queries import ensure_source

log = logging.getLogger(__name__)


def run_status(finish_reason: str | None, pages: int) -> RunStatus:
    """A run's status from its spider's finish reason and the pages it got."""
    if finish_reason == "shutdown":
        return "interrupted"
    if finish_reason == "finished" and pages > 0:
        return "finished"
    return "failed"


def source_counts(crawler: Crawler, key: str) -> RunCounts:
    """The counts of one source in a crawler's stats."""
    stats = crawler.stats
    assert stats is not None

    def stat(name: str) -> int:
        return int(stats.get_value(f"repwatch/source/{key}/{name}", 0))

    by_kind = reporting.source_errors(crawler, key)
    return RunCounts(
        pages=stat("pages"),
        items_new=stat("new"),
        items_updated=stat("updated"),
        items_unchanged=stat("unchanged"),
        errors=sum(by_kind.values()),
        errors_by_kind=by_kind,
    )


class RunLog:
    """The run rows of the sources of one crawl."""

    def __init__(self, engine: Engine, sources: Sequence[tuple[str, Source]]) -> None:
        self.engine = engine
        self.sources = tuple(sources)
        self.run_ids: dict[str, int] = {}

    def start(self, started_at: datetime) -> dict[str, SourceHistory]:
        """Open a run per source; returns each source's history before this crawl."""
        with session_scope(self.engine) as session:
            keys = [key for key, _ in self.sources]
            history = source_history(session, keys)
            for key, source in self.sources:
                source_id = ensure_source(
                    session,
                    key=key,
                    kind=source.kind,
                    brand=source.brand or "",
                    url=source.base_url,
                )
                self.run_ids[key] = start_run(session, source_id, started_at)
        return history

    def update(self, crawlers: Mapping[str, Crawler]) -> None:
        """Store the counts so far; a failure is logged, never raised (the crawl goes on)."""
        try:
            with session_scope(self.engine) as session:
                for key, crawler in crawlers.items():
                    update_run(session, self.run_ids[key], source_counts(crawler, key))
        except SQLAlchemyError as exc:
            log.warning("could not update the crawl run records: %s", exc)

    def finish(self, crawlers: Mapping[str, Crawler]) -> dict[str, RunStatus]:
        """Close every run with its status, counts and page errors; returns the statuses."""
        statuses: dict[str, RunStatus] = {}
        with session_scope(self.engine) as session:
            for key, run_id in self.run_ids.items():
                crawler = crawlers.get(key)
                if crawler is None or crawler.stats is None:
                    statuses[key] = "failed"
                    finish_run(session, run_id, "failed", RunCounts())
                    continue
                counts = source_counts(crawler, key)
                reason = crawler.stats.get_value("finish_reason")
                statuses[key] = run_status(reason, counts.pages)
                finish_run(session, run_id, statuses[key], counts)
                errors = [
                    RunError(e.url, e.kind, e.reason)
                    for e in reporting.page_errors(crawler)
                    if e.source == key
                ]
                record_errors(session, run_id, errors)
        for key, status in statuses.items():
            log.info("source %s: run %s", key, status)
        return statuses
