"""Shared fixtures: databases on SQLite and on a real PostgreSQL server, configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

# Tests never reach the Hugging Face Hub: set before huggingface_hub is imported (it reads
# this once), and inherited by every subprocess a test starts.
os.environ["HF_HUB_OFFLINE"] = "1"

from repwatch.config import Config, load_config
from repwatch.config_template import BrandEntry, SourceEntry, render_config
from repwatch.store import open_database

PG_ADMIN_URL = os.environ.get(
    "REPWATCH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the test PostgreSQL server. Fails (not skips) in CI when it is down."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database of our own, dropped afterwards."""
    name = f"repwatch_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'repwatch.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine on SQLite only, for tests that are not about the backend."""
    eng = open_database(f"sqlite:///{tmp_path / 'repwatch.db'}")
    yield eng
    eng.dispose()


def write_config(
    directory: Path,
    sources: tuple[SourceEntry, ...] = (),
    brands: tuple[BrandEntry, ...] = (
        BrandEntry("kestrel", "Kestrel Home", ("Kestrel",)),
        BrandEntry("nimbus", "Nimbus Direct", ("Nimbus",), competitor=True),
    ),
    extra: str = "",
) -> Config:
    """Write a repwatch.toml into ``directory`` and load it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "repwatch.toml"
    path.write_text(render_config(brands, sources, download_delay=0.0) + extra, encoding="utf-8")
    return load_config(path)


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and other artifacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
