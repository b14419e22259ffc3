"""``JsonLdReviewSpider``: reviews from pages carrying schema.org markup (kind "reviews").

One spider crawls every configured ``kind = "reviews"`` source: it fetches the source's
URL, yields the reviews of each page (JSON-LD, microdata or RDFa) as one ``MentionBatch`` and
paginates on the same host, up to the source's ``max_pages``:

- by ``rel="next"`` when the page has such a link;
- else, with ``page_param`` set, by ``?<page_param>=N+1`` while pages bring reviews not
  seen earlier in this crawl.

Incremental: when the source's previous run was clean, pagination stops after
``incremental_depth`` pages in a row whose reviews were all stored, unchanged, before
this crawl; the first run (or one after a failed or killed run) crawls up to
``max_pages``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request
from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from crawler.middlewares import SOURCE_META
from crawler.pipelines import MentionBatch
from crawler.spiders.base import ReviewPageSpider
from repwatch.config import Source

__all__ = ["SOURCE_META", "JsonLdReviewSpider"]  # SOURCE_META: the request.meta key of a source

log = logging.getLogger(__name__)


class JsonLdReviewSpider(ReviewPageSpider):
    """Crawl review pages of the configured sources and yield their reviews.

    Stats besides the base class's: ``repwatch/source/<key>/incremental_stop``.
    """

    name = "jsonld_reviews"

    async def start(self) -> AsyncIterator[Request]:
        for key, source in self.context.sources:
            incremental = self.context.history_of(key).previous_clean
            log.info(
                "crawling source %s (%s) from %s%s",
                key,
                source.brand,
                source.base_url,
                " (incremental)" if incremental else f" (up to {source.max_pages} pages)",
            )
            yield self.page_request(
                source.base_url, key, "parse", page=1, streak=0, incremental=incremental
            )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionBatch | Request]:
        key: str = kwargs["source_key"]
        page: int = kwargs["page"]
        streak: int = kwargs.get("streak", 0)
        incremental: bool = kwargs.get("incremental", False)
        source = self.sources[key]
        read, records = self.read_reviews(response, key)
        if records:
            yield MentionBatch(tuple(records), normalised=True)
        seen: set[str] = self.state.setdefault("seen", {}).setdefault(key, set())
        fresh = sum(1 for r in records if r.external_id not in seen)
        seen.update(r.external_id for r in records)
        if incremental and records:
            streak = streak + 1 if self.all_stored(key, records) else 0
        following = read.links.next
        if following is None and source.page_param and fresh:
            following = _next_by_param(response.url, source.page_param)
        if following is None:
            return
        if page >= source.max_pages:
            log.info("source %s: stopped after max_pages=%d pages", key, source.max_pages)
        elif incremental and streak >= source.incremental_depth:
            self._inc(f"repwatch/source/{key}/incremental_stop")
            log.info(
                "source %s: stopped at page %d; the last %d page(s) held only reviews "
                "stored before (incremental_depth=%d)",
                key,
                page,
                streak,
                source.incremental_depth,
            )
        elif not _same_site(following, response.url, source):
            log.warning(
                "%s: next page %s is on another host; not followed", response.url, following
            )
        else:
            yield self.page_request(
                following, key, "parse", page=page + 1, streak=streak, incremental=incremental
            )


def _next_by_param(url: str, param: str) -> str | None:
    """``url`` with ``param`` one higher (2 when it is missing); ``None`` if not a number."""
    value = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(param)
    if value is None:
        return add_or_replace_parameter(url, param, "2")
    if not value.strip().isdigit():
        return None
    return add_or_replace_parameter(url, param, str(int(value) + 1))


def _same_site(url: str, page_url: str, source: Source) -> bool:
    host = urlsplit(url).hostname
    return host in (urlsplit(page_url).hostname, urlsplit(source.base_url).hostname)
