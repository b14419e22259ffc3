"""Item pipelines: normalise text, drop repeats, store batches in the database.

Order (see ``ITEM_PIPELINES`` in ``crawler.settings``): ``NormalisePipeline`` →
``DedupPipeline`` → ``StorePipeline``. Stats: ``repwatch/new``, ``repwatch/updated``,
``repwatch/unchanged``, ``repwatch/dropped_empty``, ``repwatch/dropped_duplicate``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import unicodedata
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from repwatch.records import MentionRecord
from repwatch.store import open_database, session_scope
from repwatch.store.queries import ensure_source, upsert_mentions

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy import Engine

    from crawler.context import CrawlContext

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
DEFAULT_FLUSH_SECONDS = 5.0
_WHITESPACE = re.compile(r"\s+")


def normalise_text(value: str | None) -> str | None:
    """NFC, whitespace runs collapsed to one space, trimmed; ``None`` when nothing is left."""
    if value is None:
        return None
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    return text or None


def _context(crawler: Crawler) -> CrawlContext:
    context: CrawlContext = getattr(crawler.spider, "context")  # noqa: B009 - set by the spider
    return context


class NormalisePipeline:
    """Normalise the text fields of a ``MentionRecord``; drop it when its text is empty."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> MentionRecord:
        if not isinstance(item, MentionRecord):
            raise TypeError(f"expected a MentionRecord, got {type(item).__name__}")
        text = normalise_text(item.text)
        if text is None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("repwatch/dropped_empty")
            raise DropItem(f"{item.url}: review without text", log_level="DEBUG")
        return dataclasses.replace(
            item,
            text=text,
            title=normalise_text(item.title),
            author=normalise_text(item.author),
        )


class DedupPipeline:
    """Drop a mention already seen in this crawl (same source and external id)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: MentionRecord) -> MentionRecord:
        key = (item.source, item.external_id)
        if key in self.seen:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("repwatch/dropped_duplicate")
            raise DropItem(f"{item.url}: seen before in this crawl", log_level="DEBUG")
        self.seen.add(key)
        return item


class StorePipeline:
    """Write mentions in batches through ``upsert_mentions``, one transaction per batch.

    A batch is written when it holds ``REPWATCH_BATCH_SIZE`` mentions, when
    ``REPWATCH_FLUSH_SECONDS`` passed since the last write, and when the spider closes,
    so a killed crawl loses at most one batch and a re-run stores the rest. Writes are
    synchronous: a batch takes milliseconds, far less than the download delay.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.batch_size = max(1, settings.getint("REPWATCH_BATCH_SIZE", DEFAULT_BATCH_SIZE))
        self.flush_seconds = settings.getfloat("REPWATCH_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS)
        self.buffer: list[MentionRecord] = []
        self.engine: Engine | None = None
        self.last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        context = _context(self.crawler)
        self.engine = open_database(context.config.database_url)
        with session_scope(self.engine) as session:
            for key, source in context.sources:
                brand = source.brand or ""  # the config requires a brand for these kinds
                ensure_source(session, key=key, kind=source.kind, brand=brand, url=source.base_url)
        self.last_flush = time.monotonic()

    def process_item(self, item: MentionRecord) -> MentionRecord:
        self.buffer.append(item)
        due = time.monotonic() - self.last_flush >= self.flush_seconds
        if len(self.buffer) >= self.batch_size or due:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered mentions and count them in the crawl stats."""
        batch, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not batch or self.engine is None:
            return
        stats = self.crawler.stats
        assert stats is not None
        try:
            with session_scope(self.engine) as session:
                result = upsert_mentions(session, batch)
        except SQLAlchemyError as exc:
            # Keep crawling: the next batch may succeed (e.g. a lock timed out), and a
            # re-run stores what was lost here.
            stats.inc_value("repwatch/errors")
            log.error(
                "could not store %d mentions (re-run the crawl to store them): %s", len(batch), exc
            )
            return
        stats.inc_value("repwatch/new", result.new)
        stats.inc_value("repwatch/updated", result.updated)
        stats.inc_value("repwatch/unchanged", result.unchanged)
        stats.inc_value("repwatch/stored", len(batch))
        log.debug("stored %d mentions: %s", len(batch), result)

    def close_spider(self) -> None:
        try:
            self.flush()
        finally:
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None
