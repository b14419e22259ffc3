"""What the pages read and write: the config, a cached engine, cached queries.

The engine lives in ``st.cache_resource`` (one pool per database URL for the whole
server); reads live in ``st.cache_data`` for 30 seconds and are cleared after every
write, so a user sees their own change at once and other people's within 30 seconds.
Optimistic locking (``expected_version``) catches what the cache hides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from dashboard.launch import CONFIG_ENV
from repwatch.config import Config, load_config
from repwatch.errors import ConfigError, DatabaseError
from repwatch.records import Counts, QueueRow, Status
from repwatch.store import open_database, queries, session_scope

READ_TTL_SECONDS = 30


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
def _database_errors(database_url: str) -> Iterator[None]:
    """Turn a lost connection into a ``DatabaseError`` the page can show."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"Lost the connection to the database: {reason}. Check that the database "
            "server runs, then reload the page."
        ) from exc


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def queue_rows(
    database_url: str, statuses: tuple[Status, ...], brand: str | None, limit: int
) -> list[QueueRow]:
    """``queries.triage_queue``, cached for ``READ_TTL_SECONDS``."""
    with _database_errors(database_url), session_scope(engine_for(database_url)) as session:
        return queries.triage_queue(session, statuses=statuses, brand=brand, limit=limit)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def counts(database_url: str) -> Counts:
    """``queries.counts``, cached for ``READ_TTL_SECONDS``."""
    with _database_errors(database_url), session_scope(engine_for(database_url)) as session:
        return queries.counts(session)


def clear_reads() -> None:
    """Forget cached reads, so the next run shows the database as it is now."""
    queue_rows.clear()
    counts.clear()


def change_status(
    database_url: str, item_id: int, *, expected_version: int, to_status: Status, actor: str
) -> QueueRow:
    """Move an item to ``to_status`` unless somebody changed it since ``expected_version``.

    Raises ``repwatch.errors.ConflictError`` when they did. Cached reads are cleared
    either way, so the page shows the item as it is now.
    """
    try:
        with _database_errors(database_url), session_scope(engine_for(database_url)) as session:
            return queries.change_status(
                session,
                item_id,
                expected_version=expected_version,
                to_status=to_status,
                actor=actor,
            )
    finally:
        clear_reads()
