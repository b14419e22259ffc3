"""What the feed and social spiders share: posts, brand matching, cursors, error reporting.

A spider turns each post or feed entry into a ``Post``; ``SocialSpider.mentions`` keeps it
only if it names a configured brand (``repwatch.matching.BrandMatcher``) and yields one
``MentionRecord`` per brand named. API spiders remember, per listing (a hashtag timeline,
a subreddit, a search), the newest id or time they saw; the cursors are written to
``sources.state`` when the crawl finished cleanly, so the next crawl asks only for newer
posts, and a crawl that failed or was killed starts again from the old cursors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

from crawler.context import ContextSpider, CrawlContext
from crawler.fields import clean_text
from crawler.middlewares import SOURCE_META
from crawler.reporting import classify_failure, page_error, page_fetched, request_failed
from repwatch.config import Source
from repwatch.matching import BrandMatcher
from repwatch.records import MentionRecord
from repwatch.store import open_database, session_scope
from repwatch.store.source_state import get_state, set_state

log = logging.getLogger(__name__)

MAX_EXTERNAL_ID = 255  # the mentions.external_id column
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|td|th|hr)\b[^>]*>", re.IGNORECASE
)
Cursor = int | float


def html_to_text(html: str | None) -> str:
    """Readable text of an HTML fragment: tags dropped, entities decoded, blocks spaced."""
    if not html:
        return ""
    text = remove_tags_with_content(html, which_ones=("script", "style"))
    text = remove_tags(_BLOCK_TAG.sub(" \n ", text))
    return clean_text(replace_entities(text)) or ""


def external_key(brand: str, native_id: str) -> str:
    """The stored id of a post for one brand: ``brand:id`` (a post may name two brands)."""
    key = f"{brand}:{native_id}"
    if len(key) <= MAX_EXTERNAL_ID:
        return key
    return f"{brand}:sha256:{hashlib.sha256(native_id.encode('utf-8', 'replace')).hexdigest()}"


def count(value: Any) -> int | None:
    """A non-negative count from a JSON value, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or value > 2**53:  # NaN, negative, absurd
        return None
    return int(value)


def metrics_of(**values: Any) -> dict[str, int] | None:
    """The engagement counts that are usable numbers, or ``None`` when none are."""
    found = {name: n for name, value in values.items() if (n := count(value)) is not None}
    return found or None


def from_timestamp(value: Any) -> datetime | None:
    """A UTC datetime from Unix seconds (int, float or numeric string)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Post:
    """A post, comment or feed entry as its source delivered it, before brand matching."""

    native_id: str  # the source's own id (status id, t3_ fullname, objectID, guid)
    url: str
    text: str
    title: str | None = None
    author: str | None = None
    author_reach: int | None = None
    language: str | None = None
    published_at: datetime | None = None
    metrics: dict[str, int] | None = None
    # False when the title is the thread's (a comment's story title): it is shown, not
    # matched, so a comment under a post about the brand is not a mention by itself.
    own_title: bool = True


@dataclass(slots=True)
class _Listing:
    old: Cursor | None
    newest: Cursor | None = None
    failed: bool = False


class CursorBook:
    """Per (source, listing): the cursor a crawl started from and the newest value seen."""

    def __init__(self) -> None:
        self._listings: dict[tuple[str, str], _Listing] = {}

    def begin(self, source_key: str, listing: str, old: Cursor | None) -> None:
        """A listing's first page is requested in this crawl, resuming after ``old``."""
        self._listings[(source_key, listing)] = _Listing(old)

    def old(self, source_key: str, listing: str) -> Cursor | None:
        entry = self._listings.get((source_key, listing))
        return entry.old if entry else None

    def saw(self, source_key: str, listing: str, value: Cursor | None) -> None:
        """An item with cursor ``value`` was on a page of the listing."""
        entry = self._listings.get((source_key, listing))
        if entry is not None and value is not None:
            entry.newest = value if entry.newest is None else max(entry.newest, value)

    def fail(self, source_key: str, listing: str) -> None:
        """A page of the listing failed: keep the old cursor so the next crawl retries."""
        entry = self._listings.get((source_key, listing))
        if entry is not None:
            entry.failed = True

    def advanced(self) -> dict[str, dict[str, Cursor]]:
        """New cursors by source: listings begun in this crawl, never failed, that moved on."""
        out: dict[str, dict[str, Cursor]] = {}
        for (source_key, listing), entry in self._listings.items():
            if entry.failed or entry.newest is None:
                continue
            if entry.old is None or entry.newest > entry.old:
                out.setdefault(source_key, {})[listing] = entry.newest
        return out


