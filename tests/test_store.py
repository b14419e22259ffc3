"""Storage on SQLite and PostgreSQL: idempotent writes, triage state, conflicts, the log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from repwatch.config import Deadlines, Flagging
from repwatch.errors import ConflictError, DatabaseError, NotFoundError
from repwatch.records import Analysis, MentionRecord
from repwatch.store import open_database, queries, session_scope
from repwatch.triage import flag_new

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _mention(n: int, **changes: object) -> MentionRecord:
    record = MentionRecord(
        source="shop-reviews",
        brand="kestrel",
        url=f"https://shop.example/reviews/{n}",
        external_id=f"r{n}",
        text=f"Review number {n}",
        title=f"Title {n}",
        author="Ana",
        rating=0.0 if n % 2 else 1.0,
        language="en",
        published_at=NOW - timedelta(days=n),
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def _store(engine, records):
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="shop-reviews", kind="reviews", brand="kestrel", url="https://shop.example"
        )
        return queries.upsert_mentions(s, records)


def test_schema_is_migrated_with_alembic(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "mentions", "analyses", "triage_items", "triage_actions"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"


def test_reopening_a_migrated_database_keeps_its_rows(engine, db_url):
    _store(engine, [_mention(1)])
    again = open_database(db_url)
    with session_scope(again) as s:
        assert queries.counts(s).mentions == 1
    again.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_upsert_is_idempotent_and_updates_edits_in_place(engine):
    first = _store(engine, [_mention(n) for n in range(1, 6)])
    assert (first.new, first.updated, first.unchanged) == (5, 0, 0)
    again = _store(engine, [_mention(n) for n in range(1, 6)])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    edited = _store(engine, [_mention(3, text="Edited: much worse now")])
    assert (edited.new, edited.updated) == (0, 1)
    with session_scope(engine) as s:
        assert queries.counts(s).mentions == 5
        texts = {m.text: m.id for m in queries.unscored_mentions(s, "m", "1", limit=10)}
        history = queries.mention_history(s, texts["Edited: much worse now"])
    assert [text for _, text in history] == ["Review number 3"]


def test_duplicates_inside_one_batch_count_once(engine):
    result = _store(engine, [_mention(1), _mention(1), _mention(2)])
    assert result.new == 2


def test_unknown_source_is_refused(engine):
    with pytest.raises(NotFoundError, match="call ensure_source first"), session_scope(engine) as s:
        queries.upsert_mentions(s, [_mention(1, source="nope")])


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(Exception, match="naive datetime"):
        _store(engine, [_mention(1, published_at=datetime(2026, 1, 1))])


def test_datetimes_come_back_in_utc(engine):
    _store(engine, [_mention(1)])
    with session_scope(engine) as s:
        queries.save_analyses(
            s, [Analysis(1, "m", "r1", "negative", -0.9, 0.95, {"negative": 0.95})]
        )
    flag_new(engine, Flagging(), Deadlines(), now=NOW)
    with session_scope(engine) as s:
        row = queries.triage_queue(s)[0]
    assert row.published_at == NOW - timedelta(days=1)
    assert row.deadline_at.tzinfo is not None


def test_scoring_bookkeeping_is_per_model_revision(engine):
    _store(engine, [_mention(n) for n in range(1, 4)])
    with session_scope(engine) as s:
        todo = queries.unscored_mentions(s, "m", "r1", limit=10)
        assert [m.text for m in todo] == ["Review number 1", "Review number 2", "Review number 3"]
        analyses = [Analysis(m.id, "m", "r1", "neutral", 0.0, 0.5, {}) for m in todo]
        assert queries.save_analyses(s, analyses) == 3
        queries.save_analyses(s, analyses)  # a re-run stores nothing twice
        assert queries.count_unscored(s, "m", "r1") == 0
        assert queries.count_unscored(s, "m", "r2") == 3
        assert queries.counts(s).analysed == 3
        page = queries.unscored_mentions(s, "m", "r2", limit=2, after_id=todo[0].id)
        assert [m.id for m in page] == [todo[1].id, todo[2].id]


def test_flagging_by_model_and_by_stars(engine):
    _store(engine, [_mention(1, rating=None), _mention(2, rating=None), _mention(3, rating=0.25)])
    with session_scope(engine) as s:
        ids = {m.text: m.id for m in queries.unscored_mentions(s, "m", "r", limit=10)}
        queries.save_analyses(
            s,
            [
                Analysis(
                    ids["Review number 1"], "m", "r", "negative", -0.9, 0.95, {"negative": 0.95}
                ),
                Analysis(
                    ids["Review number 2"], "m", "r", "positive", 0.9, 0.95, {"negative": 0.02}
                ),
            ],
        )
    assert flag_new(engine, Flagging(), Deadlines(), now=NOW) == 2
    assert flag_new(engine, Flagging(), Deadlines(), now=NOW) == 0  # idempotent
    with session_scope(engine) as s:
        queue = queries.triage_queue(s)
    assert {r.text: r.reason for r in queue} == {
        "Review number 1": "model: negative 0.95",
        "Review number 3": "rating 2/5",
    }
    assert queue[0].priority >= queue[1].priority
    assert all(r.status == "new" and r.version == 1 for r in queue)


def test_status_change_is_logged_and_conflicts_are_detected(engine):
    _store(engine, [_mention(1)])
    flag_new(engine, Flagging(), Deadlines(), now=NOW)
    with session_scope(engine) as s:
        item = queries.triage_queue(s)[0]
    with session_scope(engine) as s:
        done = queries.change_status(
            s,
            item.item_id,
            expected_version=item.version,
            to_status="responded",
            actor="maria",
            detail="https://shop.example/reply/1",
        )
    assert (done.status, done.version) == ("responded", 2)
    conflict = r"was changed by maria at \d\d:\d\d:\d\d"
    with pytest.raises(ConflictError, match=conflict), session_scope(engine) as s:
        queries.change_status(
            s, item.item_id, expected_version=item.version, to_status="dismissed", actor="jon"
        )
    with session_scope(engine) as s:
        assert queries.triage_item(s, item.item_id).status == "responded"
        log = queries.item_actions(s, item.item_id)
        assert queries.triage_queue(s) == []
        assert [r.item_id for r in queries.triage_queue(s, statuses=["responded"])] == [
            item.item_id
        ]
    assert [(a.action, a.actor, a.from_status, a.to_status) for a in log] == [
        ("flagged", "repwatch", None, "new"),
        ("responded", "maria", "new", "responded"),
    ]
    assert log[1].detail == "https://shop.example/reply/1"


def test_unreachable_postgres_gives_an_actionable_error():
    with pytest.raises(DatabaseError) as info:
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    message = str(info.value)
    assert message.startswith("Cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none:")
    assert message.endswith(
        "Check that the server runs and the URL (REPWATCH_DATABASE_URL or 'database' in "
        "repwatch.toml) is right."
    )


def test_models_and_migrations_agree(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from repwatch.store.schema import Base

    def include(obj, name, type_, reflected, compare_to):
        # Alembic cannot compare indexes on expressions such as "priority DESC".
        return name != "ix_triage_items_queue_order"

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_keeps_rows_stored_under_the_first_schema(db_url):
    from alembic import command

    from repwatch.store.db import alembic_config, create_db_engine

    old = create_db_engine(db_url)
    command.upgrade(alembic_config(old), "0001")
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sources (key, kind, brand, url, created_at) "
                "VALUES ('s', 'reviews', 'b', 'https://x.example', CURRENT_TIMESTAMP)"
            )
        )
    old.dispose()
    upgraded = open_database(db_url)
    with session_scope(upgraded) as s:
        assert (
            queries.ensure_source(s, key="s", kind="reviews", brand="b", url="https://x.example")
            == 1
        )
    upgraded.dispose()


def test_an_edited_mention_is_scored_again_and_other_revisions_are_kept(engine):
    _store(engine, [_mention(1)])
    with session_scope(engine) as s:
        (mention,) = queries.unscored_mentions(s, "m", "r1", limit=10)
        queries.save_analyses(s, [Analysis(mention.id, "m", "r1", "positive", 0.8, 0.9, {})])
        queries.save_analyses(s, [Analysis(mention.id, "m", "r0", "positive", 0.7, 0.8, {})])
        assert queries.count_unscored(s, "m", "r1") == 0
    _store(engine, [_mention(1, text="Edited: now it broke")])
    with session_scope(engine) as s:
        assert [m.text for m in queries.unscored_mentions(s, "m", "r1", limit=10)] == [
            "Edited: now it broke"
        ]
        queries.save_analyses(s, [Analysis(mention.id, "m", "r1", "negative", -0.9, 0.9, {})])
        assert queries.count_unscored(s, "m", "r1") == 0
        labels = s.execute(
            text("SELECT model_revision, label FROM analyses ORDER BY model_revision")
        ).all()
    assert [tuple(row) for row in labels] == [("r0", "positive"), ("r1", "negative")]


def test_an_edit_reopens_language_detection(engine):
    from repwatch.store.languages import count_needing_language, set_languages

    _store(engine, [_mention(1, language=None)])
    with session_scope(engine) as s:
        (mention,) = queries.unscored_mentions(s, "m", "r", limit=1)
        set_languages(s, [(mention.id, "en", 0.93)])
        assert count_needing_language(s) == 0
    _store(engine, [_mention(1, language="de", text="Jetzt auf Deutsch bearbeitet")])
    with session_scope(engine) as s:
        assert count_needing_language(s) == 1
        set_languages(s, [(mention.id, "en", 0.5)])  # the source's language wins
        row = s.execute(
            text("SELECT language, language_confidence FROM mentions WHERE id = :i"),
            {"i": mention.id},
        ).one()
    assert tuple(row) == ("de", 1.0)
