"""A large, realistic repwatch database for ``bench/dashboard_queries.py``.

Four brands (two of them competitors), eight sources, a year of mentions with
sentiment analyses and topics, about a quarter of them flagged, most flagged items
answered, crawl runs and errors. Rows go in through the database driver in bulk
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) after Alembic created the schema,
so a million mentions take a few minutes at most.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1  # bump when the data changes, so cached files are rebuilt
BRANDS = {"acme": False, "birch": False, "nimbus": True, "zephyr": True}  # key -> competitor
BRAND_WEIGHTS = (40, 15, 30, 15)
KINDS = ("reviews", "sitemap")
TOPICS = (
    "delivery",
    "order_tracking",
    "refunds",
    "customer_service",
    "product_quality",
    "price",
    "website",
    "packaging",
)
LANGUAGES = ("en",) * 12 + ("de",) * 3 + ("fr",) * 2 + ("es",) * 2 + ("nl",)
AGENTS = tuple(f"agent{n}" for n in range(12))
PHRASES = {
    "negative": {
        "delivery": "The delivery was late again and the courier left it in the rain.",
        "order_tracking": "Order tracking showed nothing for a week, no idea where my parcel was.",
        "refunds": "Still waiting for my refund after three weeks of emails.",
        "customer_service": "Support was rude and hung up on me twice.",
        "product_quality": "The kettle broke after two days, cheap plastic.",
        "price": "Far too expensive for what you get.",
        "website": "Checkout kept failing on my phone.",
        "packaging": "The box arrived crushed and the glass was broken.",
    },
    "neutral": {
        "delivery": "Delivery took the usual four days.",
        "order_tracking": "The tracking page updated once a day.",
        "refunds": "The refund process is the standard one.",
        "customer_service": "Support answered my question by email.",
        "product_quality": "The product does what it says.",
        "price": "Prices are similar to other shops.",
        "website": "The website is fine.",
        "packaging": "Normal cardboard packaging.",
    },
    "positive": {
        "delivery": "Super fast delivery, arrived the next morning.",
        "order_tracking": "Tracking was precise down to the hour, loved it.",
        "refunds": "Refund came back within two days, no questions asked.",
        "customer_service": "Friendly staff solved my problem in minutes.",
        "product_quality": "Excellent quality, feels solid and well made.",
        "price": "Great value for money.",
        "website": "Ordering on the website was quick and easy.",
        "packaging": "Beautifully packed, nothing was damaged.",
    },
}
SERIAL_TABLES = (
    "sources",
    "mentions",
    "analyses",
    "triage_items",
    "triage_actions",
    "crawl_runs",
    "crawl_errors",
    "labels",
)
STARS_BY_LABEL = {
    "negative": (1, 1, 1, 2, 2, 3),
    "neutral": (2, 3, 3, 3, 4),
    "positive": (4, 5, 5, 5),
}


@dataclass(frozen=True, slots=True)
class Dataset:
    """Counts of what ``generate`` stored."""

    mentions: int
    triage_items: int
    actions: int
    crawl_runs: int


def _ts(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S.%f}"


class _Writer:
    """Bulk inserts into one backend, with datetimes and JSON in the driver's format."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw: Any = engine.raw_connection()

    def time(self, moment: datetime | None) -> Any:
        if moment is None or self.dialect == "postgresql":
            return moment
        return _ts(moment)

    def json(self, value: Any) -> Any:
        return None if value is None else json.dumps(value)

    def write(self, table: str, names: str, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``rows`` into the ``names`` columns (space-separated) of ``table``."""
        columns = names.split()
        count = 0
        cursor = self.raw.cursor()
        if self.dialect == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            iterator = iter(rows)
            while chunk := list(islice(iterator, 50_000)):
                cursor.executemany(sql, chunk)
                count += len(chunk)
        self.raw.commit()
        log.info("wrote %d rows into %s", count, table)
        return count

    def close(self) -> None:
        if self.dialect == "postgresql":
            cursor = self.raw.cursor()
            for table in SERIAL_TABLES:  # explicit ids: move the sequences past them
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce(max(id), 0) + 1, false) FROM {table}"
                )
            cursor.execute("ANALYZE")
        else:
            self.raw.execute("ANALYZE")
        self.raw.commit()
        self.raw.close()


def _mentions(count: int, now: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    """One mention per id, published in id order over the past year."""
    start = now - timedelta(days=365)
    brands = list(BRANDS)
    for n in range(1, count + 1):
        brand = rng.choices(brands, BRAND_WEIGHTS)[0]
        published = start + timedelta(days=365 * n / count, minutes=rng.uniform(-120, 0))
        month_age = (now - published).days // 30
        label = rng.choices(("negative", "neutral", "positive"), (24, 16, 60))[0]
        topics = rng.sample(TOPICS, rng.choice((0, 1, 1, 2, 2, 3)))
        # Order tracking gets worse in the newest month: the change the Topics page shows.
        if month_age == 0 and "order_tracking" in topics and rng.random() < 0.4:
            label = "negative"
        polarity = {t: label if rng.random() < 0.8 else "neutral" for t in topics}
        sentences = [PHRASES[polarity[t]][t] for t in topics] or [
            rng.choice(list(PHRASES[label].values()))
        ]
        stars = rng.choice(STARS_BY_LABEL[label]) if rng.random() < 0.9 else None
        yield {
            "id": n,
            "brand": brand,
            "source": f"{brand}-{KINDS[n % 2]}",
            "published": published,
            "label": label,
            "polarity": polarity,
            "text": f"{' '.join(sentences)} Order {n} from {brand.title()}.",
            "title": sentences[0][:40],
            "author": f"user{rng.randrange(count // 5 + 1)}",
            "reach": rng.choice((None, None, None, 50, 400, 12_000, 250_000)),
            "rating": None if stars is None else (stars - 1) / 4,
            "language": rng.choice(LANGUAGES),
        }


def generate(engine: Engine, count: int, *, seed: int = 5) -> Dataset:
    """Fill a freshly migrated, empty database with ``count`` mentions and all the rest."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    w = _Writer(engine)
    sources = [(f"{b}-{k}", k, b) for b in BRANDS for k in KINDS]
    source_ids = {key: i for i, (key, _, _) in enumerate(sources, start=1)}
    w.write(
        "sources",
        "id key kind brand url created_at state",
        (
            (i, key, "reviews", brand, f"https://{brand}.example/{kind}", w.time(now), "{}")
            for key, i, brand, kind in ((s[0], source_ids[s[0]], s[2], s[1]) for s in sources)
        ),
    )
    mentions = list(_mentions(count, now, rng))
    w.write(
        "mentions",
        "id source_id brand url external_id author author_reach "
        "title text rating language published_at fetched_at updated_at content_hash",
        (
            (
                m["id"],
                source_ids[m["source"]],
                m["brand"],
                f"https://{m['brand']}.example/r/{m['id']}",
                str(m["id"]),
                m["author"],
                m["reach"],
                m["title"],
                m["text"],
                m["rating"],
                m["language"],
                w.time(m["published"]),
                w.time(m["published"] + timedelta(hours=1)),
                w.time(m["published"] + timedelta(hours=1)),
                hashlib.sha256(str(m["id"]).encode()).hexdigest(),
            )
            for m in mentions
        ),
    )
    w.write(
        "analyses",
        "id mention_id model_name model_revision label "
        "score confidence probabilities topics created_at",
        (_analysis(m, w, rng) for m in mentions),
    )
    items, actions = _triage(w, mentions, now, rng)
    runs = _crawl_runs(w, list(source_ids.values()), now, rng)
    _labels(w, count, now, rng)
    w.close()
    return Dataset(count, items, actions, runs)


def _analysis(m: dict[str, Any], w: _Writer, rng: random.Random) -> tuple[Any, ...]:
    top = rng.uniform(0.55, 0.99)
    rest = 1 - top
    others = [k for k in ("negative", "neutral", "positive") if k != m["label"]]
    probs = {
        m["label"]: round(top, 4),
        others[0]: round(rest * 0.6, 4),
        others[1]: round(rest * 0.4, 4),
    }
    score = round(probs["positive"] - probs["negative"], 4)
    topics = {
        t: {"score": round(rng.uniform(0.5, 0.99), 3), "polarity": p}
        for t, p in m["polarity"].items()
    }
    return (
        m["id"],
        m["id"],
        "bench-model",
        "1",
        m["label"],
        score,
        probs[m["label"]],
        w.json(probs),
        w.json(topics),
        w.time(m["published"] + timedelta(hours=2)),
    )


def _triage(
    w: _Writer, mentions: list[dict[str, Any]], now: datetime, rng: random.Random
) -> tuple[int, int]:
    """Flag negative and low-rated mentions; old items are mostly answered by now."""
    items: list[tuple[Any, ...]] = []
    actions: list[tuple[Any, ...]] = []
    for m in mentions:
        low = m["rating"] is not None and m["rating"] <= 0.25
        if m["label"] != "negative" and not low:
            continue
        item_id = len(items) + 1
        flagged = m["published"] + timedelta(hours=3)
        priority = round(rng.uniform(10, 100), 1)
        hours = 4 if priority >= 75 else 24 if priority >= 50 else 72
        age_days = (now - flagged).days
        open_chance = 0.9 if age_days < 3 else 0.03
        status, assignee, responded = "new", None, None
        if rng.random() < open_chance:
            if rng.random() < 0.3:
                status, assignee = "assigned", rng.choice(AGENTS)
        elif rng.random() < 0.75:
            status, assignee = "responded", rng.choice(AGENTS)
            responded = flagged + timedelta(hours=rng.uniform(0.5, 60))
        else:
            status = "dismissed"
        escalated = rng.random() < 0.02
        items.append(
            (
                item_id,
                m["id"],
                status,
                assignee,
                priority,
                w.time(flagged + timedelta(hours=hours)),
                "model: negative",
                w.time(flagged),
                escalated,
                w.time(responded),
                2 if status != "new" else 1,
            )
        )
        actions.append((item_id, "flagged", "repwatch", w.time(flagged), None, "new", None))
        if status != "new":
            actor = assignee or rng.choice(AGENTS)
            at = responded or flagged + timedelta(hours=1)
            detail = "Replied publicly" if status == "responded" else None
            actions.append((item_id, status, actor, w.time(at), "new", status, detail))
    w.write(
        "triage_items",
        "id mention_id status assignee priority "
        "deadline_at reason flagged_at escalated responded_at version",
        items,
    )
    w.write(
        "triage_actions",
        "item_id action actor at from_status to_status detail",
        actions,
    )
    return len(items), len(actions)


def _crawl_runs(w: _Writer, source_ids: list[int], now: datetime, rng: random.Random) -> int:
    """Four runs a day per source for a year; one in twenty has errors."""
    runs: list[tuple[Any, ...]] = []
    errors: list[tuple[Any, ...]] = []
    run_id = 0
    for source_id in source_ids:
        for k in range(365 * 4):
            run_id += 1
            started = now - timedelta(hours=6 * k + rng.uniform(0, 1))
            n_errors = rng.choice((1, 2, 3)) if rng.random() < 0.05 else 0
            status = "failed" if n_errors == 3 else "finished"
            by_kind = {"http": n_errors} if n_errors else {}
            runs.append(
                (
                    run_id,
                    source_id,
                    w.time(started),
                    w.time(started + timedelta(minutes=3)),
                    status,
                    rng.randrange(1, 30),
                    rng.randrange(0, 40),
                    rng.randrange(0, 5),
                    rng.randrange(0, 400),
                    n_errors,
                    w.json(by_kind),
                )
            )
            errors.extend(
                (
                    run_id,
                    f"https://x.example/page/{run_id}/{e}",
                    "http",
                    "HTTP 503 after 3 retries",
                    w.time(started + timedelta(minutes=1)),
                )
                for e in range(n_errors)
            )
    w.write(
        "crawl_runs",
        "id source_id started_at finished_at status "
        "pages items_new items_updated items_unchanged errors errors_by_kind",
        runs,
    )
    w.write("crawl_errors", "run_id url kind reason at", errors)
    return len(runs)


def _labels(w: _Writer, count: int, now: datetime, rng: random.Random) -> None:
    rows = [
        (
            i,
            "sentiment",
            rng.choice(("negative", "neutral", "positive")),
            None,
            rng.choice(AGENTS),
            w.time(now),
        )
        for i in rng.sample(range(1, count + 1), min(count, 2000))
    ]
    w.write("labels", "mention_id kind value polarity actor at", rows)