class SocialSpider(ContextSpider):
    """Base of the feed and API spiders: one crawl covers every source of ``kind``.

    Subclasses set ``name`` and ``kind`` and implement ``start_source``. Stats besides
    those of ``crawler.reporting``: ``repwatch/posts_seen`` (posts read),
    ``repwatch/unmatched`` (posts naming no brand, not stored), ``repwatch/reviews_seen``
    (mentions yielded).
    """

    kind: ClassVar[str]
    accept: ClassVar[str] = "application/json"  # the Accept header of every request

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.sources = {key: s for key, s in context.sources if s.kind == self.kind}
        self.matcher = BrandMatcher.from_brands(context.config.settings.brands)
        self.book = CursorBook()
        self.yielded = 0

    # -- subclass hooks --------------------------------------------------------------

    def start_source(self, key: str, source: Source, cursors: dict[str, Any]) -> Iterable[Request]:
        """The first requests of one source; ``cursors`` is its stored state."""
        raise NotImplementedError

    def headers_for(self, url: str) -> dict[str, str]:
        """Extra request headers for ``url`` (credentials of the service, for example)."""
        return {}

    def auth_hint(self, url: str) -> str:
        """What to tell the user when the service answers 401 Unauthorized."""
        return f"{url}: HTTP 401; the service wants credentials for this request"

    # -- requests and responses ------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        states = self._load_states()
        for key, source in self.sources.items():
            log.info("crawling %s source %s from %s", self.kind, key, source.base_url)
            for request in self.start_source(key, source, states.get(key, {})):
                yield request

    def _load_states(self) -> dict[str, dict[str, Any]]:
        engine = open_database(self.context.config.database_url)
        try:
            with session_scope(engine) as session:
                return {key: get_state(session, key) for key in self.sources}
        finally:
            engine.dispose()

    def request(
        self,
        url: str,
        *,
        source_key: str,
        listing: str,
        page: int,
        **extra: str | int | float | None,
    ) -> Request:
        """A request for page ``page`` of a listing, handled by ``self.parse``.

        ``extra`` goes into ``cb_kwargs`` (picklable values only, for JOBDIR).
        """
        return Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            headers={"Accept": self.accept, **self.headers_for(url)},
            cb_kwargs={"source_key": source_key, "listing": listing, "page": page, **extra},
            meta={SOURCE_META: source_key},
            # Pages are bounded by max_pages; a duplicate filter kept in JOBDIR would
            # otherwise drop a first page a resumed crawl asks for again.
            dont_filter=True,
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        """Handle one page of a listing (subclasses implement ``parse_page``)."""
        key: str = kwargs["source_key"]
        page_fetched(self.crawler, key)
        yield from self.parse_page(response, **kwargs)

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        raise NotImplementedError

    def read_json(self, response: Response, key: str, listing: str) -> Any:
        """The JSON body of an API response, or ``None`` after recording a "json" error."""
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError) as exc:
            kind = (response.headers.get("Content-Type") or b"").decode("latin-1") or "no type"
            self.fail(key, listing, response.url, "json", f"not JSON ({kind}): {exc}")
            return None

    def fail(self, key: str, listing: str, url: str, kind: str, reason: str) -> None:
        """Record a page error; the listing keeps its old cursor."""
        self.book.fail(key, listing)
        page_error(self.crawler, key, url, kind, reason)

    def mentions(self, key: str, post: Post) -> Iterator[MentionRecord]:
        """One record per brand ``post`` names; none (and a stat) when it names none."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("repwatch/posts_seen")
        matched = post.text if not (post.own_title and post.title) else f"{post.title}\n{post.text}"
        brands = self.matcher.match(matched)
        if not brands:
            stats.inc_value("repwatch/unmatched")
            return
        for brand in brands:
            self.yielded += 1
            stats.inc_value("repwatch/reviews_seen")
            yield MentionRecord(
                source=key,
                brand=brand,
                url=post.url,
                external_id=external_key(brand, post.native_id),
                text=post.text,
                title=post.title,
                author=post.author,
                author_reach=post.author_reach,
                language=post.language,
                published_at=post.published_at,
                metrics=post.metrics,
            )

    def on_error(self, failure: Failure) -> None:
        """Record a request that failed for good (after retries); its listing keeps its cursor."""
        request = getattr(failure, "request", None)
        kwargs = request.cb_kwargs if request is not None else {}
        key = str(kwargs.get("source_key") or (request.meta.get(SOURCE_META) if request else ""))
        listing = str(kwargs.get("listing", ""))
        exc = failure.value
        url = request.url if request is not None else "?"
        if isinstance(exc, HttpError) and exc.response.status == 401:
            self.fail(key, listing, url, "auth", self.auth_hint(url))
        elif exc is not None and classify_failure(exc) is None:  # robots.txt forbids it
            reason = (
                f"robots.txt of the site forbids fetching it ({exc}). Set obey_robots_txt = "
                "false in [crawl] only if the service's terms allow you to."
            )
            self.fail(key, listing, url, "robots", reason)
        else:
            self.book.fail(key, listing)
            request_failed(self.crawler, key, failure)

    # -- cursors ---------------------------------------------------------------------

    def state_value(self, cursor: Cursor) -> Any:
        """How a cursor is kept in ``sources.state`` (JSON)."""
        return cursor

    def closed(self, reason: str) -> None:
        """Save the advanced cursors, unless the crawl stopped early or lost mentions."""
        advanced = self.book.advanced()
        if not advanced:
            return
        stats = self.crawler.stats
        assert stats is not None
        stored = int(stats.get_value("repwatch/stored", 0)) + int(
            stats.get_value("item_dropped_count", 0)
        )
        crashed = int(stats.get_value("spider_exceptions/count", 0))
        if reason != "finished" or stored < self.yielded or crashed:
            log.warning(
                "%s crawl ended (%s) with %d of %d mentions stored and %d spider errors; "
                "keeping the old cursors so the next crawl fetches these posts again",
                self.kind,
                reason,
                stored,
                self.yielded,
                crashed,
            )
            return
        engine = open_database(self.context.config.database_url)
        try:
            with session_scope(engine) as session:
                for key, cursors in advanced.items():
                    set_state(session, key, {k: self.state_value(v) for k, v in cursors.items()})
        finally:
            engine.dispose()
        log.info("saved cursors: %s", advanced)


def default_queries(context: CrawlContext, source: Source) -> list[str]:
    """The source's ``queries``, or every brand's name and aliases when it has none."""
    if source.queries:
        return list(dict.fromkeys(source.queries))
    names: dict[str, str] = {}
    for brand in context.config.settings.brands.values():
        for name in (brand.name, *brand.aliases):
            names.setdefault(name.casefold().strip(), name.strip())
    return [name for name in names.values() if name]
