"""Benchmark the crawl's storage and extraction steps; prints medians.

    python bench/pipeline_store.py [--mentions 20000] [--repeat 5] [--batch-size 100]

Stores synthetic mentions the way ``crawler.pipelines.StorePipeline`` does (batches of
``--batch-size`` through ``upsert_mentions``, one transaction each) into a fresh SQLite
database, then stores them again (all unchanged, as a re-crawl does). Does the same on
PostgreSQL when it answers at ``$REPWATCH_TEST_PG_ADMIN_URL`` (a database is created and
dropped per run). Finally times JSON-LD extraction over the fixture review pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from crawler.extract import reviews_from_html
from repwatch.records import MentionRecord
from repwatch.store import open_database, session_scope
from repwatch.store.queries import ensure_source, upsert_mentions

PG_ADMIN_URL = os.environ.get(
    "REPWATCH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SITES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sites" / "reviews"
START = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = ("delivery late refund great friendly rude broken quick price support sofa fridge").split()  # noqa: SIM905 - a sentence reads better than a list


def make_records(count: int) -> list[MentionRecord]:
    """Synthetic reviews across two sources, with varied text, ratings and languages."""
    return [
        MentionRecord(
            source=f"bench-{n % 2}",
            brand="acme",
            url=f"https://reviews.example/acme/r/{n}",
            external_id=f"https://reviews.example/acme/r/{n}",
            text=" ".join(WORDS[(n + i) % len(WORDS)] for i in range(8 + n % 30)),
            title=f"Review {n}",
            author=f"Author {n % 997}",
            rating=(n % 5) / 4,
            language=("en", "de", "fr", "es")[n % 4],
            published_at=START + timedelta(minutes=n),
        )
        for n in range(count)
    ]


def store(url: str, records: Sequence[MentionRecord], batch_size: int) -> tuple[float, float]:
    """Seconds to store ``records`` into an empty database, then to store them again."""
    engine = open_database(url)
    try:
        with session_scope(engine) as session:
            for key in sorted({r.source for r in records}):
                ensure_source(session, key=key, kind="reviews", brand="acme", url="https://x")
        timings = []
        for expect in ("new", "unchanged"):
            started = time.perf_counter()
            total = 0
            for i in range(0, len(records), batch_size):
                with session_scope(engine) as session:
                    result = upsert_mentions(session, records[i : i + batch_size])
                total += getattr(result, expect)
            timings.append(time.perf_counter() - started)
            assert total == len(records), f"expected {len(records)} {expect}, got {total}"
        return timings[0], timings[1]
    finally:
        engine.dispose()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="repwatch-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    name = f"repwatch_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


def bench_store(
    label: str,
    fresh: Callable[[], AbstractContextManager[str]],
    records: Sequence[MentionRecord],
    repeat: int,
    batch_size: int,
) -> None:
    new_times, again_times = [], []
    for _ in range(repeat):
        with fresh() as url:
            new, again = store(url, records, batch_size)
        new_times.append(new)
        again_times.append(again)
    n = len(records)
    for what, times in (("store", new_times), ("re-store unchanged", again_times)):
        t = statistics.median(times)
        print(f"{label} {what} {n} mentions: median {t:.3f}s, {n / t:.0f}/s")


def bench_extract(repeat: int, rounds: int = 200) -> None:
    pages = [
        (path.read_text(encoding="utf-8"), f"http://127.0.0.1/{path.relative_to(SITES)}")
        for path in sorted(SITES.rglob("*.html"))
    ]

    def once() -> int:
        return sum(len(reviews_from_html(html, url)) for _ in range(rounds) for html, url in pages)

    found = once()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    t = statistics.median(times)
    print(
        f"extract {found} reviews from {rounds * len(pages)} pages: median {t:.3f}s, "
        f"{found / t:.0f} reviews/s, {rounds * len(pages) / t:.0f} pages/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    records = make_records(args.mentions)
    bench_store("sqlite", sqlite_url, records, args.repeat, args.batch_size)
    if args.no_postgres:
        pass
    elif postgres_available():
        bench_store("postgresql", postgres_url, records, args.repeat, args.batch_size)
    else:
        print(f"postgresql: skipped, no server at {PG_ADMIN_URL}")
    bench_extract(args.repeat)


if __name__ == "__main__":
    main()
