"""``SitemapReviewSpider``: review pages found through a site's sitemaps (kind "sitemap").

The source's ``url`` is a sitemap (XML, gzipped XML or a plain-text list of URLs), a
sitemap index, or a ``robots.txt`` whose ``Sitemap:`` lines name them. Scrapy's own
sitemap parser reads them (``lxml`` without entity expansion; gzip bounded by
``DOWNLOAD_MAXSIZE``). Pages whose URL matches ``url_pattern`` (a regular expression,
searched) are read with the same extractor as kind "reviews", newest ``<lastmod>`` first,
up to ``max_pages`` pages per source.

Incremental: a page whose ``<lastmod>`` is older than the start of the source's newest
clean run was read then, and is skipped. Pages without ``<lastmod>`` are always read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import LxmlError
from scrapy import Request
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler import reporting
from crawler.fields import parse_published
from crawler.pipelines import MentionBatch
from crawler.spiders.base import ReviewPageSpider

log = logging.getLogger(__name__)

MAX_SITEMAPS = 200  # sitemap documents read per source (an index may list thousands)
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapReviewSpider(ReviewPageSpider):
    """Read the sitemaps of ``kind = "sitemap"`` sources and the review pages they list.

    Stats besides the base class's: ``repwatch/source/<key>/sitemaps``,
    ``repwatch/source/<key>/skipped_unmodified``.
    """

    name = "sitemap_reviews"

    async def start(self) -> AsyncIterator[Request]:
        for key, source in self.context.sources:
            since = self.context.history_of(key).last_clean_started_at
            log.info(
                "crawling source %s (%s) from %s%s",
                key,
                source.brand,
                source.base_url,
                f" (pages modified since {since:%Y-%m-%d %H:%M} UTC)" if since else "",
            )
            if urlsplit(source.base_url).path.endswith("/robots.txt"):
                meta = {"dont_obey_robotstxt": True}
                yield self.page_request(source.base_url, key, "parse_robots", meta=meta)
            elif (request := self._sitemap_request(source.base_url, key)) is not None:
                yield request

    def _sitemap_request(self, url: str, key: str) -> Request | None:
        counts: dict[str, int] = self.state.setdefault("sitemaps", {})
        if counts.get(key, 0) >= MAX_SITEMAPS:
            log.warning("source %s: more than %d sitemaps; %s not read", key, MAX_SITEMAPS, url)
            return None
        counts[key] = counts.get(key, 0) + 1
        self._inc(f"repwatch/source/{key}/sitemaps")
        return self.page_request(url, key, "parse_sitemap")

    def parse_robots(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        key: str = kwargs["source_key"]
        reporting.page_fetched(self.crawler, key)
        urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        if not urls:
            reporting.page_error(
                self.crawler, key, response.url, "sitemap", "robots.txt names no Sitemap: URLs"
            )
        for url in urls:
            request = self._sitemap_request(url, key)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        key: str = kwargs["source_key"]
        reporting.page_fetched(self.crawler, key)
        try:
            entries, kind = self._entries(response)
        except SitemapUnreadable as exc:
            reporting.page_error(self.crawler, key, response.url, exc.kind, str(exc))
            return
        if kind == "sitemapindex":
            for entry in entries:
                request = self._sitemap_request(entry[0], key)
                if request is not None:
                    yield request
            return
        yield from self._page_requests(key, entries)

    def _entries(self, response: Response) -> tuple[list[tuple[str, datetime | None]], str]:
        """The (URL, lastmod) entries of a sitemap and its type: "urlset" or "sitemapindex"."""
        body = response.body
        if body.startswith(_GZIP_MAGIC):
            try:
                body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except _DecompressionMaxSizeExceeded as exc:
                raise SitemapUnreadable("too-large", f"gzipped sitemap: {exc}") from exc
            except (OSError, EOFError) as exc:
                raise SitemapUnreadable("sitemap", f"broken gzip data: {exc}") from exc
        start = body.lstrip()[:1]
        if start != b"<":
            lines = body.decode("utf-8", "replace").split()
            urls = [line for line in lines if urlsplit(line).scheme in ("http", "https")]
            if not urls:
                raise SitemapUnreadable("sitemap", "neither an XML sitemap nor a list of URLs")
            return [(url, None) for url in urls], "urlset"
        try:
            sitemap = Sitemap(body)
            kind = sitemap.type
            entries = [
                (urljoin(response.url, entry["loc"]), parse_published(entry.get("lastmod")))
                for entry in sitemap
                if entry.get("loc")
            ]
        except (LxmlError, StopIteration, ValueError) as exc:
            raise SitemapUnreadable("sitemap", f"unreadable sitemap XML: {exc}") from exc
        if kind not in ("urlset", "sitemapindex"):
            raise SitemapUnreadable("sitemap", f"not a sitemap: the root element is <{kind}>")
        return entries, kind

    def _page_requests(
        self, key: str, entries: list[tuple[str, datetime | None]]
    ) -> Iterator[Request]:
        source = self.sources[key]
        pattern = re.compile(source.url_pattern) if source.url_pattern else None
        since = self.context.history_of(key).last_clean_started_at
        scheduled: dict[str, int] = self.state.setdefault("pages", {})
        # Newest first, so max_pages keeps the pages most likely to hold new reviews.
        entries = sorted(entries, key=lambda e: (e[1] is not None, e[1] or 0), reverse=True)
        skipped = 0
        for url, lastmod in entries:
            if pattern is not None and not pattern.search(url):
                continue
            if since is not None and lastmod is not None and lastmod < since:
                skipped += 1
                continue
            if scheduled.get(key, 0) >= source.max_pages:
                log.info("source %s: stopped after max_pages=%d pages", key, source.max_pages)
                break
            scheduled[key] = scheduled.get(key, 0) + 1
            yield self.page_request(url, key, "parse_page")
        if skipped:
            self._inc(f"repwatch/source/{key}/skipped_unmodified", skipped)
            log.info("source %s: %d pages not modified since the last clean run", key, skipped)

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionBatch]:
        _, records = self.read_reviews(response, kwargs["source_key"])
        if records:
            yield MentionBatch(tuple(records), normalised=True)


class SitemapUnreadable(Exception):
    """A sitemap that could not be read; ``kind`` is the page error kind to record."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
