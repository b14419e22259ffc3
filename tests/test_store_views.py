"""The dashboard's read queries (``repwatch.store.views``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from repwatch import auth
from repwatch.errors import NotFoundError
from repwatch.store import actions, session_scope, views
from repwatch.store.views import QueueFilter
from repwatch.store.views.detail import shingles, similarity
from repwatch.store.views.topics import month_bounds
from tests.seed import (
    DUPLICATE_TEXT,
    HOSTILE_CRAWL_REASON,
    HOSTILE_TEXT,
    NEGATIVE_TEXT,
    SEEDS,
    SeedInfo,
    seed_demo_data,
)

NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)  # history seeds fall in February, the rest in March


@pytest.fixture
def seeded(engine) -> SeedInfo:
    return seed_demo_data(engine, now=NOW)


def _page(engine, f: QueueFilter | None = None, **kw) -> views.QueuePage:
    with session_scope(engine) as s:
        return views.filtered_queue(s, f, **kw)


def _texts(page: views.QueuePage) -> list[str]:
    return [i.text for i in page.items]


def test_default_queue_is_open_items_most_urgent_first(engine, seeded):
    page = _page(engine)
    assert [i.item_id for i in page.items] == list(seeded.item_ids)
    priorities = [i.priority for i in page.items]
    assert priorities == sorted(priorities, reverse=True)
    assert not page.has_more
    first = page.items[0]
    assert first.text == NEGATIVE_TEXT
    assert (first.source, first.author, first.author_reach) == (
        "kestrel-shop",
        "author-k1",
        120_000,
    )
    assert {t.key: t.polarity for t in first.topics} == {
        "delivery": "negative",
        "customer_service": "negative",
    }
    assert first.sentiment == "negative"


def test_pages_follow_each_other(engine, seeded):
    first = _page(engine, limit=4)
    second = _page(engine, limit=4, offset=4)
    assert first.has_more
    assert not second.has_more
    assert [i.item_id for i in first.items + second.items] == list(seeded.item_ids)


FILTER_CASES = [
    (QueueFilter(brands=("nimbus",)), {"n1", "n3"}),
    (QueueFilter(sources=("kestrel-shop",)), {"k1", "k2", "k4", "k6"}),
    (QueueFilter(languages=("de",)), {"k6"}),
    (QueueFilter(search="COURIER"), {"k1"}),  # case-insensitive
    (QueueFilter(search="refund three"), {"k4"}),  # every word
    (QueueFilter(search="author-n3"), {"n3"}),  # authors too
    (QueueFilter(search="100%_"), set()),  # LIKE wildcards are literal
    (QueueFilter(topic="order_tracking"), {"n1"}),
    (QueueFilter(topic="refunds", brands=("nimbus",)), set()),
    (QueueFilter(published_from=NOW - timedelta(hours=12)), {"k1", "n1"}),
    (QueueFilter(published_to=NOW - timedelta(days=5)), {"k4", "k6"}),
    (QueueFilter(statuses=("responded",)), set()),
]


def test_filters(engine, seeded):
    by_text = {seed.text: seed.external_id for seed in SEEDS}
    shown = {f: {by_text[t] for t in _texts(_page(engine, f))} for f, _ in FILTER_CASES}
    assert shown == dict(FILTER_CASES)


def test_assignee_unassigned_and_escalated_filters(engine, seeded):
    with session_scope(engine) as s:
        actions.assign(s, seeded.negative_item_id, expected_version=1, actor="ana", assignee="bo")
        actions.escalate(s, seeded.hostile_item_id, expected_version=1, actor="ana")
    assert _texts(_page(engine, QueueFilter(assignee="bo"))) == [NEGATIVE_TEXT]
    assert NEGATIVE_TEXT not in _texts(_page(engine, QueueFilter(unassigned=True)))
    assert _texts(_page(engine, QueueFilter(escalated=True))) == [HOSTILE_TEXT]


def test_totals_count_open_overdue_escalated_unassigned(engine, seeded):
    with session_scope(engine) as s:
        actions.assign(s, seeded.negative_item_id, expected_version=1, actor="ana", assignee="ana")
        totals = views.queue_totals(s, NOW)
    assert totals == views.QueueTotals(open_items=6, overdue=2, escalated=0, unassigned=5)


def test_item_detail_has_scores_log_and_corrections(engine, seeded):
    item_id = seeded.negative_item_id
    with session_scope(engine) as s:
        actions.add_note(s, item_id, expected_version=1, actor="ana", note="Called the courier")
        actions.correct_sentiment(s, item_id, expected_version=2, actor="ana", label="neutral")
        detail = views.item_detail(s, item_id)
    assert detail.item.text == NEGATIVE_TEXT
    (analysis,) = detail.analyses
    assert analysis.label == "negative"
    assert analysis.probabilities["negative"] == pytest.approx(0.97)
    assert [a.action for a in detail.actions] == ["flagged", "note", "corrected"]
    assert detail.actions[1].detail == "Called the courier"
    assert [(lb.kind, lb.value, lb.actor) for lb in detail.labels] == [
        ("sentiment", "neutral", "ana")
    ]


def test_unknown_item_says_what_to_do(engine, seeded):
    expected = "There is no triage item 9999. It may have been deleted; go back to the queue"
    with pytest.raises(NotFoundError, match=expected), session_scope(engine) as s:
        views.item_detail(s, 9999)


def test_author_and_near_duplicates(engine, seeded):
    with session_scope(engine) as s:
        item = views.queue_item(s, seeded.negative_item_id)
        authored = views.author_mentions(s, item.mention_id)
        dupes = views.near_duplicates(s, item.mention_id)
        hostile = views.queue_item(s, seeded.hostile_item_id)
        none = views.near_duplicates(s, hostile.mention_id)
    assert [m.mention_id for m in authored] == [seeded.same_author_mention_id]
    assert authored[0].item_id is None  # never flagged
    assert [(m.mention_id, m.text) for m in dupes] == [
        (seeded.duplicate_mention_id, DUPLICATE_TEXT)
    ]
    assert (dupes[0].similarity or 0) >= 0.5
    assert none == []


def test_shingle_similarity():
    a = shingles("The courier threw my parcel over the fence")
    assert similarity(a, a) == 1.0
    assert similarity(a, shingles("Lovely kettle, would buy again")) == 0.0
    assert similarity(frozenset(), a) == 0.0


def test_overview_counts_brands_sentiment_and_ratings(engine, seeded):
    with session_scope(engine) as s:
        ov = views.overview(s, since=NOW - timedelta(days=28), until=NOW + timedelta(hours=1))
    by_brand: dict[str, int] = {}
    for p in ov.periods:
        by_brand[p.brand] = by_brand.get(p.brand, 0) + p.mentions
        assert p.negative + p.neutral + p.positive == p.mentions  # all analysed
        assert p.period.weekday() == 0  # weeks start on Monday
    assert by_brand == {"kestrel": 8, "nimbus": 4}  # k1-k8; n1-n4 (history is older)
    ratings = {(r.brand, r.stars): r.mentions for r in ov.ratings}
    assert ratings[("kestrel", 1)] == 4  # k1, k2, k6, k8
    assert ratings[("kestrel", 2)] == 1  # k4
    assert ratings[("nimbus", None)] == 1  # n3
    assert (ov.open_items, ov.overdue_items, ov.responded, ov.median_response) == (6, 2, 0, None)


def test_overview_median_time_to_respond(engine):
    seed = seed_demo_data(engine)  # flagged now, so the responses below come seconds later
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        for item_id in (seed.negative_item_id, seed.hostile_item_id):
            actions.respond(s, item_id, expected_version=1, actor="ana", reply="Sorry")
        ov = views.overview(s, since=now - timedelta(days=28), until=now + timedelta(hours=1))
    assert (ov.open_items, ov.responded) == (4, 2)
    assert ov.median_response is not None
    assert timedelta(0) <= ov.median_response < timedelta(minutes=5)


def test_share_of_voice_and_net_sentiment():
    p = views.BrandPeriod(date(2026, 3, 2), "acme", 10, 2, 3, 5)
    assert p.net_sentiment == pytest.approx(0.3)
    rival = views.BrandPeriod(date(2026, 3, 2), "rival", 30, 0, 0, 0)
    assert rival.net_sentiment is None
    (share,) = views.share_of_voice([p, rival], ["rival"])
    assert (share.own, share.competitors, share.own_share) == (10, 30, 0.25)


def test_topic_summary_shows_order_tracking_got_worse(engine, seeded):
    with session_scope(engine) as s:
        summary = views.topic_summary(s, since=datetime(2026, 2, 1, tzinfo=UTC), until=NOW)
        items = views.topic_items(s, "order_tracking", date(2026, 3, 1))
        feb = views.topic_items(s, "order_tracking", date(2026, 2, 1), polarity="negative")
    cells = {(c.topic, c.polarity): c.mentions for c in summary.cells}
    assert cells[("order_tracking", "positive")] == 4
    assert cells[("order_tracking", "negative")] == 2
    assert cells[("delivery", "negative")] == 3  # k1, k6, k8
    worst = summary.changes[0]
    assert (worst.topic, worst.month) == ("order_tracking", date(2026, 3, 1))
    assert (worst.mentions, worst.previous_mentions) == (1, 5)
    assert worst.change == pytest.approx(80.0)
    assert all(c.previous_negative_share is None for c in summary.changes[1:])
    assert [i.text for i in items] == ["Nimbus lost my order and never answered emails."]
    assert [i.text for i in feb] == ["Tracking page froze once."]


def test_month_bounds():
    assert month_bounds(date(2026, 12, 15)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds(date(2026, 2, 1)) == (date(2026, 2, 1), date(2026, 3, 1))


def test_source_health_runs_and_errors(engine, seeded):
    with session_scope(engine) as s:
        health = {h.source: h for h in views.source_health(s, since=NOW - timedelta(days=7))}
        runs = views.crawl_runs(s, limit=10)
        errors = views.crawl_errors(s, source="kestrel-shop")
    kestrel, nimbus = health["kestrel-shop"], health["nimbus-reviews"]
    assert kestrel.last_run is not None
    assert (kestrel.last_run.errors, kestrel.last_run.errors_by_kind) == (2, {"http": 2})
    assert (kestrel.runs, kestrel.failed_runs, kestrel.items, kestrel.errors) == (3, 0, 15, 2)
    assert nimbus.last_run is not None
    assert nimbus.last_run.status == "failed"
    assert nimbus.failed_runs == 1
    assert len(runs) == 6
    assert runs[0].started_at >= runs[-1].started_at
    assert {e.reason for e in errors} == {HOSTILE_CRAWL_REASON, "HTTP 503 after 3 retries"}


def test_filter_options_offer_what_is_there(engine, seeded):
    auth.add_user(engine, "zoe", "correct horse battery", role="agent")
    auth.add_user(engine, "vic", "correct horse battery", role="viewer")
    with session_scope(engine) as s:
        actions.assign(s, seeded.negative_item_id, expected_version=1, actor="a", assignee="temp")
        options = views.filter_options(s)
    assert options.sources == ("kestrel-shop", "nimbus-reviews")
    assert options.languages == ("de", "en")
    assert "order_tracking" in options.topics
    assert options.assignees == ("temp", "zoe")  # agents and current assignees, no viewers


def test_benchmark_data_set_reads_back(engine):
    """``bench/dashboard_queries.py``'s generator (a few thousand mentions) fits the views."""
    from bench.dashboard_dataset import generate

    stored = generate(engine, 3000)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        page = views.filtered_queue(s, limit=50)
        ov = views.overview(s, since=now - timedelta(days=365), until=now + timedelta(hours=1))
        topics = views.topic_summary(s, since=now - timedelta(days=92), until=now)
        health = views.source_health(s, since=now - timedelta(days=7))
    assert 0 < len(page.items) <= 50
    assert stored.triage_items > 500  # about a quarter of the mentions
    assert sum(p.mentions for p in ov.periods) == 3000
    assert {c.topic for c in topics.cells} >= {"delivery", "order_tracking"}
    assert len(health) == 8
    assert all(h.runs == 28 for h in health)  # four runs a day
