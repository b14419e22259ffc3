"""Benchmark the dashboard's queries and pages on a million mentions; prints medians.

    python bench/dashboard_queries.py [--mentions 1000000] [--repeat 7] [--postgres]
                                      [--fresh] [--no-indexes] [--keep-postgres]

Generates the data set once (``bench/dashboard_dataset.py``; about a minute for a
million mentions on SQLite) and keeps the SQLite file in the temp directory, keyed by
size and generator version, so re-runs start at once. ``--postgres`` runs the same
timings on a database created on ``$REPWATCH_TEST_PG_ADMIN_URL`` (filled with COPY,
dropped afterwards unless ``--keep-postgres``). Every figure is the median of
``--repeat`` runs; pages are rendered with Streamlit's AppTest with cold caches.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bench.dashboard_dataset import BRANDS, GENERATOR_VERSION, generate
from repwatch.store import open_database, session_scope, views
from repwatch.store.views import QueueFilter

log = logging.getLogger("bench")
PG_ADMIN_URL = os.environ.get(
    "REPWATCH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Indexes the benchmark adds (and migration 0003 should): see the closing note.
INDEXES = {
    "ix_mentions_published_brand_rating": "mentions (published_at, brand, rating)",
    "ix_triage_items_queue_order": "triage_items (priority DESC, deadline_at, id)",
    "ix_triage_items_assignee_status": "triage_items (assignee, status)",
}
TARGETS = {"queue: first page (50)": 0.100, "overview page render": 2.0}


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def sqlite_database(mentions: int, fresh: bool) -> str:
    """The URL of the cached SQLite data set, generated when missing."""
    path = Path(tempfile.gettempdir()) / f"repwatch-bench-{mentions}-v{GENERATOR_VERSION}.db"
    if fresh:
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    if not path.exists():
        partial = path.with_suffix(".partial.db")
        for leftover in path.parent.glob(partial.name + "*"):
            leftover.unlink()
        engine = open_database(f"sqlite:///{partial}")
        started = time.perf_counter()
        print(f"generating {mentions} mentions into {path} ...", flush=True)
        stored = generate(engine, mentions)
        engine.dispose()
        partial.rename(path)
        print(f"  {stored} in {time.perf_counter() - started:.0f}s", flush=True)
    return f"sqlite:///{path}"


def postgres_database(mentions: int, fresh: bool) -> str:
    """The URL of a PostgreSQL data set, created and filled when missing."""
    name = f"repwatch_bench_{mentions}_v{GENERATOR_VERSION}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    if not exists:
        engine = open_database(url)
        started = time.perf_counter()
        print(f"generating {mentions} mentions into PostgreSQL {name} ...", flush=True)
        stored = generate(engine, mentions)
        engine.dispose()
        print(f"  {stored} in {time.perf_counter() - started:.0f}s", flush=True)
    return url


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def add_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for name, target in INDEXES.items():
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))
        conn.execute(text("ANALYZE"))


def drop_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text("ANALYZE"))


def page_renderer(page: str, database_url: str, config_dir: Path) -> Callable[[], None]:
    """A function that renders a dashboard page with AppTest, caches cleared first."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from repwatch.auth import SESSION_KEY, SignedInUser
    from repwatch.config_template import BrandEntry, render_config

    config = config_dir / "repwatch.toml"
    brands = tuple(BrandEntry(k, k.title(), (), competitor=c) for k, c in BRANDS.items())
    config.write_text(render_config(brands, ()), encoding="utf-8")
    os.environ["REPWATCH_CONFIG"] = str(config)
    os.environ["REPWATCH_DATABASE_URL"] = database_url
    script = f"from dashboard.app_pages import {page}\n{page}.render()\n"

    def render() -> None:
        st.cache_data.clear()
        at = AppTest.from_string(script, default_timeout=120)
        at.session_state[SESSION_KEY] = SignedInUser("bench", None, "agent")
        at.run()
        if at.exception:
            raise RuntimeError(at.exception[0].value)

    return render


def measure(url: str, repeat: int) -> dict[str, float]:
    """Seconds (median) per figure on the database at ``url``."""
    engine = open_database(url)
    now = datetime.now(UTC)
    until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    def read(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope(engine) as s:
                return fn(s)

        return run

    first = read(lambda s: views.filtered_queue(s, limit=50))()
    item = first.items[0]
    searched = QueueFilter(brands=("acme",), languages=("en",), search="refund")
    figures = {
        "queue: first page (50)": read(lambda s: views.filtered_queue(s, limit=50)),
        "queue: page 20 of all statuses": read(
            lambda s: views.filtered_queue(
                s,
                QueueFilter(statuses=("new", "assigned", "responded", "dismissed")),
                limit=50,
                offset=950,
            )
        ),
        "queue: assigned to one agent": read(
            lambda s: views.filtered_queue(s, QueueFilter(assignee="agent3"), limit=50)
        ),
        "queue: escalated only": read(
            lambda s: views.filtered_queue(s, QueueFilter(escalated=True), limit=50)
        ),
        "queue: brand+language+search": read(lambda s: views.filtered_queue(s, searched, limit=50)),
        "queue: totals": read(lambda s: views.queue_totals(s, now)),
        "item detail (+author, duplicates)": read(
            lambda s: (
                views.item_detail(s, item.item_id),
                views.author_mentions(s, item.mention_id),
                views.near_duplicates(s, item.mention_id),
            )
        ),
        "overview data (12 weeks)": read(
            lambda s: views.overview(s, since=until - timedelta(days=84), until=until)
        ),
        "topics data (3 months)": read(
            lambda s: views.topic_summary(s, since=until - timedelta(days=92), until=until)
        ),
    }
    out = {name: timed(fn, repeat) for name, fn in figures.items()}
    with tempfile.TemporaryDirectory() as config_dir:
        for page in ("queue", "overview", "topics"):
            render = page_renderer(page, url, Path(config_dir))
            out[f"{page} page render"] = timed(render, max(3, repeat // 2))
    engine.dispose()
    return out


def report(backend: str, figures: dict[str, float]) -> None:
    print(f"\n{backend}")
    for name, seconds in figures.items():
        target = TARGETS.get(name)
        ratio = f"{seconds / target:5.2f} of target {target * 1000:.0f} ms" if target else ""
        print(f"  {name:38} median {seconds * 1000:8.1f} ms  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="also time PostgreSQL")
    parser.add_argument("--fresh", action="store_true", help="regenerate the data sets")
    parser.add_argument("--no-indexes", action="store_true", help=f"without {list(INDEXES)}")
    parser.add_argument("--keep-postgres", action="store_true", help="keep the PG data set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes from AppTest
    urls = [("SQLite", sqlite_database(args.mentions, args.fresh))]
    if args.postgres:
        urls.append(("PostgreSQL", postgres_database(args.mentions, args.fresh)))
    for backend, url in urls:
        engine = create_engine(url)
        (drop_indexes if args.no_indexes else add_indexes)(engine)
        engine.dispose()
        indexes = "without extra indexes" if args.no_indexes else f"with {', '.join(INDEXES)}"
        report(f"{backend}, {args.mentions} mentions, {indexes}", measure(url, args.repeat))
        if backend == "PostgreSQL" and not args.keep_postgres:
            drop_postgres(url)


if __name__ == "__main__":
    main()
