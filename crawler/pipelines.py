"""Item pipelines: normalise text, drop repeats, store batches in the database.

Order (see ``ITEM_PIPELINES`` in ``crawler.settings``): ``NormalisePipeline`` →
``DedupPipeline`` → ``StorePipeline``. Stats: ``repwatch/new``, ``repwatch/updated``,
``repwatch/unchanged`` (also per source: ``repwatch/source/<key>/new`` ...),
``repwatch/dropped_empty``, ``repwatch/dropped_duplicate``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.store_writer import BatchResult, StoreProcess, store_batch
from repwatch.records import MentionRecord
from repwatch.store import open_database, session_scope
from repwatch.store.queries import ensure_source

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy import Engine

    from crawler.context import CrawlContext

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
DEFAULT_FLUSH_SECONDS = 5.0
POLL_SECONDS = 0.5  # how often the store process's finished batches are counted


def normalise_text(value: str | None) -> str | None:
    """NFC, whitespace runs collapsed to one space, trimmed; ``None`` when nothing is left."""
    if value is None:
        return None
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    # split() and join: the same whitespace as \s+, several times faster than re.sub.
    text = " ".join(value.split())
    return text or None


def normalise_record(item: MentionRecord) -> MentionRecord | None:
    """The record with normalised text fields, or ``None`` when its text is empty.

    Idempotent; spiders use it to compare a review with its stored ``content_hash``.
    """
    text = normalise_text(item.text)
    if text is None:
        return None
    title, author = normalise_text(item.title), normalise_text(item.author)
    if (text, title, author) == (item.text, item.title, item.author):
        return item
    return dataclasses.replace(item, text=text, title=title, author=author)


def _context(crawler: Crawler) -> CrawlContext:
    context: CrawlContext = getattr(crawler.spider, "context")  # noqa: B009 - set by the spider
    return context


@dataclass(frozen=True, slots=True)
class MentionBatch:
    """Several mentions as one item (e.g. every review of a page).

    Scrapy spends as much per item as extracting and storing a review costs, so spiders
    that find many mentions per response yield them together. Every pipeline takes a
    ``MentionRecord`` or a ``MentionBatch``.
    """

    records: tuple[MentionRecord, ...]
    normalised: bool = False  # made by normalise_record already: NormalisePipeline skips it


Item = MentionRecord | MentionBatch


def _records(item: Any) -> tuple[MentionRecord, ...]:
    if isinstance(item, MentionRecord):
        return (item,)
    if isinstance(item, MentionBatch):
        return item.records
    raise TypeError(f"expected a MentionRecord or MentionBatch, got {type(item).__name__}")


def _rebuilt(item: Item, kept: list[MentionRecord], why: str) -> Item:
    """The item with only ``kept`` records; ``DropItem`` when none is left."""
    if not kept:
        url = item.url if isinstance(item, MentionRecord) else item.records[0].url
        raise DropItem(f"{url}: {why}", log_level="DEBUG")
    if isinstance(item, MentionRecord):
        return kept[0]
    return item if len(kept) == len(item.records) else MentionBatch(tuple(kept))


class NormalisePipeline:
    """Normalise the text fields of mentions; drop those whose text is empty."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Item:
        records = _records(item)
        if isinstance(item, MentionBatch) and item.normalised:
            return item
        kept = [r for r in map(normalise_record, records) if r is not None]
        if len(kept) < len(records):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("repwatch/dropped_empty", len(records) - len(kept))
        return _rebuilt(item, kept, "review without text")


class DedupPipeline:
    """Drop mentions already seen in this crawl (same source and external id)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Item) -> Item:
        records = _records(item)
        kept = []
        for record in records:
            key = (record.source, record.external_id)
            if key not in self.seen:
                self.seen.add(key)
                kept.append(record)
        if len(kept) < len(records):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("repwatch/dropped_duplicate", len(records) - len(kept))
        return _rebuilt(item, kept, "seen before in this crawl")


class StorePipeline:
    """Write mentions in batches through ``upsert_mentions``, one transaction per batch.

    A batch is written when it holds ``REPWATCH_BATCH_SIZE`` mentions, when
    ``REPWATCH_FLUSH_SECONDS`` passed since the last write, and when the spider closes,
    so a killed crawl loses at most the batches being written and a re-run stores the
    rest. From the second batch on (``REPWATCH_STORE_PROCESS``), batches are written by a
    child process (``crawler.store_writer``) while the crawl goes on; the counts
    (``repwatch/new`` ...) follow as batches are done. ``repwatch/items`` counts the
    mentions handed to the store.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.batch_size = max(1, settings.getint("REPWATCH_BATCH_SIZE", DEFAULT_BATCH_SIZE))
        self.flush_seconds = settings.getfloat("REPWATCH_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS)
        self.use_process = settings.getbool("REPWATCH_STORE_PROCESS", True)
        self.buffer: list[MentionRecord] = []
        self.engine: Engine | None = None
        self.writer: StoreProcess | None = None
        self.flushes = 0
        self.last_flush = self.last_poll = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        context = _context(self.crawler)
        self.engine = open_database(context.config.database_url)
        with session_scope(self.engine) as session:
            for key, source in context.sources:
                brand = source.brand or ""  # feed and social sources belong to no one brand
                ensure_source(session, key=key, kind=source.kind, brand=brand, url=source.base_url)
        self.last_flush = time.monotonic()

    def process_item(self, item: Item) -> Item:
        records = _records(item)
        self.buffer.extend(records)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("repwatch/items", len(records))
        now = time.monotonic()
        if len(self.buffer) >= self.batch_size or now - self.last_flush >= self.flush_seconds:
            self.flush()
        elif self.writer is not None and now - self.last_poll >= POLL_SECONDS:
            self.last_poll = now
            self._count(self.writer.ready())
        return item

    def flush(self, *, closing: bool = False) -> None:
        """Write (or hand over) the buffered mentions and count what is done."""
        batch, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not batch or self.engine is None:
            return
        self.flushes += 1
        if self.writer is None and self.use_process and self.flushes > 1 and not closing:
            self.writer = StoreProcess(_context(self.crawler).config.database_url)
        if self.writer is not None and self.writer.alive:
            self._count(self.writer.submit(batch))
            return
        try:
            with session_scope(self.engine) as session:
                counts = store_batch(session, batch)
        except SQLAlchemyError as exc:
            self._count([BatchResult(len(batch), {}, str(exc))])
        else:
            self._count([BatchResult(len(batch), counts)])

    def _count(self, results: Iterable[BatchResult]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        for result in results:
            if result.error is not None:
                # Keep crawling: the next batch may succeed (e.g. a lock timed out), and a
                # re-run stores what was lost here.
                stats.inc_value("repwatch/errors")
                log.error(
                    "could not store %d mentions (re-run the crawl to store them): %s",
                    result.size,
                    result.error,
                )
                continue
            for key, counts in result.counts.items():
                for name in ("new", "updated", "unchanged"):
                    value = getattr(counts, name)
                    stats.inc_value(f"repwatch/{name}", value)
                    stats.inc_value(f"repwatch/source/{key}/{name}", value)
            stats.inc_value("repwatch/stored", result.size)

    def close_spider(self) -> None:
        try:
            self.flush(closing=True)
            if self.writer is not None:
                self._count(self.writer.close())
        finally:
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None
