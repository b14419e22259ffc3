"""``RedditSpider``: brand mentions on Reddit through its public JSON listings.

Per ``kind = "reddit"`` source (``url`` defaults to https://www.reddit.com):

- each of ``subreddits``: new posts (``/r/<sub>/new.json``) and new comments
  (``/r/<sub>/comments.json``);
- each of ``queries`` (default: the brands' names and aliases): ``/search.json?sort=new``.

Listings are read newest first, 100 at a time, following ``after`` up to ``max_pages``,
and stop at the first page reaching the newest ``created_utc`` a previous crawl stored.
Score and comment counts are kept as metrics; Reddit does not tell an author's reach.
Stored links point at www.reddit.com whatever host served the listing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urljoin

from scrapy import Request
from scrapy.http import Response

from crawler.fields import clean_text
from crawler.social import (
    Post,
    SocialSpider,
    default_queries,
    from_timestamp,
    metrics_of,
)
from repwatch.config import Source
from repwatch.records import MentionRecord

log = logging.getLogger(__name__)

SITE = "https://www.reddit.com"
PAGE_SIZE = 100  # the listing maximum
_GONE = ("[deleted]", "[removed]")


def created(data: dict[str, Any]) -> float | None:
    """A listing item's ``created_utc`` (Unix seconds), if it is a usable number."""
    value = data.get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def _clean(value: Any) -> str | None:
    text = clean_text(value) if isinstance(value, str) else None
    return None if text in _GONE else text


def child_post(child: Any) -> Post | None:
    """A ``Post`` for a listing child: a post (``t3``) or a comment (``t1``)."""
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        return None
    kind, data = child.get("kind"), child["data"]
    name = data.get("name")
    permalink = data.get("permalink")
    if not isinstance(name, str) or not name or not isinstance(permalink, str):
        return None
    author = _clean(data.get("author"))
    common: dict[str, Any] = {
        "native_id": name,
        "url": urljoin(SITE, quote(permalink, safe="/%:@!$&'()*+,;=-._~")),
        "author": author,
        "published_at": from_timestamp(data.get("created_utc")),
    }
    if kind == "t3":
        title = _clean(data.get("title"))
        body = _clean(data.get("selftext"))  # Markdown, shown as it is
        text = "\n\n".join(part for part in (title, body) if part)
        if not text:
            return None
        metrics = metrics_of(score=data.get("score"), comments=data.get("num_comments"))
        return Post(title=title, text=text, metrics=metrics, **common)
    if kind == "t1":
        body = _clean(data.get("body"))
        if not body:
            return None
        metrics = metrics_of(score=data.get("score"))
        title = _clean(data.get("link_title"))
        return Post(title=title, text=body, metrics=metrics, own_title=False, **common)
    return None


class RedditSpider(SocialSpider):
    """Subreddit posts and comments and Reddit search, newest first."""

    name = "reddit"
    kind = "reddit"

    def start_source(self, key: str, source: Source, cursors: dict[str, Any]) -> Iterable[Request]:
        base = source.base_url.rstrip("/")
        listings: list[tuple[str, str]] = []
        subs = (s.strip().removeprefix("/").removeprefix("r/") for s in source.subreddits)
        for sub in dict.fromkeys(subs):
            if sub:
                path = quote(sub, safe="")
                listings.append((f"r/{sub.casefold()}/new", f"{base}/r/{path}/new.json?"))
                listings.append((f"r/{sub.casefold()}/comments", f"{base}/r/{path}/comments.json?"))
        for query in default_queries(self.context, source):
            quoted = f'"{query}"' if " " in query else query
            params = urlencode({"q": quoted, "sort": "new", "type": "link"})
            listings.append((f"search:{query.casefold()}", f"{base}/search.json?{params}&"))
        for listing, url in listings:
            old = cursors.get(listing)
            self.book.begin(key, listing, float(old) if isinstance(old, int | float) else None)
            yield self._page(key, listing, url, None, 1)

    def _page(self, key: str, listing: str, url: str, after: str | None, page: int) -> Request:
        params: dict[str, str | int] = {"limit": PAGE_SIZE, "raw_json": 1}
        if after:
            params["after"] = after
        return self.request(
            url + urlencode(params), source_key=key, listing=listing, page=page, listing_url=url
        )

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        key: str = kwargs["source_key"]
        listing: str = kwargs["listing"]
        page: int = kwargs["page"]
        data = self.read_json(response, key, listing)
        if data is None:
            return
        listing_data = data.get("data") if isinstance(data, dict) else None
        children = listing_data.get("children") if isinstance(listing_data, dict) else None
        if not isinstance(listing_data, dict) or not isinstance(children, list):
            self.fail(key, listing, response.url, "json", "expected a Listing with data.children")
            return
        old = self.book.old(key, listing)
        reached_old = False
        for child in children:
            data_ = child.get("data") if isinstance(child, dict) else None
            when = created(data_) if isinstance(data_, dict) else None
            if when is not None and old is not None and when <= old:
                reached_old = True
                continue
            self.book.saw(key, listing, when)
            post = child_post(child)
            if post is not None:
                yield from self.mentions(key, post)
        after = listing_data.get("after")
        source = self.sources[key]
        if reached_old or not children or not isinstance(after, str) or not after:
            return
        if page >= source.max_pages:
            if old is not None:
                log.warning(
                    "%s %s: more new posts than max_pages=%d pages hold; older ones are skipped",
                    key,
                    listing,
                    source.max_pages,
                )
            return
        yield self._page(key, listing, kwargs["listing_url"], after, page + 1)
