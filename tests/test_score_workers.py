"""Several ``repwatch score`` workers on one PostgreSQL database never score a mention twice.

Each worker has its own engine (its own connections), as separate processes or machines
would; they run at the same time in threads. Batches are claimed with
``FOR NO KEY UPDATE SKIP LOCKED`` and held while they are scored and saved.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from repwatch.records import MentionRecord
from repwatch.store import open_database, queries, session_scope
from repwatch.store.scoring import claim_unscored
from sentiment.load import load_scorer
from sentiment.score import ScoreSummary, score_unscored
from tests.tiny_model import NEGATIVE, POSITIVE, THREE_LABELS, build_tiny_model

MENTIONS = 400


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-3", THREE_LABELS)


def _store_mentions(url: str, n: int) -> None:
    texts = POSITIVE + NEGATIVE
    records = [
        MentionRecord(
            source="shop",
            brand="kestrel",
            url=f"https://shop.example/r/{i}",
            external_id=f"r{i}",
            text=f"{texts[i % len(texts)]} ({i})",
        )
        for i in range(n)
    ]
    engine = open_database(url)
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="shop", kind="reviews", brand="kestrel", url="https://shop.example"
        )
        queries.upsert_mentions(s, records)
    engine.dispose()


@pytest.mark.slow
def test_two_workers_score_every_mention_exactly_once(pg_url, tiny_model, tmp_path):
    _store_mentions(pg_url, MENTIONS)
    ready = threading.Barrier(2, timeout=60)
    summaries: dict[str, ScoreSummary] = {}
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        engine = open_database(pg_url)
        try:
            scorer = load_scorer(str(tiny_model), model_dir=tmp_path)
            ready.wait()  # both loaded: start scoring together
            summaries[name] = score_unscored(engine, scorer, batch_size=10)
        except BaseException as exc:
            failures.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not failures, failures
    engine = open_database(pg_url)
    with engine.connect() as conn:
        analyses = conn.execute(text("SELECT count(*) FROM analyses")).scalar()
        per_mention = conn.execute(
            text(
                "SELECT count(DISTINCT mention_id), max(n) FROM ("
                " SELECT mention_id, count(*) AS n FROM analyses"
                " GROUP BY mention_id, model_name, model_revision) AS each_mention"
            )
        ).one()
    engine.dispose()
    assert analyses == MENTIONS
    assert tuple(per_mention) == (MENTIONS, 1)
    # Scored once: what the workers scored adds up to the mentions, no more (an upsert
    # would hide a second scoring in the table, not in these counts).
    assert summaries["a"].scored + summaries["b"].scored == MENTIONS
    assert summaries["a"].scored > 0
    assert summaries["b"].scored > 0


def test_claimed_mentions_are_skipped_by_other_transactions(pg_url):
    """While one transaction holds a claim, another claims the next mentions, not these."""
    _store_mentions(pg_url, 30)
    engine = open_database(pg_url)
    try:
        with session_scope(engine) as first:
            mine = claim_unscored(first, "m", "r1", 10)
            with session_scope(engine) as second:
                theirs = claim_unscored(second, "m", "r1", 10)
            with session_scope(engine) as third:  # the second claim ended with its transaction
                again = claim_unscored(third, "m", "r1", 10)
        with session_scope(engine) as after:  # all claims released
            released = claim_unscored(after, "m", "r1", 10)
    finally:
        engine.dispose()
    assert [m.id for m in mine] == list(range(1, 11))
    assert [m.id for m in theirs] == list(range(11, 21))
    assert [m.id for m in again] == list(range(11, 21))
    assert [m.id for m in released] == list(range(1, 11))


def test_claim_skips_what_another_worker_scored_meanwhile(pg_url):
    """A scored mention is never claimed again by that model revision, but by another one."""
    from repwatch.records import Analysis

    _store_mentions(pg_url, 5)
    engine = open_database(pg_url)
    try:
        with session_scope(engine) as s:
            batch = claim_unscored(s, "m", "r1", 3)
            queries.save_analyses(
                s, [Analysis(m.id, "m", "r1", "neutral", 0.0, 0.9) for m in batch]
            )
        with session_scope(engine) as s:
            rest = claim_unscored(s, "m", "r1", 10)
            other_revision = claim_unscored(s, "m", "r2", 10)
    finally:
        engine.dispose()
    assert [m.id for m in rest] == [4, 5]
    assert [m.id for m in other_revision] == [1, 2, 3, 4, 5]


def test_sqlite_claims_are_the_plain_unscored_query(sqlite_engine):
    """SQLite has one writer: claiming does not lock, and returns the same as before."""
    url = str(sqlite_engine.url)
    _store_mentions(url, 5)
    with session_scope(sqlite_engine) as s:
        first = claim_unscored(s, "m", "r1", 3)
        with session_scope(sqlite_engine) as other:
            second = claim_unscored(other, "m", "r1", 3)
        after = claim_unscored(s, "m", "r1", 3, after_id=3)
    assert [m.id for m in first] == [m.id for m in second] == [1, 2, 3]
    assert [m.id for m in after] == [4, 5]
