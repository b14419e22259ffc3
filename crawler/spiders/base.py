"""``ReviewPageSpider``: what the spiders of review pages share.

Both ``JsonLdReviewSpider`` (kind "reviews") and ``SitemapReviewSpider`` (kind "sitemap")
fetch pages of configured sources, read their reviews with ``crawler.pages.read_page``,
report pages and errors through ``crawler.reporting`` and yield a ``MentionBatch`` per page.
Requests are plain data (callbacks are spider methods, ``cb_kwargs`` hold only strings,
numbers and booleans) so Scrapy can keep them on disk in JOBDIR.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from scrapy import Request
from scrapy.http import Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler import reporting
from crawler.context import ContextSpider, CrawlContext
from crawler.middlewares import SOURCE_META
from crawler.pages import PageRead, read_page
from repwatch.records import MentionRecord
from repwatch.store import session_scope
from repwatch.store.crawl_runs import known_external_ids
from repwatch.store.db import create_db_engine

log = logging.getLogger(__name__)


class ReviewPageSpider(ContextSpider):
    """Base class: a crawl context, page reading, error reporting, incremental checks.

    Stats: ``repwatch/pages``, ``repwatch/reviews_seen``, ``repwatch/reviews_empty``,
    ``repwatch/errors`` and per source ``repwatch/source/<key>/...``.
    """

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.sources = dict(context.sources)
        # Replaced by Scrapy's SpiderState extension with the state saved in JOBDIR.
        self.state: dict[str, Any] = {}
        self._engine: Engine | None = None

    def page_request(
        self,
        url: str,
        key: str,
        callback: str,
        *,
        meta: dict[str, Any] | None = None,
        **cb_kwargs: Any,
    ) -> Request:
        """A request for a page of source ``key``, answered by the method ``callback``."""
        return Request(
            url,
            callback=getattr(self, callback),
            errback=self.on_error,
            cb_kwargs={"source_key": key, **cb_kwargs},
            meta={SOURCE_META: key, **(meta or {})},
        )

    def _inc(self, stat: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(stat, count)

    def read_reviews(self, response: Response, key: str) -> tuple[PageRead, list[MentionRecord]]:
        """Count the page, read it, report what was wrong, and build its records."""
        reporting.page_fetched(self.crawler, key)
        read = read_page(response)
        for problem in read.all_problems:
            reporting.page_error(self.crawler, key, response.url, problem.kind, problem.reason)
        extract = read.extract
        self._inc("repwatch/reviews_seen", len(extract.reviews) + extract.skipped_empty)
        self._inc("repwatch/reviews_empty", extract.skipped_empty)
        if not extract.reviews and not read.all_problems:
            log.info("%s: no schema.org reviews on this page", response.url)
        brand = self.sources[key].brand or ""  # the config requires a brand for these kinds
        # Extraction returns normalised text (crawler.fields.clean_text), so these records
        # are what NormalisePipeline would make of them; batches say so and skip it.
        records = [
            MentionRecord(
                source=key,
                brand=brand,
                url=review.url,
                external_id=review.external_id,
                text=review.text,
                title=review.title,
                author=review.author,
                rating=review.rating,
                language=review.language,
                published_at=review.published_at,
            )
            for review in extract.reviews
        ]
        return read, records

    def all_stored(self, key: str, records: Sequence[MentionRecord]) -> bool:
        """Whether every record was stored, with this content, before this crawl started.

        ``False`` for an empty page and when the database cannot be read (crawl on).
        """
        if not records:
            return False
        try:
            if self._engine is None:
                self._engine = create_db_engine(self.context.config.database_url)
            with session_scope(self._engine) as session:
                stored = known_external_ids(
                    session, key, [r.external_id for r in records], before=self.context.started_at
                )
        except SQLAlchemyError as exc:
            log.warning("source %s: cannot check stored reviews (%s); crawling on", key, exc)
            return False
        return all(stored.get(r.external_id) == r.content_hash for r in records)

    def on_error(self, failure: Failure) -> None:
        """Record a failed request as a page error of its source (robots.txt refusals aside)."""
        request = getattr(failure, "request", None)
        key = request.meta.get(SOURCE_META, "?") if request is not None else "?"
        reporting.request_failed(self.crawler, key, failure)

    def closed(self, reason: str) -> None:
        """Release the database connection of the incremental checks."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
