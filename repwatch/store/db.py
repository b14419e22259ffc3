"""Engines, sessions and schema migrations (Alembic, from the first table on)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from repwatch.errors import DatabaseError

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while a crawl writes; the busy timeout makes
    # concurrent writers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite in WAL mode, or PostgreSQL through psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # psycopg switches to server-side prepared statements after 5 runs; their generic plans
    # ignore the keys of upsert lookups and turned a 20,000-mention re-store from 1.4 s into 6 s.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (SQLAlchemyError, ImportError) as exc:
        raise DatabaseError(
            f"Cannot use database URL {url!r}: {exc}. Expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB (set REPWATCH_DATABASE_URL or 'database')"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("repwatch.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    log.info("migrating database %s from %s to %s", engine.url, current or "empty", head)
    command.upgrade(cfg, "head")


def open_database(url: str) -> Engine:
    """An engine on a migrated database; ``DatabaseError`` says what to fix when it fails."""
    engine = create_db_engine(url)
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"Cannot open database {engine.url.render_as_string(hide_password=True)}: {reason}. "
            "Check that the server runs and the URL (REPWATCH_DATABASE_URL or 'database' "
            "in repwatch.toml) is right."
        ) from exc
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
