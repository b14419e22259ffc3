"""Seed a database with mentions, analyses and triage items, through the real store API.

Used by the dashboard tests (AppTest and the browser) to have a queue worth looking at:
two brands, overdue and fresh items, a known negative review and a hostile one; topics
on the analyses (this month and six weeks ago), an author with two reviews, a
near-duplicate of the known negative review, and crawl runs with errors (written as
ORM rows: the crawler will write them in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from repwatch.config import Deadlines, Flagging
from repwatch.config_template import SourceEntry
from repwatch.records import STATUSES, Analysis, MentionRecord
from repwatch.store import queries, session_scope
from repwatch.store.schema import (
    AnalysisRow,
    CrawlErrorRow,
    CrawlRunRow,
    MentionRow,
    SourceRow,
    utcnow,
)
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


def source_entries() -> tuple[SourceEntry, ...]:
    """The seeded sources as ``repwatch.toml`` entries (for ``write_config``)."""
    return tuple(SourceEntry(key, brand, url) for key, (brand, url) in SOURCES.items())


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
    same_author_mention_id: int  # another review by the author of NEGATIVE_TEXT
    duplicate_mention_id: int  # a near-copy of NEGATIVE_TEXT


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
    extra = _store_extras(engine, now)
    return SeedInfo(
        mentions=total + len(extra),
        flagged=flagged,
        negative_item_id=by_text[NEGATIVE_TEXT],
        hostile_item_id=by_text[HOSTILE_TEXT],
        item_ids=tuple(row.item_id for row in rows),
        same_author_mention_id=extra["k7"],
        duplicate_mention_id=extra["k8"],
    )


DUPLICATE_TEXT = "The courier threw my parcel over the fence, and support hung up on me!"
HOSTILE_CRAWL_REASON = "<img src=x onerror=alert(1)> [x](javascript:alert(1))"
_NEG, _NEU, _POS = "negative", "neutral", "positive"
# Topics of the newest analysis, by external id: {topic: polarity}.
TOPICS: dict[str, dict[str, str]] = {
    "k1": {"delivery": _NEG, "customer_service": _NEG},
    "k2": {"customer_service": _NEG},
    "k3": {"product_quality": _POS, "delivery": _POS},
    "k4": {"refunds": _NEG},
    "k6": {"delivery": _NEG, "packaging": _NEG},
    "k7": {"product_quality": _POS},
    "k8": {"delivery": _NEG},
    "n1": {"order_tracking": _NEG, "customer_service": _NEG},
    "n2": {"delivery": _POS},
    "n3": {"website": _NEG},
    "n4": {"price": _NEU, "customer_service": _NEG},
    **{f"h{n}": {"order_tracking": _POS} for n in range(1, 5)},
    "h5": {"order_tracking": _NEG},
}
# (external id, source, author, text, rating, negative probability, age in days)
EXTRAS = (
    (
        "k7",
        "kestrel-shop",
        "author-k1",
        "Bought a toaster last year, still works well.",
        1.0,
        0.05,
        20.0,
    ),
    ("k8", "kestrel-shop", "copycat", DUPLICATE_TEXT, 0.0, 0.95, 2.0),
    *(
        (
            f"h{n}",
            "nimbus-reviews",
            f"tracker-{n}",
            f"Tracking updates were spot on, order {n}.",
            1.0,
            0.05,
            42.0 + n,
        )
        for n in range(1, 5)
    ),
    ("h5", "nimbus-reviews", "tracker-5", "Tracking page froze once.", 0.5, 0.55, 47.0),
)


def _store_extras(engine: Engine, now: datetime) -> dict[str, int]:
    """Unflagged mentions for the item and topic pages, topics, crawl runs; their ids."""
    records = [
        MentionRecord(
            source=source,
            brand=SOURCES[source][0],
            url=f"{SOURCES[source][1]}/{ext}",
            external_id=ext,
            text=text,
            title=None,
            author=author,
            rating=rating,
            language="en",
            published_at=now - timedelta(days=age),
        )
        for ext, source, author, text, rating, _neg, age in EXTRAS
    ]
    negative = {ext: neg for ext, *_, neg, _age in EXTRAS}
    with session_scope(engine) as session:
        queries.upsert_mentions(session, records)
        ids = {ext: i for ext, i in session.execute(select(MentionRow.external_id, MentionRow.id))}
        pending = queries.unscored_mentions(session, MODEL_NAME, MODEL_REVISION, limit=1000)
        by_id = {v: k for k, v in ids.items()}
        queries.save_analyses(session, [_analysis(m.id, negative[by_id[m.id]]) for m in pending])
        for ext, topics in TOPICS.items():
            value = {t: {"score": 0.9, "polarity": p} for t, p in topics.items()}
            session.execute(
                update(AnalysisRow).where(AnalysisRow.mention_id == ids[ext]).values(topics=value)
            )
        seed_crawl_runs(session, now)
    return {ext: ids[ext] for ext, *_ in EXTRAS}


def seed_crawl_runs(session: Session, now: datetime) -> None:
    """Three runs per seeded source: kestrel-shop's last had errors, nimbus-reviews' failed."""
    sources = {k: i for k, i in session.execute(select(SourceRow.key, SourceRow.id))}
    for key, last_status, last_errors in (
        ("kestrel-shop", "finished", 2),
        ("nimbus-reviews", "failed", 1),
    ):
        for hours_ago in (26, 14, 2):
            last = hours_ago == 2
            errors = last_errors if last else 0
            started = now - timedelta(hours=hours_ago)
            run = CrawlRunRow(
                source_id=sources[key],
                started_at=started,
                finished_at=started + timedelta(minutes=4),
                status=last_status if last else "finished",
                pages=3,
                items_new=2 if last else 5,
                items_updated=1,
                items_unchanged=20,
                errors=errors,
                errors_by_kind={"http": errors} if errors else {},
            )
            session.add(run)
            session.flush()
            for n in range(errors):
                reason = HOSTILE_CRAWL_REASON if n == 0 else "HTTP 503 after 3 retries"
                session.add(
                    CrawlErrorRow(
                        run_id=run.id,
                        url=f"{SOURCES[key][1]}?page={n + 4}",
                        kind="http",
                        reason=reason,
                        at=started,
                    )
                )
