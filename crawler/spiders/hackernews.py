"""``HackerNewsSpider``: stories and comments naming a brand, through HN's Algolia API.

Per ``kind = "hackernews"`` source (``url`` defaults to https://hn.algolia.com/api/v1),
each of ``queries`` (default: the brands' names and aliases) is searched with
``/search_by_date?tags=(story,comment)``, newest first, 100 hits a page, up to
``max_pages`` pages. Later crawls ask only for hits newer than the newest stored
(``numericFilters=created_at_i>N``). Points and comment counts are kept as metrics;
stored links are the item pages on news.ycombinator.com.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy import Request
from scrapy.http import Response

from crawler.fields import clean_text
from crawler.social import (
    Post,
    SocialSpider,
    count,
    default_queries,
    from_timestamp,
    html_to_text,
    metrics_of,
)
from repwatch.config import Source
from repwatch.records import MentionRecord

log = logging.getLogger(__name__)

ITEM_URL = "https://news.ycombinator.com/item?id="
PAGE_SIZE = 100


def hit_post(hit: Any) -> Post | None:
    """A ``Post`` for one search hit (story or comment), or ``None`` when unusable."""
    if not isinstance(hit, dict):
        return None
    object_id = hit.get("objectID")
    if not isinstance(object_id, str) or not (object_id.isascii() and object_id.isdigit()):
        return None
    tags = hit.get("_tags")
    tags = tags if isinstance(tags, list) else []
    is_comment = "comment" in tags or isinstance(hit.get("comment_text"), str)
    common: dict[str, Any] = {
        "native_id": object_id,
        "url": ITEM_URL + object_id,
        "author": clean_text(hit.get("author")),
        "published_at": from_timestamp(hit.get("created_at_i")),
    }
    if is_comment:
        body = hit.get("comment_text")
        text = html_to_text(body) if isinstance(body, str) else ""
        if not text:
            return None
        title = clean_text(hit.get("story_title"))
        metrics = metrics_of(points=hit.get("points"))
        return Post(text=text, title=title, own_title=False, metrics=metrics, **common)
    title = clean_text(hit.get("title"))
    story = hit.get("story_text")
    body = html_to_text(story) if isinstance(story, str) else ""
    text = "\n\n".join(part for part in (title, body) if part)
    if not text:
        return None
    metrics = metrics_of(points=hit.get("points"), comments=hit.get("num_comments"))
    return Post(text=text, title=title, metrics=metrics, **common)


class HackerNewsSpider(SocialSpider):
    """Hacker News stories and comments found by the Algolia search API."""

    name = "hackernews"
    kind = "hackernews"

    def start_source(self, key: str, source: Source, cursors: dict[str, Any]) -> Iterable[Request]:
        for query in default_queries(self.context, source):
            listing = f"query:{query.casefold()}"
            old = count(cursors.get(listing))
            self.book.begin(key, listing, old)
            yield self._page(key, listing, source.base_url.rstrip("/"), query, 0)

    def _page(self, key: str, listing: str, base: str, query: str, page: int) -> Request:
        params: dict[str, Any] = {
            "query": query,
            "tags": "(story,comment)",
            "hitsPerPage": PAGE_SIZE,
            "page": page,
        }
        old = self.book.old(key, listing)
        if old is not None:
            params["numericFilters"] = f"created_at_i>{int(old)}"
        return self.request(
            f"{base}/search_by_date?{urlencode(params)}",
            source_key=key,
            listing=listing,
            page=page,
            base=base,
            query=query,
        )

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        key: str = kwargs["source_key"]
        listing: str = kwargs["listing"]
        page: int = kwargs["page"]  # Algolia counts pages from 0
        data = self.read_json(response, key, listing)
        if data is None:
            return
        hits = data.get("hits") if isinstance(data, dict) else None
        if not isinstance(hits, list):
            self.fail(key, listing, response.url, "json", "expected a search result with hits")
            return
        old = self.book.old(key, listing)
        for hit in hits:
            when = count(hit.get("created_at_i")) if isinstance(hit, dict) else None
            if when is not None and old is not None and when <= old:
                continue  # the filter was ignored: stored already
            self.book.saw(key, listing, when)
            post = hit_post(hit)
            if post is not None:
                yield from self.mentions(key, post)
        pages = count(data.get("nbPages")) or 0
        source = self.sources[key]
        if not hits or page + 1 >= pages:
            return
        if page + 1 >= source.max_pages:
            if old is not None:
                log.warning(
                    "%s %s: more new hits than max_pages=%d pages hold; older ones are skipped",
                    key,
                    listing,
                    source.max_pages,
                )
            return
        yield self._page(key, listing, kwargs["base"], kwargs["query"], page + 1)
