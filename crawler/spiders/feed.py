"""``FeedSpider``: brand mentions in RSS 0.9x/1.0/2.0 and Atom feeds (news alerts, blogs).

Each ``kind = "feed"`` source is a feed URL. Entries naming a configured brand are stored,
one mention per brand; Atom paged feeds (``<link rel="next">``) are followed on the same
host up to ``max_pages``. Feeds are small and upserts skip what is stored, so feeds keep
no cursor.

XML safety: ``feedparser`` strips the DOCTYPE before parsing, so entities are never
expanded and external entities never fetched (tests/test_feeds.py proves it); on top of
that a feed declaring entities is refused as "unsafe-xml" before it is parsed. Bodies are
handed over as a stream: given bytes, ``feedparser`` might treat them as a file name.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
from scrapy import Request
from scrapy.http import Response

from crawler.fields import canonical_url, clean_text, language_tag
from crawler.social import Post, SocialSpider, html_to_text
from repwatch.config import Source
from repwatch.records import MentionRecord

log = logging.getLogger(__name__)

# "<!ENTITY" in ASCII-compatible encodings and in UTF-16 (either byte order).
_ENTITY_DECL = re.compile(
    rb"<!ENTITY|<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y\x00|\x00<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y",
    re.IGNORECASE,
)
FEED_LISTING = "feed"


def _when(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed
        # with a DeprecationWarning.
        parsed = dict.get(entry, name)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, OSError, ValueError, TypeError):
                continue
    return None


def _entry_text(entry: Any) -> str:
    """The longest of the entry's content blocks and summary, as plain text."""
    candidates = [block.get("value") for block in entry.get("content") or []]
    candidates.append(entry.get("summary"))
    texts = [html_to_text(c) for c in candidates if isinstance(c, str)]
    return max(texts, key=len, default="")


def entry_post(entry: Any, feed_url: str, feed_language: str | None) -> Post | None:
    """A ``Post`` for one feed entry, or ``None`` when it has neither text nor title."""
    title = clean_text(html_to_text(entry.get("title")))
    text = _entry_text(entry) or title
    if not text:
        return None
    link = entry.get("link")
    url = (canonical_url(link, feed_url) if isinstance(link, str) else None) or feed_url
    native = entry.get("id")
    if not isinstance(native, str) or not native.strip():
        if isinstance(link, str) and url != feed_url:
            native = url
        else:  # neither guid nor link: the content is the identity
            native = "sha256:" + hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()
    details = [*(entry.get("content") or []), entry.get("summary_detail") or {}]
    languages = [entry.get("language"), *(d.get("language") for d in details)]
    language = next((tag for value in languages if (tag := language_tag(value))), None)
    return Post(
        native_id=native.strip(),
        url=url,
        text=text,
        title=title,
        author=clean_text(entry.get("author")),
        language=language or feed_language,
        published_at=_when(entry),
    )


def parse_feed(body: bytes, url: str, content_type: str | None) -> Any:
    """``feedparser``'s result for a feed body; never raises for bad input."""
    # No content-location: feedparser would turn guids that are not URLs into URLs.
    headers = {"content-type": content_type} if content_type else {}
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # hostile bytes break its encoding detection (tests/test_feeds.py)
        return {"bozo": 1, "bozo_exception": exc, "entries": [], "version": "", "feed": {}}


def feed_problem(parsed: Any, content_type: str | None) -> tuple[str, str] | None:
    """The kind and reason of what was wrong with a parsed feed, if anything was."""
    if not parsed.get("bozo"):
        return None
    problem = parsed.get("bozo_exception")
    entries = len(parsed.get("entries") or [])
    if not entries and not parsed.get("version"):
        return "feed", f"not an RSS or Atom feed ({content_type or 'no type'}): {problem}"
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        return "encoding", f"wrong declared encoding, read anyway: {problem}"
    if isinstance(problem, feedparser.NonXMLContentType):
        log.info("feed served as %s, read anyway", content_type or "no type")
        return None
    return "feed", f"broken feed, kept {entries} readable entries: {problem}"


class FeedSpider(SocialSpider):
    """Fetch each ``kind = "feed"`` source and yield mentions of the configured brands."""

    name = "feeds"
    kind = "feed"
    accept = (
        "application/rss+xml, application/atom+xml, application/rdf+xml, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Pages requested per source: a "next" link back to an earlier page ends the chain.
        self.visited: dict[str, set[str]] = {key: set() for key in self.sources}

    def start_source(self, key: str, source: Source, cursors: dict[str, Any]) -> Iterable[Request]:
        self.visited[key].add(source.base_url)
        yield self.request(source.base_url, source_key=key, listing=FEED_LISTING, page=1)

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        key: str = kwargs["source_key"]
        page: int = kwargs["page"]
        if _ENTITY_DECL.search(response.body[:65536]):
            self.fail(
                key,
                FEED_LISTING,
                response.url,
                "unsafe-xml",
                "the feed declares XML entities (<!ENTITY>), which repwatch never expands; "
                "ask the publisher for a plain RSS or Atom feed",
            )
            return
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        parsed = parse_feed(response.body, response.url, content_type)
        entries = parsed.get("entries") or []
        problem = feed_problem(parsed, content_type)
        if problem is not None:
            self.fail(key, FEED_LISTING, response.url, *problem)
        feed_info = parsed.get("feed") or {}
        language = language_tag(feed_info.get("language"))
        for entry in entries:
            post = entry_post(entry, response.url, language)
            if post is not None:
                yield from self.mentions(key, post)
        following = self._next_page(feed_info, response.url)
        if following is None or following in self.visited[key]:
            return
        if page >= self.sources[key].max_pages:
            log.info("%s: stopped after max_pages=%d pages", key, self.sources[key].max_pages)
            return
        self.visited[key].add(following)
        yield self.request(following, source_key=key, listing=FEED_LISTING, page=page + 1)

    @staticmethod
    def _next_page(feed_info: Any, url: str) -> str | None:
        """An Atom paged feed's ``rel="next"`` link on the same host (RFC 5005)."""
        for link in feed_info.get("links") or []:
            href = link.get("href")
            if link.get("rel") == "next" and isinstance(href, str):
                following = canonical_url(href, url, keep_fragment=False)
                if following and urlsplit(following).hostname == urlsplit(url).hostname:
                    return following
        return None
