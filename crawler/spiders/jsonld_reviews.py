"""``JsonLdReviewSpider``: reviews from pages carrying schema.org JSON-LD.

One spider crawls every configured ``kind = "reviews"`` source: it fetches the source's
URL, yields a ``MentionRecord`` per review on the page and follows ``rel="next"`` on the
same host, up to the source's ``max_pages``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self
from urllib.parse import urldefrag, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.context import CrawlContext, context_from_settings
from crawler.extract import PageExtract, extract_page, has_jsonld, next_page_url
from crawler.netguard import PrivateAddressBlocked
from repwatch.records import MentionRecord

log = logging.getLogger(__name__)

SOURCE_META = "repwatch_source"


class JsonLdReviewSpider(Spider):
    """Crawl review pages of the configured sources and yield their reviews.

    Stats: ``repwatch/pages`` (pages parsed), ``repwatch/reviews_seen``,
    ``repwatch/jsonld_broken`` (unreadable blocks), ``repwatch/errors``,
    ``repwatch/robots_forbidden``.
    """

    name = "jsonld_reviews"

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sources = dict(context.sources)
        self.allowed_private_hosts = context.allowed_private_hosts
        # Pages requested per source: a "next" link back to an earlier page ends the chain.
        # Tracked here rather than by Scrapy's duplicate filter so two sources may share
        # pages and the start URL is never filtered.
        self.visited: dict[str, set[str]] = {key: set() for key, _ in context.sources}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Build the spider; from the Scrapy CLI the config comes from ``REPWATCH_CONFIG``."""
        if "context" not in kwargs:
            keys = kwargs.pop("sources", None)
            kwargs["context"] = context_from_settings(
                crawler.settings.get("REPWATCH_CONFIG"), keys.split(",") if keys else None
            )
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, cls)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for key, source in self.context.sources:
            log.info("crawling source %s (%s) from %s", key, source.brand, source.base_url)
            yield self._request(source.base_url, key, 1)

    def _request(self, url: str, key: str, page: int) -> Request:
        self.visited[key].add(urldefrag(url).url)
        return Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            cb_kwargs={"source_key": key, "page": page},
            meta={SOURCE_META: key},
            dont_filter=True,
        )

    def _inc(self, stat: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(stat, count)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        key: str = kwargs["source_key"]
        page: int = kwargs["page"]
        source = self.sources[key]
        self._inc("repwatch/pages")
        if not isinstance(response, TextResponse):
            log.warning("%s: not a text page (%s), skipped", response.url, type(response).__name__)
            return
        extract = PageExtract()
        if has_jsonld(response.body):
            extract = extract_page(response.selector, response.url)
        for problem in extract.problems:
            log.warning("%s: %s; skipped that block", response.url, problem)
        self._inc("repwatch/jsonld_broken", len(extract.problems))
        self._inc("repwatch/errors", len(extract.problems))
        self._inc("repwatch/reviews_seen", len(extract.reviews) + extract.skipped_empty)
        self._inc("repwatch/reviews_empty", extract.skipped_empty)
        if not extract.reviews and not extract.problems:
            log.info("%s: no schema.org reviews in JSON-LD on this page", response.url)
        for review in extract.reviews:
            yield MentionRecord(
                source=key,
                brand=source.brand or "",  # the config requires a brand for reviews
                url=review.url,
                external_id=review.external_id,
                text=review.text,
                title=review.title,
                author=review.author,
                rating=review.rating,
                language=review.language,
                published_at=review.published_at,
            )
        following = next_page_url(response)
        if following is None:
            return
        if urldefrag(following).url in self.visited[key]:
            log.debug("%s: next page %s was crawled already", response.url, following)
        elif page >= source.max_pages:
            log.info("source %s: stopped after max_pages=%d pages", key, source.max_pages)
        elif urlsplit(following).hostname != urlsplit(response.url).hostname:
            log.warning(
                "%s: next page %s is on another host; not followed", response.url, following
            )
        else:
            yield self._request(following, key, page + 1)

    def on_error(self, failure: Failure) -> None:
        """Log a failed request so the user can act on it; robots.txt refusals are no error."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        exc = failure.value
        if isinstance(exc, PrivateAddressBlocked):
            log.error("%s", exc)
        elif isinstance(exc, IgnoreRequest):
            self._inc("repwatch/robots_forbidden")
            log.warning(
                "%s: not fetched (%s); robots.txt of the site forbids it, or it was filtered. "
                "Set obey_robots_txt = false in [crawl] only if the site allows you to.",
                url,
                exc,
            )
            return
        elif isinstance(exc, HttpError):
            log.error("%s: HTTP %d; check the source URL", url, exc.response.status)
        else:
            log.error(
                "%s: not fetched (%s); check the source URL and that the site is up", url, exc
            )
        self._inc("repwatch/errors")
