"""Seed a database with mentions, analyses and triage items, through the real store API.

Used by the dashboard tests (AppTest and the browser) to have a queue worth looking at:
two brands, overdue and fresh items, a known negative review and a hostile one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from repwatch.config import Deadlines, Flagging
from repwatch.records import STATUSES, Analysis, MentionRecord
from repwatch.store import queries, session_scope
from repwatch.store.schema import utcnow
from repwatch.triage import flag_new

NEGATIVE_TEXT = "The courier threw my parcel over the fence and support hung up on me."
HOSTILE_TEXT = (
    "Awful shop. <script>alert('x')</script> <img src=x onerror=alert(1)> "
    "[click me](javascript:alert(1)) **bold**"
)
HOSTILE_TITLE = "Worst <b>ever</b> :red[fake] $x^2$ _really_"
HOSTILE_URL = "javascript:alert(document.cookie)"
MODEL_NAME = "seed-model"
MODEL_REVISION = "1"

SOURCES = {
    "kestrel-shop": ("kestrel", "https://shop.example/kestrel/reviews"),
    "nimbus-reviews": ("nimbus", "https://reviews.example/nimbus"),
}


@dataclass(frozen=True, slots=True)
class _Seed:
    source: str
    external_id: str
    text: str
    title: str | None
    rating: float | None  # 0..1
    negative: float  # the model's negative probability
    age_days: float
    reach: int | None = None
    url: str | None = None
    early: bool = False  # flagged five days ago, so its deadline has passed


SEEDS = (
    _Seed(
        "kestrel-shop",
        "k1",
        NEGATIVE_TEXT,
        "Parcel thrown over the fence",
        0.0,
        0.97,
        0.2,
        reach=120_000,
    ),
    _Seed("kestrel-shop", "k2", HOSTILE_TEXT, HOSTILE_TITLE, 0.0, 0.9, 1.0, url=HOSTILE_URL),
    _Seed(
        "kestrel-shop",
        "k3",
        "Lovely kettle, arrived early. Would buy again.",
        "Great",
        1.0,
        0.02,
        0.5,
    ),
    _Seed(
        "kestrel-shop",
        "k4",
        "Refund still missing after three weeks.",
        "No refund",
        0.25,
        0.8,
        6.0,
        early=True,
    ),
    _Seed("kestrel-shop", "k5", "It is fine, nothing special.", None, 0.5, 0.3, 2.0),
    _Seed(
        "kestrel-shop",
        "k6",
        "Die Lieferung kam beschädigt an.",
        "Beschädigt",
        0.0,
        0.88,
        8.0,
        early=True,
    ),
    _Seed(
        "nimbus-reviews",
        "n1",
        "Nimbus lost my order and never answered emails.",
        "Lost order",
        0.0,
        0.93,
        0.1,
        reach=5_000,
    ),
    _Seed("nimbus-reviews", "n2", "Fast delivery, friendly staff.", "Fast", 1.0, 0.01, 1.0),
    _Seed("nimbus-reviews", "n3", "Checkout kept failing on my phone.", None, None, 0.7, 3.0),
    _Seed("nimbus-reviews", "n4", "Okay prices, slow support.", "Meh", 0.5, 0.45, 0.3),
)


@dataclass(frozen=True, slots=True)
class SeedInfo:
    """What ``seed_demo_data`` stored: counts and the triage item ids tests look for."""

    mentions: int
    flagged: int
    negative_item_id: int  # the item of NEGATIVE_TEXT
    hostile_item_id: int  # the item of HOSTILE_TEXT
    item_ids: tuple[int, ...]  # every flagged item, most urgent first


def _record(seed: _Seed, now: datetime) -> MentionRecord:
    brand, base = SOURCES[seed.source]
    return MentionRecord(
        source=seed.source,
        brand=brand,
        url=seed.url or f"{base}/{seed.external_id}?ref=a(b)",
        external_id=seed.external_id,
        text=seed.text,
        title=seed.title,
        author=f"author-{seed.external_id}",
        author_reach=seed.reach,
        rating=seed.rating,
        language="de" if seed.external_id == "k6" else "en",
        published_at=now - timedelta(days=seed.age_days),
    )


def _analysis(mention_id: int, negative: float) -> Analysis:
    positive = round((1.0 - negative) * 0.7, 4)
    neutral = round(1.0 - negative - positive, 4)
    probabilities = {"negative": negative, "neutral": neutral, "positive": positive}
    label = max(probabilities, key=lambda key: probabilities[key])
    return Analysis(
        mention_id=mention_id,
        model_name=MODEL_NAME,
        model_revision=MODEL_REVISION,
        label=label,  # type: ignore[arg-type]
        score=round(positive - negative, 4),
        confidence=probabilities[label],
        probabilities=probabilities,
    )


def _store(engine: Engine, seeds: list[_Seed], now: datetime) -> None:
    with session_scope(engine) as session:
        for key, (brand, url) in SOURCES.items():
            queries.ensure_source(session, key=key, kind="reviews", brand=brand, url=url)
        queries.upsert_mentions(session, [_record(seed, now) for seed in seeds])
        negative = {seed.text: seed.negative for seed in seeds}
        pending = queries.unscored_mentions(session, MODEL_NAME, MODEL_REVISION, limit=1000)
        queries.save_analyses(session, [_analysis(m.id, negative[m.text]) for m in pending])


def seed_demo_data(engine: Engine, now: datetime | None = None) -> SeedInfo:
    """Store the seed mentions and analyses, then flag them with the default rules.

    Mentions marked ``early`` are flagged as of five days ago, so they are overdue now.
    """
    now = now or utcnow()
    flagging, deadlines = Flagging(), Deadlines()
    _store(engine, [s for s in SEEDS if s.early], now)
    flagged = flag_new(engine, flagging, deadlines, now=now - timedelta(days=5))
    _store(engine, [s for s in SEEDS if not s.early], now)
    flagged += flag_new(engine, flagging, deadlines, now=now)
    with session_scope(engine) as session:
        rows = queries.triage_queue(session, statuses=STATUSES, limit=1000)
        total = queries.counts(session).mentions
    by_text = {row.text: row.item_id for row in rows}
    return SeedInfo(
        mentions=total,
        flagged=flagged,
        negative_item_id=by_text[NEGATIVE_TEXT],
        hostile_item_id=by_text[HOSTILE_TEXT],
        item_ids=tuple(row.item_id for row in rows),
    )
