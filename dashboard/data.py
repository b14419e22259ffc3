"""What the pages read and write: the config, a cached engine, cached queries, actions.

The engine lives in ``st.cache_resource`` (one pool per database URL for the whole
server); reads live in ``st.cache_data`` for 30 seconds and are cleared after every
write, so a user sees their own change at once and other people's within 30 seconds.
Optimistic locking (``expected_version`` in ``repwatch.store.actions``) catches what
the cache hides. Periods are whole hours, so a page shown twice in an hour hits the cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dashboard.launch import CONFIG_ENV
from repwatch.config import Config, load_config
from repwatch.errors import ConfigError, DatabaseError
from repwatch.records import Counts
from repwatch.store import open_database, queries, session_scope, views

READ_TTL_SECONDS = 30
OPTIONS_TTL_SECONDS = 300
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DashboardContext:
    """The configuration the dashboard was started with and its database."""

    config: Config
    database_url: str
    engine: Engine

    @property
    def database_label(self) -> str:
        """The database URL without its password, for people to read."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def brand_names(self) -> dict[str, str]:
        """Brand key -> display name, from the config."""
        return {key: brand.name for key, brand in self.config.settings.brands.items()}

    @property
    def competitors(self) -> tuple[str, ...]:
        """Keys of the brands marked ``competitor = true``."""
        return tuple(k for k, b in self.config.settings.brands.items() if b.competitor)


def load_context() -> DashboardContext:
    """Read the config named by ``REPWATCH_CONFIG`` and open its database.

    Raises ``ConfigError`` or ``DatabaseError`` with a message that says what to fix.
    """
    raw = os.environ.get(CONFIG_ENV, "").strip()
    if not raw:
        raise ConfigError(
            f"{CONFIG_ENV} is not set, so the dashboard does not know which repwatch.toml "
            "to use. Start it with: repwatch dashboard --config PATH/TO/repwatch.toml"
        )
    config = load_config(raw)
    url = config.database_url
    return DashboardContext(config=config, database_url=url, engine=engine_for(url))


def _dispose(engine: Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def engine_for(database_url: str) -> Engine:
    """One migrated engine per database URL, shared by every session of the server."""
    return open_database(database_url)


@contextmanager
def _session(database_url: str) -> Iterator[Session]:
    """A transaction on the cached engine; a lost connection becomes a ``DatabaseError``."""
    try:
        with session_scope(engine_for(database_url)) as session:
            yield session
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"Lost the connection to the database: {reason}. Check that the database "
            "server runs, then reload the page."
        ) from exc


def hour_ceiling(now: datetime | None = None) -> datetime:
    """The start of the next hour (UTC): the end of every period, so reads can be cached."""
    now = now or datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def minute_now() -> datetime:
    """Now, to the minute: what overdue counts are computed against (and cached by)."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def queue_page(
    database_url: str, queue_filter: views.QueueFilter, limit: int, offset: int
) -> views.QueuePage:
    """``views.filtered_queue``, cached."""
    with _session(database_url) as s:
        return views.filtered_queue(s, queue_filter, limit=limit, offset=offset)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def queue_totals(database_url: str, now: datetime) -> views.QueueTotals:
    """``views.queue_totals``, cached."""
    with _session(database_url) as s:
        return views.queue_totals(s, now)


@st.cache_data(ttl=OPTIONS_TTL_SECONDS, show_spinner=False)
def filter_options(database_url: str) -> views.FilterOptions:
    """Sources, languages, topics and assignees the filters offer, cached for 5 minutes."""
    with _session(database_url) as s:
        return views.filter_options(s)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def item_detail(database_url: str, item_id: int) -> views.ItemDetail:
    """``views.item_detail``, cached; ``NotFoundError`` for an unknown item."""
    with _session(database_url) as s:
        return views.item_detail(s, item_id)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def related(
    database_url: str, mention_id: int
) -> tuple[list[views.MentionBrief], list[views.MentionBrief]]:
    """The author's other mentions and the near-duplicates of ``mention_id``."""
    with _session(database_url) as s:
        return views.author_mentions(s, mention_id), views.near_duplicates(s, mention_id)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def overview(
    database_url: str, until: datetime, days: int, bucket: views.Bucket, brands: tuple[str, ...]
) -> views.Overview:
    """``views.overview`` of the ``days`` before ``until``, cached."""
    with _session(database_url) as s:
        return views.overview(
            s, since=until - timedelta(days=days), until=until, bucket=bucket, brands=brands
        )


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def topic_summary(
    database_url: str, until: datetime, months: int, brands: tuple[str, ...]
) -> views.TopicSummary:
    """``views.topic_summary`` from the first day of the month ``months - 1`` months ago."""
    first = until.date().replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    since = datetime(first.year, first.month, 1, tzinfo=UTC)
    with _session(database_url) as s:
        return views.topic_summary(s, since=since, until=until, brands=brands)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def topic_items(
    database_url: str, topic: str, month: date, brands: tuple[str, ...]
) -> list[views.MentionBrief]:
    """``views.topic_items``, cached."""
    with _session(database_url) as s:
        return views.topic_items(s, topic, month, brands=brands)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def source_health(
    database_url: str, since: datetime
) -> tuple[list[views.SourceHealth], list[views.CrawlRunView], list[views.CrawlErrorView]]:
    """Health per source since ``since``, the newest runs and the newest errors."""
    with _session(database_url) as s:
        return (
            views.source_health(s, since=since),
            views.crawl_runs(s, limit=100),
            views.crawl_errors(s, limit=100),
        )


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def job_runs(database_url: str) -> list[views.JobRunView]:
    """The newest runs of `repwatch run`'s scheduled jobs, cached."""
    with _session(database_url) as s:
        return views.recent_job_runs(s, limit=50)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def paused_sources(database_url: str) -> dict[str, queries.SourcePause]:
    """``queries.paused_sources``, cached."""
    with _session(database_url) as s:
        return queries.paused_sources(s)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def counts(database_url: str) -> Counts:
    """``queries.counts``, cached."""
    with _session(database_url) as s:
        return queries.counts(s)


def clear_reads() -> None:
    """Forget cached reads, so the next run shows the database as it is now."""
    for cached in (
        queue_page,
        queue_totals,
        item_detail,
        related,
        overview,
        topic_summary,
        topic_items,
        source_health,
        paused_sources,
        counts,
    ):
        cached.clear()


def act(database_url: str, action: Callable[[Session], T]) -> T:
    """Run one write (a ``repwatch.store.actions`` call) in its own transaction.

    Cached reads are cleared either way, so the page shows the database as it is now,
    including the fresh state after a conflict.
    """
    try:
        with _session(database_url) as s:
            return action(s)
    finally:
        clear_reads()
