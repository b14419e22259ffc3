"""A generated fortnight (and a little history) for the digest tests, through the store API.

Three brands (``nimbus`` is a competitor), four sources (one a feed whose mentions live
on other sites), ratings, topics with polarities that move between the two weeks,
triage items answered in time, late, dismissed, open and overdue, and hostile text
meant to break HTML, Markdown and spreadsheets. Mentions and analyses go in through
``repwatch.store.queries``; triage items are written as ORM rows so their flagging and
answer times can be set (the flagger stamps the current time).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from repwatch.config_template import BrandEntry
from repwatch.digest.week import IsoWeek
from repwatch.records import Analysis, MentionRecord
from repwatch.store import queries, session_scope
from repwatch.store.schema import AnalysisRow, MentionRow, TriageItemRow

WEEK = IsoWeek(2026, 47)  # Monday 16 to Sunday 22 November 2026
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)  # the Monday after, when the weekly job runs
BRANDS = (
    BrandEntry("kestrel", "Kestrel Home", ("Kestrel",)),
    BrandEntry("falcon", "Falcon Outdoor", ("Falcon",)),
    BrandEntry("nimbus", "Nimbus Direct", ("Nimbus",), competitor=True),
)
# key -> (kind, brand, base URL)
SOURCES = {
    "kestrel-shop": ("reviews", "kestrel", "https://shop.example/kestrel/reviews"),
    "falcon-reviews": ("reviews", "falcon", "https://reviews.example/falcon"),
    "nimbus-reviews": ("reviews", "nimbus", "https://reviews.example/nimbus"),
    "kestrel-web": ("feed", "kestrel", "https://feeds.example/kestrel.xml"),
}
TOPICS = ("delivery", "price", "customer_service", "product_quality")
AGENTS = ("ana", "ben", "chen")
MODEL, OLD_MODEL = "digest-model", "old-model"
HOSTILE_TITLE = '=HYPERLINK("http://evil.example/steal","click me")'
HOSTILE_TEXT = (
    "-2 stars. <script>alert('x')</script> **bold** _it_ [x](javascript:alert(1)) "
    "| pipe # not a heading `code` <img src=http://127.0.0.1:9/track.png>"
)
HOSTILE_AUTHOR = "@SUM(A1:A9)"
HOSTILE_URL = "javascript:alert(document.cookie)"
PLUS_TITLE = "+1 never again, cmd|' /C calc'!A0"
NEW_HOST, OLD_HOST = "newblog.example", "oldforum.example"


@dataclass(frozen=True, slots=True)
class _Mention:
    ext: str
    source: str
    published: datetime
    label: str
    score: float
    stars: int | None
    topics: dict[str, str]
    title: str | None = None
    text: str | None = None
    author: str | None = None
    url: str | None = None
    priority: float | None = None  # set for the hand-made items


def _label(rng: random.Random, brand: str, offset: int) -> str:
    # Kestrel gets worse in the digest's week; the others stay as they were.
    negative = 0.45 if (brand == "kestrel" and offset == 0) else 0.2
    return rng.choices(("negative", "neutral", "positive"), (negative, 0.2, 0.8 - negative))[0]


def _topics(rng: random.Random, label: str, offset: int) -> dict[str, str]:
    out = {}
    for topic in rng.sample(TOPICS, rng.choice((0, 1, 2))):
        polarity = label
        if topic == "delivery" and rng.random() < (0.6 if offset == 0 else 0.1):
            polarity = "negative"  # delivery got worse this week
        if topic == "price" and rng.random() < (0.7 if offset == 0 else 0.1):
            polarity = "positive"  # price got better
        out[topic] = polarity
    return out


def _generated(rng: random.Random) -> list[_Mention]:
    out = []
    monday = WEEK.since
    for source, (_kind, brand, _url) in SOURCES.items():
        if source == "kestrel-web":
            continue
        for offset, count in ((-5, 6), (-1, 24), (0, 30), (1, 3)):
            for n in range(count):
                published = monday + timedelta(weeks=offset, hours=rng.uniform(0, 7 * 24))
                if offset == 1:  # only the Monday after, before NOW
                    published = monday + timedelta(weeks=1, hours=rng.uniform(0, 8))
                label = _label(rng, brand, offset)
                stars = rng.choice({"negative": (1, 1, 2, 3), "neutral": (3, 3, 4),
                                    "positive": (4, 5, 5)}[label])  # fmt: skip
                score = {"negative": -0.7, "neutral": 0.0, "positive": 0.7}[label]
                out.append(
                    _Mention(
                        f"{source}-{offset}-{n}",
                        source,
                        published,
                        label,
                        round(score + rng.uniform(-0.25, 0.25), 3),
                        None if rng.random() < 0.15 else stars,
                        _topics(rng, label, offset),
                    )
                )
    return out


def _special() -> list[_Mention]:
    wednesday = WEEK.since + timedelta(days=2, hours=10)
    return [
        _Mention("hostile", "kestrel-shop", wednesday, "negative", -0.99, 1,
                 {"customer_service": "negative"}, HOSTILE_TITLE, HOSTILE_TEXT, HOSTILE_AUTHOR,
                 HOSTILE_URL, priority=99.5),
        _Mention("plus", "kestrel-shop", wednesday + timedelta(hours=3), "negative", -0.95, 1,
                 {"delivery": "negative"}, PLUS_TITLE, "Parcel lost, nobody answers.",
                 priority=98.0),
        _Mention("old-forum", "kestrel-web", WEEK.since - timedelta(weeks=5), "negative", -0.6,
                 None, {}, url=f"https://{OLD_HOST}/t/1"),
        _Mention("old-forum-2", "kestrel-web", wednesday, "negative", -0.6, None, {},
                 url=f"https://{OLD_HOST}/t/2"),
        _Mention("new-blog", "kestrel-web", wednesday, "negative", -0.8, None, {},
                 "Why I stopped buying Kestrel", url=f"https://www.{NEW_HOST}/post/9"),
        _Mention("new-blog-2", "kestrel-web", wednesday + timedelta(days=1), "negative", -0.5,
                 None, {}, url=f"https://{NEW_HOST}/post/10"),
    ]  # fmt: skip


def _record(m: _Mention) -> MentionRecord:
    _kind, brand, base = SOURCES[m.source]
    return MentionRecord(
        source=m.source,
        brand=brand,
        url=m.url or f"{base}/{m.ext}",
        external_id=m.ext,
        text=m.text or f"{m.label.title()} experience with {brand}, order {m.ext}.",
        title=m.title,
        author=m.author or f"user-{m.ext}",
        rating=None if m.stars is None else (m.stars - 1) / 4,
        language="en",
        published_at=m.published,
    )


def _analysis(mention_id: int, m: _Mention, model: str, label: str) -> Analysis:
    others = [k for k in ("negative", "neutral", "positive") if k != label]
    probs = {label: 0.8, others[0]: 0.12, others[1]: 0.08}
    return Analysis(mention_id, model, "1", label, m.score, 0.8, probs)  # type: ignore[arg-type]


def _item(rng: random.Random, mention_id: int, m: _Mention) -> TriageItemRow:
    flagged = m.published + timedelta(hours=2)
    priority = m.priority or round(rng.uniform(20, 95), 1)
    hours = 4 if priority >= 75 else 24 if priority >= 50 else 72
    status, assignee, responded = "new", None, None
    roll = rng.random()
    if m.ext == "plus" or (m.priority is None and roll < 0.55):
        responded = flagged + timedelta(hours=rng.uniform(0.5, 40))
        status, assignee = "responded", rng.choice(AGENTS)
    elif m.priority is None and roll < 0.7:
        status = "dismissed"
    elif m.priority is None and roll < 0.85:
        status, assignee = "assigned", rng.choice(AGENTS)
    if responded is not None and responded >= NOW:
        status, responded = "assigned", None
    return TriageItemRow(
        mention_id=mention_id,
        status=status,
        assignee=assignee,
        priority=priority,
        deadline_at=flagged + timedelta(hours=hours),
        reason="model: negative",
        flagged_at=flagged,
        escalated=rng.random() < 0.1,
        responded_at=responded,
        version=1,
    )


def seed_digest_data(engine: Engine, seed: int = 47) -> None:
    """Store the fortnight; the same ``seed`` gives the same rows on every backend."""
    rng = random.Random(seed)
    mentions = _generated(rng) + _special()
    with session_scope(engine) as session:
        for key, (kind, brand, url) in SOURCES.items():
            queries.ensure_source(session, key=key, kind=kind, brand=brand, url=url)
        queries.upsert_mentions(session, [_record(m) for m in mentions])
        ids = {e: i for e, i in session.execute(select(MentionRow.external_id, MentionRow.id))}
        by_ext = {m.ext: m for m in mentions}
        # An older model said the opposite about some mentions: only the newest verdict counts.
        flipped = [m for m in mentions if m.label == "negative"][::4]
        queries.save_analyses(
            session, [_analysis(ids[m.ext], m, OLD_MODEL, "positive") for m in flipped]
        )
        queries.save_analyses(session, [_analysis(ids[m.ext], m, MODEL, m.label) for m in mentions])
        for ext, m in by_ext.items():
            value = {t: {"score": 0.9, "polarity": p} for t, p in m.topics.items()}
            session.execute(
                update(AnalysisRow)
                .where(AnalysisRow.mention_id == ids[ext], AnalysisRow.model_name == MODEL)
                .values(topics=value)
            )
        for m in mentions:
            low = m.stars is not None and m.stars <= 2
            if (m.label == "negative" or low) and m.source != "kestrel-web":
                session.add(_item(rng, ids[m.ext], m))
