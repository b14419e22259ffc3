"""What to alert on: new serious items, and spikes judged against a weekly, robust baseline.

The spike data is hourly and seasonal, like real review traffic: Monday mornings are busy
(about 5 negative mentions an hour), the rest of the week is quiet (one every 3 hours).
A normal Monday morning is no spike; five times that is; one wild week in the past
changes neither verdict. Database tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from repwatch.alerts import (
    ITEM_LOOKBACK,
    baseline_windows,
    find_spikes,
    record_alerts,
    spike_threshold,
)
from repwatch.config import Alerts, Brand, Settings
from repwatch.records import Analysis, MentionRecord, TriageDecision
from repwatch.store import alerts as store
from repwatch.store import queries, session_scope
from repwatch.store.schema import AnalysisRow, utcnow

MONDAY_NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday
BUSY_PER_HOUR = 5  # Monday 06:00-12:00
WINDOW = 6


def settings(**alerts: object) -> Settings:
    return Settings(
        brands={
            "kestrel": Brand(name="Kestrel Home"),
            "nimbus": Brand(name="Nimbus Direct", competitor=True),
        },
        alerts=Alerts(**alerts),  # type: ignore[arg-type]
    )


class Seeder:
    """Builds mentions with given publication times; ``store`` writes them all at once."""

    def __init__(self) -> None:
        self.records: list[MentionRecord] = []

    def add(
        self,
        brand: str,
        at: datetime,
        *,
        rating: float | None = 0.0,
        n: int = 1,
        spread: bool = True,
    ) -> None:
        """``n`` mentions in the hour from ``at`` (or exactly at ``at``, without ``spread``)."""
        for _ in range(n):
            i = len(self.records)
            self.records.append(
                MentionRecord(
                    source=f"{brand}-shop",
                    brand=brand,
                    url=f"https://{brand}.example/r/{i}",
                    external_id=f"r{i}",
                    text=f"Review {i}",
                    rating=rating,
                    published_at=at + timedelta(minutes=(i * 7) % 60 if spread else 0),
                )
            )

    def store(self, engine: Engine) -> None:
        with session_scope(engine) as s:
            for brand in sorted({r.brand for r in self.records}):
                queries.ensure_source(
                    s, key=f"{brand}-shop", kind="reviews", brand=brand, url="https://x.example"
                )
            queries.upsert_mentions(s, self.records)


def seasonal_history(
    seeder: Seeder, brand: str, end: datetime, *, weeks: int = 5, seed: int = 1
) -> None:
    """Negative mentions each hour before ``end``: busy Monday mornings, quiet otherwise."""
    rng = random.Random(seed)
    hour = end - timedelta(weeks=weeks)
    while hour < end - timedelta(hours=WINDOW):  # the current window is up to each test
        if hour.weekday() == 0 and 6 <= hour.hour < 12:
            seeder.add(brand, hour, n=BUSY_PER_HOUR + rng.choice((-1, 0, 0, 1)))
        elif hour.hour % 3 == 0:
            seeder.add(brand, hour)
        hour += timedelta(hours=1)


def current_window(seeder: Seeder, brand: str, end: datetime, per_hour: int) -> None:
    for h in range(WINDOW, 0, -1):
        seeder.add(brand, end - timedelta(hours=h), n=per_hour)


# --- the robust baseline, without a database ---------------------------------------------


def test_threshold_is_factor_times_median_or_three_robust_deviations():
    assert spike_threshold([30, 30, 30, 30], factor=3.0) == (30.0, 90.0)
    # Wide spread: the MAD term wins over factor x median.
    median, threshold = spike_threshold([2, 10, 18, 10], factor=2.0)
    assert median == 10.0
    assert threshold == pytest.approx(10 + 3 * 4 * 1.4826)  # deviations 8, 0, 8, 0: MAD 4


def test_one_wild_week_moves_neither_median_nor_threshold():
    calm = spike_threshold([29, 31, 30, 30], factor=3.0)
    wild = spike_threshold([29, 300, 30, 31], factor=3.0)
    assert wild[0] == pytest.approx(calm[0], abs=0.5)
    assert wild[1] == pytest.approx(calm[1], abs=1.5)
    # A mean would not hold: 3 x mean of the wild weeks is above a five-fold burst.
    assert 3 * sum([29, 300, 30, 31]) / 4 > 5 * 30


def test_baseline_windows_are_the_same_hours_of_the_week():
    windows = baseline_windows(MONDAY_NOON, hours=6, weeks=2)
    assert windows == [
        (datetime(2026, 3, 2, 6, tzinfo=UTC), MONDAY_NOON),
        (datetime(2026, 2, 23, 6, tzinfo=UTC), datetime(2026, 2, 23, 12, tzinfo=UTC)),
        (datetime(2026, 2, 16, 6, tzinfo=UTC), datetime(2026, 2, 16, 12, tzinfo=UTC)),
    ]
    assert {start.weekday() for start, _ in windows} == {0}


# --- counting negative mentions ----------------------------------------------------------


def test_negative_means_newest_label_negative_or_two_stars_at_most(engine):
    at = MONDAY_NOON - timedelta(hours=2)
    seeder = Seeder()
    seeder.add("kestrel", at, rating=0.0)  # 1 star: negative
    seeder.add("kestrel", at, rating=0.25)  # 2 stars: negative
    seeder.add("kestrel", at, rating=0.5)  # 3 stars, no analysis: not negative
    seeder.add("kestrel", at, rating=None)  # 4: model says negative
    seeder.add("kestrel", at, rating=None)  # 5: was negative, newest analysis positive
    seeder.add("kestrel", at - timedelta(hours=7), rating=0.0)  # 6: before the window
    seeder.add("kestrel", MONDAY_NOON, spread=False)  # 7: the window's end is excluded
    seeder.add("kestrel", MONDAY_NOON - timedelta(hours=6), spread=False)  # 8: its start is in
    seeder.add("nimbus", at, rating=0.0)
    seeder.store(engine)
    with session_scope(engine) as s:
        queries.save_analyses(s, [Analysis(4, "m", "r1", "negative", -0.9, 0.9)])
        queries.save_analyses(s, [Analysis(5, "m", "r1", "negative", -0.9, 0.9)])
        queries.save_analyses(s, [Analysis(5, "m", "r2", "positive", 0.9, 0.9)])
        counts = store.negative_counts(s, MONDAY_NOON - timedelta(hours=6), MONDAY_NOON, by="brand")
        only = store.negative_counts(
            s, MONDAY_NOON - timedelta(hours=6), MONDAY_NOON, by="brand", brands=["nimbus"]
        )
    assert counts == {"kestrel": 4, "nimbus": 1}
    assert only == {"nimbus": 1}


def test_undated_mentions_count_when_they_were_fetched(engine):
    seeder = Seeder()
    seeder.add("kestrel", MONDAY_NOON)
    seeder.records = [dataclasses.replace(r, published_at=None) for r in seeder.records]
    seeder.store(engine)
    now = utcnow()
    with session_scope(engine) as s:
        recent = store.negative_counts(s, now - timedelta(hours=1), now, by="brand")
        at_monday = store.negative_counts(
            s, MONDAY_NOON - timedelta(hours=6), MONDAY_NOON, by="brand"
        )
    assert recent == {"kestrel": 1}
    assert at_monday == {}


# --- spikes ------------------------------------------------------------------------------


def test_normal_monday_morning_is_no_spike_but_five_times_it_is(engine):
    seeder = Seeder()
    seasonal_history(seeder, "kestrel", MONDAY_NOON)
    seasonal_history(seeder, "nimbus", MONDAY_NOON, seed=2)
    current_window(seeder, "kestrel", MONDAY_NOON, BUSY_PER_HOUR)  # an ordinary Monday
    current_window(seeder, "nimbus", MONDAY_NOON, 5 * BUSY_PER_HOUR)  # a burst
    seeder.store(engine)

    with session_scope(engine) as s:
        spikes = find_spikes(s, settings(), MONDAY_NOON)

    assert [(sp.subject_kind, sp.subject) for sp in spikes] == [("brand", "nimbus")]
    spike = spikes[0]
    assert spike.count == 6 * 5 * BUSY_PER_HOUR
    assert len(spike.baseline) == 4
    assert 24 <= spike.median <= 36
    assert spike.key == "spike:brand:nimbus:2026-03-02T12"
    # The same count on a quiet Sunday morning is a spike: the baseline is per hour of week.
    sunday = MONDAY_NOON - timedelta(days=1)
    current_window(seeder, "kestrel", sunday, BUSY_PER_HOUR)
    seeder.records = seeder.records[-WINDOW * BUSY_PER_HOUR :]
    seeder.store(engine)
    with session_scope(engine) as s:
        on_sunday = find_spikes(s, settings(), sunday)
    assert [sp.subject for sp in on_sunday] == ["kestrel"]


def test_one_outlier_week_in_the_past_changes_no_verdict(engine):
    seeder = Seeder()
    for brand, seed in (("kestrel", 1), ("nimbus", 2)):
        seasonal_history(seeder, brand, MONDAY_NOON, seed=seed)
        # Two weeks ago, a wild Monday morning: ten times the usual.
        current_window(seeder, brand, MONDAY_NOON - timedelta(weeks=2), 10 * BUSY_PER_HOUR)
    current_window(seeder, "kestrel", MONDAY_NOON, BUSY_PER_HOUR)
    current_window(seeder, "nimbus", MONDAY_NOON, 5 * BUSY_PER_HOUR)
    seeder.store(engine)

    with session_scope(engine) as s:
        spikes = find_spikes(s, settings(), MONDAY_NOON)

    assert [sp.subject for sp in spikes] == ["nimbus"]
    assert max(spikes[0].baseline) >= 6 * 10 * BUSY_PER_HOUR  # the outlier is in there
    assert spikes[0].threshold < 5 * 6 * BUSY_PER_HOUR


def test_min_count_and_a_short_history_hold_back_a_verdict(engine):
    seeder = Seeder()
    # Quiet brand: no negatives at all for weeks, then 4 in the window.
    seeder.add("kestrel", MONDAY_NOON - timedelta(weeks=5), rating=1.0)
    seeder.add("kestrel", MONDAY_NOON - timedelta(hours=2), n=4)
    # New brand: first mention 10 days ago, so only one past week is known.
    seeder.add("nimbus", MONDAY_NOON - timedelta(days=10), rating=1.0)
    seeder.add("nimbus", MONDAY_NOON - timedelta(hours=2), n=50)
    seeder.store(engine)
    with session_scope(engine) as s:
        assert find_spikes(s, settings(spike_min_count=5), MONDAY_NOON) == []
        lowered = find_spikes(s, settings(spike_min_count=4), MONDAY_NOON)
        one_week = find_spikes(s, settings(spike_baseline_weeks=1), MONDAY_NOON)
    assert [sp.subject for sp in lowered] == ["kestrel"]
    assert [sp.subject for sp in one_week] == ["nimbus"]  # kestrel: 4 is below min_count


def test_topic_spikes_count_the_topics_polarity_on_own_brands(engine):
    seeder = Seeder()
    seeder.add("kestrel", MONDAY_NOON - timedelta(weeks=5), rating=None)  # history starts
    for week in range(1, 5):  # two delivery complaints in each past Monday window
        seeder.add("kestrel", MONDAY_NOON - timedelta(weeks=week, hours=3), rating=None, n=2)
    seeder.add("kestrel", MONDAY_NOON - timedelta(hours=3), rating=None, n=20)
    seeder.add("nimbus", MONDAY_NOON - timedelta(hours=3), rating=None, n=20)  # competitor
    seeder.store(engine)
    n = len(seeder.records)
    with session_scope(engine) as s:
        queries.save_analyses(
            s, [Analysis(i, "m", "r1", "negative", -0.8, 0.9) for i in range(1, n + 1)]
        )
    topics = {
        "delivery": {"score": 0.9, "polarity": "negative"},
        "price": {"score": 0.5, "polarity": "positive"},  # a good price: not negative
    }
    with session_scope(engine) as s:
        s.execute(update(AnalysisRow).values(topics=topics))

    with session_scope(engine) as s:
        spikes = find_spikes(s, settings(), MONDAY_NOON)

    topic_spikes = [sp for sp in spikes if sp.subject_kind == "topic"]
    assert [(sp.subject, sp.count, sp.baseline) for sp in topic_spikes] == [
        ("delivery", 20, (2, 2, 2, 2))
    ]
    assert topic_spikes[0].key == "spike:topic:delivery:2026-03-02T12"


# --- alerts: each once -------------------------------------------------------------------


def _flag(engine: Engine, priorities: list[float]) -> list[int]:
    seeder = Seeder()
    for _ in priorities:
        seeder.add("kestrel", utcnow() - timedelta(hours=1))
    seeder.store(engine)
    with session_scope(engine) as s:
        queries.add_triage_items(
            s,
            [
                TriageDecision(i + 1, p, utcnow() + timedelta(hours=4), "rating 1/5")
                for i, p in enumerate(priorities)
            ],
        )
        return [row.item_id for row in queries.triage_queue(s, limit=100)]


def test_new_items_above_the_threshold_are_alerted_once(engine):
    _flag(engine, [90.0, 75.0, 74.9])
    cfg = settings(min_priority=75.0)

    first = record_alerts(engine, cfg)
    again = record_alerts(engine, cfg)

    assert [a.key for a in first] == ["item:1", "item:2"]
    assert again == []
    alert = first[0]
    assert alert.title == "Priority 90: Kestrel Home on kestrel-shop, 1/5 stars"
    assert alert.body.startswith("“Review 0”\nhttps://kestrel.example/r/0\nrating 1/5; answer by ")
    assert alert.data["item_id"] == 1
    with session_scope(engine) as s:
        pending = store.pending_alerts(s)
    assert [(a.key, a.kind, a.sent_at, a.attempts) for a in pending] == [
        ("item:1", "item", None, 0),
        ("item:2", "item", None, 0),
    ]


def test_items_answered_or_flagged_long_ago_are_not_news(sqlite_engine):
    _flag(sqlite_engine, [90.0, 90.0])
    with session_scope(sqlite_engine) as s:
        queries.change_status(s, 1, expected_version=1, to_status="assigned", actor="ana")
    later = utcnow() + ITEM_LOOKBACK + timedelta(minutes=1)
    assert record_alerts(sqlite_engine, settings(), later) == []
    assert [a.key for a in record_alerts(sqlite_engine, settings(), utcnow())] == ["item:2"]


def test_an_ongoing_spike_is_reported_once_per_window(engine):
    seeder = Seeder()
    seasonal_history(seeder, "nimbus", MONDAY_NOON, seed=2)
    current_window(seeder, "nimbus", MONDAY_NOON, 5 * BUSY_PER_HOUR)  # 06:00-12:00
    current_window(seeder, "nimbus", MONDAY_NOON + timedelta(hours=WINDOW), 5 * BUSY_PER_HOUR)
    seeder.store(engine)
    cfg = settings()

    first = record_alerts(engine, cfg, MONDAY_NOON)
    an_hour_later = record_alerts(engine, cfg, MONDAY_NOON + timedelta(hours=1))
    next_window = record_alerts(engine, cfg, MONDAY_NOON + timedelta(hours=WINDOW))

    assert [a.key for a in first] == ["spike:brand:nimbus:2026-03-02T12"]
    assert first[0].title == (
        "Spike: 150 negative mentions of Nimbus Direct in the last 6 h (usually "
        f"{first[0].data['median']:g})"
    )
    assert first[0].body.startswith("2026-03-02 06:00 to 12:00 UTC. The same hours in the past 4")
    assert an_hour_later == []  # the same spike, still going on
    # The next window does not overlap the first: still far above usual, a new alert.
    assert [a.key for a in next_window] == ["spike:brand:nimbus:2026-03-02T18"]
