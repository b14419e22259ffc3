"""The weekly digest: its figures against the database and the dashboard's views, and its
four formats (HTML, PDF, CSV, Markdown) against hostile scraped text."""

from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, func, select, text

from repwatch.config import Brand
from repwatch.digest import Digest, IsoWeek, WeekError, collect_digest, render_digest
from repwatch.errors import ConfigError
from repwatch.store import open_database, session_scope, views
from repwatch.store.schema import AnalysisRow, MentionRow, UTCDateTime
from tests.digest_data import (
    BRANDS,
    HOSTILE_AUTHOR,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    NEW_HOST,
    NOW,
    PLUS_TITLE,
    WEEK,
    seed_digest_data,
)

CONFIG_BRANDS = {b.key: Brand(name=b.name, competitor=b.competitor) for b in BRANDS}
OWN = ("kestrel", "falcon")
NEWEST = "a.id = (SELECT max(id) FROM analyses WHERE mention_id = m.id)"


def _digest(engine: Engine, brand: str | None = None, week: IsoWeek = WEEK) -> Digest:
    with session_scope(engine) as s:
        return collect_digest(s, CONFIG_BRANDS, week, brand=brand, now=NOW)


def _sql(engine: Engine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows of a hand-written query; datetimes bound the way the store writes them."""
    stmt = text(sql).bindparams(
        *(bindparam(k, type_=UTCDateTime()) for k, v in params.items() if isinstance(v, datetime))
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt, params)]


def _in(keys: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{k}'" for k in keys) + ")"


# --- figures ---------------------------------------------------------------------------


def test_figures_equal_direct_sql_and_the_dashboards_views(engine):
    seed_digest_data(engine)
    d = _digest(engine)
    since, until, before = WEEK.since, WEEK.until, WEEK.previous.since
    week_sql = (
        f"SELECT m.brand, a.label, count(*) FROM mentions m LEFT JOIN analyses a ON {NEWEST} "
        "WHERE m.published_at >= :since AND m.published_at < :until GROUP BY m.brand, a.label"
    )
    for attr, start, end in (("week", since, until), ("previous", before, since)):
        counts: dict[tuple[str, str], int] = {}
        for brand, label, n in _sql(engine, week_sql, since=start, until=end):
            counts[(brand, label)] = n
        for row in d.brands:
            period = getattr(row, attr)
            assert period.mentions == sum(n for (b, _), n in counts.items() if b == row.key)
            assert period.negative == counts.get((row.key, "negative"), 0)
            assert period.positive == counts.get((row.key, "positive"), 0)
    assert {r.key for r in d.brands} == {"kestrel", "falcon", "nimbus"}
    assert d.brands[-1].key == "nimbus"  # competitors last

    with session_scope(engine) as s:  # what the dashboard's Overview page calls
        dash = views.overview(s, since=since, until=until, bucket="week")
        dash_before = views.overview(s, since=before, until=since, bucket="week")
        dash_scope = views.overview(s, since=since, until=until, bucket="week", brands=OWN)
        totals = views.queue_totals(s, until)
    assert [r.week for r in sorted(d.brands, key=lambda r: r.key)] == list(dash.periods)
    assert [r.previous for r in sorted(d.brands, key=lambda r: r.key)] == list(dash_before.periods)
    assert d.ratings == dash.ratings
    assert d.voice == tuple(views.share_of_voice([*dash_before.periods, *dash.periods], ["nimbus"]))
    assert d.voice[-1].own == sum(r.week.mentions for r in d.brands if r.key in OWN)
    assert (d.overview.open_items, d.overview.overdue_items) == (totals.open_items, totals.overdue)
    assert (d.responses.responded, d.responses.median) == (
        dash_scope.responded,
        dash_scope.median_response,
    )
    assert d.responses.responded > 0

    stars: dict[tuple[str, int | None], int] = {}
    for brand, rating, n in _sql(
        engine,
        "SELECT brand, rating, count(*) FROM mentions WHERE published_at >= :since "
        "AND published_at < :until GROUP BY brand, rating",
        since=since,
        until=until,
    ):
        key = (brand, None if rating is None else round(1 + 4 * rating))
        stars[key] = stars.get(key, 0) + n
    assert {(r.brand, r.stars): r.mentions for r in d.ratings} == stars

    open_all = _sql(
        engine,
        "SELECT count(*), sum(CASE WHEN deadline_at < :until THEN 1 ELSE 0 END) "
        "FROM triage_items WHERE status IN ('new', 'assigned')",
        until=until,
    )[0]
    assert (d.overview.open_items, d.overview.overdue_items) == open_all
    overdue = _sql(
        engine,
        "SELECT count(*) FROM triage_items t JOIN mentions m ON m.id = t.mention_id "
        "WHERE t.status IN ('new', 'assigned') AND t.deadline_at < :until "
        f"AND m.brand IN {_in(OWN)}",
        until=until,
    )[0][0]
    assert d.overdue.count == overdue
    assert 0 < overdue < d.overview.overdue_items  # the competitor's overdue items are left out
    assert [i.deadline_at for i in d.overdue.items] == sorted(
        i.deadline_at for i in d.overdue.items
    )

    by_status = dict(
        _sql(
            engine,
            "SELECT t.status, count(*) FROM triage_items t JOIN mentions m ON m.id = t.mention_id "
            f"WHERE t.flagged_at >= :since AND t.flagged_at < :until AND m.brand IN {_in(OWN)} "
            "GROUP BY t.status",
            since=since,
            until=until,
        )
    )
    assert d.flagged.flagged == sum(by_status.values())
    assert d.flagged.responded == by_status.get("responded", 0)
    assert d.flagged.open == by_status.get("new", 0) + by_status.get("assigned", 0)
    assert [i.title for i in d.flagged.items[:2]] == [HOSTILE_TITLE, PLUS_TITLE]
    assert {i.brand for i in d.flagged.items} <= set(OWN)

    hours = [
        (r - f).total_seconds() / 3600
        for r, f in _sql(
            engine,
            "SELECT t.responded_at, t.flagged_at FROM triage_items t JOIN mentions m "
            f"ON m.id = t.mention_id WHERE t.responded_at >= :since AND t.responded_at < :until "
            f"AND m.brand IN {_in(OWN)}",
            since=since,
            until=until,
        )
        for r, f in [(_aware(r), _aware(f))]
    ]
    assert d.responses.median is not None
    assert d.responses.median.total_seconds() / 3600 == pytest.approx(statistics.median(hours))
    assert sum(a.responded for a in d.responses.by_assignee) == len(hours)

    assert [s.host for s in d.new_sources] == [NEW_HOST]  # oldforum.example spoke up before
    assert d.new_sources[0].mentions == 2
    _check_topics(engine, d)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite returns text from a raw query
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_topics(engine: Engine, d: Digest) -> None:
    """Negative shares per topic recomputed from the newest analyses' JSON, in Python."""
    newest = select(AnalysisRow.mention_id, AnalysisRow.topics, AnalysisRow.label).where(
        AnalysisRow.id.in_(select(func.max(AnalysisRow.id)).group_by(AnalysisRow.mention_id))
    )
    with session_scope(engine) as s:
        mine = select(MentionRow.id, MentionRow.published_at).where(MentionRow.brand.in_(OWN))
        published = {mention_id: at for mention_id, at in s.execute(mine)}
        rows = [r for r in s.execute(newest) if r[0] in published]
    share: dict[tuple[str, str], list[int]] = {}
    for mention_id, topics, label in rows:
        when = published[mention_id]
        if when is None or not WEEK.previous.since <= when < WEEK.until:
            continue
        week = "now" if when >= WEEK.since else "before"
        for topic, value in (topics or {}).items():
            counts = share.setdefault((topic, week), [0, 0])
            counts[0] += 1
            counts[1] += (value.get("polarity") or label) == "negative"
    listed = {t.topic: t for t in (*d.topics_worse, *d.topics_better)}
    assert "delivery" in {t.topic for t in d.topics_worse}
    assert "price" in {t.topic for t in d.topics_better}
    for topic, t in listed.items():
        assert [t.mentions, t.negative] == share[(topic, "now")]
        assert [t.previous_mentions, t.previous_negative] == share.get((topic, "before"), [0, 0])
        assert t.examples, topic
    assert all(t.change > 0 for t in d.topics_worse if t.change is not None)
    worst = [e for t in d.topics_worse if t.topic == "customer_service" for e in t.examples]
    assert worst[0].text == HOSTILE_TEXT  # the most negative example first


def test_a_brands_digest_compares_it_with_the_competitors_only(engine):
    seed_digest_data(engine)
    d = _digest(engine, brand="falcon")
    assert [r.key for r in d.brands] == ["falcon", "nimbus"]
    assert [g.key for g in d.groups] == ["own brands", "competitors"]
    assert d.scope == ("falcon",)
    assert d.scope_label == "Falcon Outdoor"
    assert d.flagged.items
    assert {i.brand for i in d.flagged.items} == {"falcon"}
    assert {i.brand for i in d.overdue.items} <= {"falcon"}
    assert d.new_sources == ()  # the new blog writes about Kestrel
    assert d.voice[-1].own == d.brands[0].week.mentions


def test_unknown_brand_and_future_week_say_what_to_do(sqlite_engine):
    with pytest.raises(ConfigError) as unknown:
        _digest(sqlite_engine, brand="acme")
    assert str(unknown.value) == (
        "Unknown brand 'acme'; expected one of falcon, kestrel, nimbus "
        "(the [brands] keys in repwatch.toml)."
    )
    with pytest.raises(WeekError) as future:
        _digest(sqlite_engine, week=IsoWeek(2026, 49))
    assert str(future.value) == "Week 2026-W49 has not started yet; expected 2026-W48 or earlier."


def test_an_empty_week_renders_everywhere(sqlite_engine):
    d = _digest(sqlite_engine)
    assert d.brands == ()
    assert d.total is None
    assert d.responses.median is None
    for fmt in ("html", "csv", "md"):
        assert render_digest(d, fmt)


def test_the_running_week_is_cut_at_now(sqlite_engine):
    seed_digest_data(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        d = collect_digest(s, CONFIG_BRANDS, WEEK, now=WEEK.since + timedelta(days=2))
    assert not d.complete
    assert d.until == WEEK.since + timedelta(days=2)
    assert max(p.period for p in d.daily) < (WEEK.since + timedelta(days=2)).date()


# --- weeks -----------------------------------------------------------------------------


def test_iso_weeks():
    week = IsoWeek.parse(" 2026-W47 ")
    assert (week.since, week.until) == (
        datetime(2026, 11, 16, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert str(week.previous) == "2026-W46"
    assert week.label == "Week 47 of 2026 (16\u201322 Nov 2026)"
    assert IsoWeek.parse("2027-W01").label == "Week 1 of 2027 (4\u201310 Jan 2027)"
    assert IsoWeek.parse("2026-W53").label == "Week 53 of 2026 (28 Dec 2026 \u2013 3 Jan 2027)"
    assert IsoWeek.last_complete(NOW) == week
    assert IsoWeek.last_complete(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)) == week.previous


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("2026-47", "'2026-47' is not an ISO week; expected YYYY-Www, e.g. 2026-W47"),
        ("2026-W7", "'2026-W7' is not an ISO week; expected YYYY-Www, e.g. 2026-W47"),
        ("2025-W53", "'2025-W53' is not a week of 2025 (it has 52 weeks); expected YYYY-Www, "
                     "e.g. 2026-W47"),
    ],
)  # fmt: skip
def test_bad_weeks_say_the_format(given, message):
    with pytest.raises(WeekError) as error:
        IsoWeek.parse(given)
    assert str(error.value) == message


# --- formats ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_digest(tmp_path_factory: pytest.TempPathFactory) -> Digest:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('digest') / 'repwatch.db'}")
    seed_digest_data(engine)
    try:
        return _digest(engine)
    finally:
        engine.dispose()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_shows_hostile_text_as_text(seeded_digest):
    html = render_digest(seeded_digest, "html").decode("utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html
    assert "&lt;img src=http://127.0.0.1:9/track.png&gt;" in html
    parsed = _Links()
    parsed.feed(html)
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    links = [a["href"] for t, a in parsed.tags if t == "a"]
    assert len(images) == 5  # volume, sentiment, daily, ratings, topics
    assert all(src and src.startswith("data:image/png;base64,") for src in images)
    assert links
    assert all(h and re.match(r"https?://", h) for h in links)
    assert "https://www.newblog.example/post/9" in links
    assert "Reputation digest: Kestrel Home, Falcon Outdoor" in html


def test_csv_neutralises_formulas_in_scraped_text(seeded_digest):
    raw = render_digest(seeded_digest, "csv").decode("utf-8")
    assert raw.startswith("\ufeff# Digest\r\n")
    cells = [c for row in csv.reader(io.StringIO(raw.removeprefix("\ufeff"))) for c in row]
    for hostile in (HOSTILE_TITLE, HOSTILE_AUTHOR, PLUS_TITLE, HOSTILE_TEXT):
        assert "'" + hostile in cells
        assert hostile not in cells
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            float(cell)  # only our own numbers, like a net sentiment of -14.29
    assert "-14.29" in cells  # Kestrel's net sentiment, a number in the spreadsheet
    assert ["falcon", "Falcon Outdoor", "no", "30", "24"] in [
        row[:5] for row in csv.reader(io.StringIO(raw.removeprefix("\ufeff")))
    ]


def test_markdown_escapes_scraped_text(seeded_digest):
    md = render_digest(seeded_digest, "md").decode("utf-8")
    assert "<script>" not in md
    for escaped in ("\\<script\\>", "\\*\\*bold\\*\\*", "\\_it\\_", "\\`code\\`", "\\=HYPERLINK"):
        assert escaped in md
    assert "javascript:" not in md.replace("javascript\\:", "")  # never a link target
    assert "[Why I stopped buying Kestrel](<https://www.newblog.example/post/9>)" in md
    for line in md.splitlines():
        if line.startswith("| "):  # an escaped pipe never adds a column
            assert len(re.findall(r"(?<!\\)\|", line)) in (5, 7, 9), line
    assert md.startswith("# Reputation digest: Kestrel Home\\, Falcon Outdoor\n")
