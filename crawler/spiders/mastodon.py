"""``MastodonSpider``: brand mentions on a Mastodon instance, through its REST API.

Per ``kind = "mastodon"`` source (``url`` is the instance):

- each of ``hashtags``: ``/api/v1/timelines/tag/:hashtag``;
- each of ``accounts``: ``/api/v1/accounts/lookup?acct=`` then ``/api/v1/accounts/:id/statuses``;
- each of ``queries`` (default: the brands' names and aliases):
  ``/api/v2/search?type=statuses``. Instances may refuse status search to anonymous
  clients; set ``REPWATCH_MASTODON_TOKEN`` to an access token (read scope) to send it as
  ``Authorization: Bearer`` (``host=token,host=token`` for sources on several instances).

The first crawl reads each timeline newest first, following ``Link: rel="next"`` (max_id)
up to ``max_pages``. Later crawls start at ``min_id`` = the newest status stored and move
forward through ``rel="prev"`` links, so nothing between two crawls is skipped. Search
has no Link header: it pages down by ``max_id``, with ``min_id`` as its lower bound. Only
public and unlisted statuses are stored; boosts are skipped (the original is what counts).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from scrapy import Request
from scrapy.http import Response

from crawler.fields import canonical_url, clean_text, language_tag, parse_published
from crawler.social import (
    Cursor,
    Post,
    SocialSpider,
    count,
    default_queries,
    html_to_text,
    metrics_of,
)
from repwatch.config import Source
from repwatch.records import MentionRecord

log = logging.getLogger(__name__)

TOKEN_ENV = "REPWATCH_MASTODON_TOKEN"
PAGE_SIZE = 40  # the API's maximum for timelines and search
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,\s]+)"?')
_PUBLIC = ("public", "unlisted")


def status_id(value: Any) -> int | None:
    """A status id as a number (ids are decimal strings that grow with time)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 30:
        return int(value)
    return None


def link_targets(header: bytes | None) -> dict[str, str]:
    """``{rel: url}`` from a ``Link`` response header."""
    text = (header or b"").decode("latin-1")
    return {rel: url for url, rel in _LINK.findall(text)}


def status_post(status: Any, instance_host: str) -> Post | None:
    """A ``Post`` for a public status, or ``None`` (boost, private, malformed)."""
    if not isinstance(status, dict) or status.get("reblog"):
        return None
    if status.get("visibility", "public") not in _PUBLIC or status_id(status.get("id")) is None:
        return None
    text = html_to_text(status.get("content") if isinstance(status.get("content"), str) else "")
    if not text:
        return None
    account = status.get("account")
    account = account if isinstance(account, dict) else {}
    acct = clean_text(account.get("acct"))
    if acct and "@" not in acct:
        acct = f"{acct}@{instance_host}"  # local accounts come without their domain
    raw_url = status.get("url") or status.get("uri")
    url = canonical_url(raw_url, f"https://{instance_host}/") if isinstance(raw_url, str) else None
    metrics = metrics_of(
        boosts=status.get("reblogs_count"),
        favourites=status.get("favourites_count"),
        replies=status.get("replies_count"),
    )
    return Post(
        native_id=str(status["id"]),
        url=url or f"https://{instance_host}/statuses/{status['id']}",
        text=text,
        title=clean_text(status.get("spoiler_text")),
        author=acct,
        author_reach=count(account.get("followers_count")),
        language=language_tag(status.get("language")),
        published_at=parse_published(status.get("created_at")),
        metrics=metrics,
    )


def tokens_by_host(value: str, hosts: set[str]) -> dict[str, str]:
    """Access tokens by instance host from ``REPWATCH_MASTODON_TOKEN``.

    The variable holds one token, used when every Mastodon source is on one instance, or
    ``host=token`` pairs separated by commas. A token is never sent to another instance.
    """
    value = value.strip()
    if not value:
        return {}
    if "=" not in value:
        if len(hosts) == 1:
            return {next(iter(hosts)): value}
        log.warning(
            "%s holds one token but the Mastodon sources are on %d instances (%s); sent to "
            "none. Set it to host=token pairs, e.g. mastodon.social=TOKEN1,fosstodon.org=TOKEN2",
            TOKEN_ENV,
            len(hosts),
            ", ".join(sorted(hosts)),
        )
        return {}
    pairs = (item.partition("=") for item in value.split(","))
    return {host.strip().lower(): token.strip() for host, _, token in pairs if token.strip()}


class MastodonSpider(SocialSpider):
    """Hashtag and account timelines and status search of Mastodon instances."""

    name = "mastodon"
    kind = "mastodon"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hosts = {urlsplit(s.base_url).hostname or "" for s in self.sources.values()}
        self.tokens = tokens_by_host(os.environ.get(TOKEN_ENV, ""), hosts)

    def headers_for(self, url: str) -> dict[str, str]:
        """The Authorization header for a request to ``url``: only its instance's token."""
        token = self.tokens.get(urlsplit(url).hostname or "")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def state_value(self, cursor: Cursor) -> Any:
        return str(int(cursor))  # ids exceed what JSON readers in JavaScript keep exactly

    def auth_hint(self, url: str) -> str:
        how = (
            f"the token in {TOKEN_ENV} was refused; check it has the read scope"
            if self.headers_for(url)
            else f"set {TOKEN_ENV} to an access token of an account on this instance"
        )
        return f"HTTP 401: the instance wants a signed-in client for this request; {how}"

    def start_source(self, key: str, source: Source, cursors: dict[str, Any]) -> Iterable[Request]:
        base = source.base_url.rstrip("/")
        for tag in dict.fromkeys(t.strip().lstrip("#") for t in source.hashtags):
            if tag:
                listing = f"tag:{tag.casefold()}"
                url = f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}"
                yield self._timeline(key, listing, url, cursors)
        for acct in dict.fromkeys(a.strip().lstrip("@") for a in source.accounts):
            if acct:
                listing = f"account:{acct.casefold()}"
                self.book.begin(key, listing, status_id(cursors.get(listing)))
                yield self.request(
                    f"{base}/api/v1/accounts/lookup?{urlencode({'acct': acct})}",
                    source_key=key,
                    listing=listing,
                    page=0,
                    step="lookup",
                )
        for query in default_queries(self.context, source):
            listing = f"search:{query.casefold()}"
            self.book.begin(key, listing, status_id(cursors.get(listing)))
            yield self._search(key, listing, base, query, None)

    def _timeline(self, key: str, listing: str, url: str, cursors: dict[str, Any]) -> Request:
        old = status_id(cursors.get(listing))
        self.book.begin(key, listing, old)
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if old is not None:
            params["min_id"] = str(old)
        return self.request(
            f"{url}?{urlencode(params)}",
            source_key=key,
            listing=listing,
            page=1,
            step="timeline",
        )

    def _search(
        self, key: str, listing: str, base: str, query: str, max_id: int | None, page: int = 1
    ) -> Request:
        params: dict[str, Any] = {"q": query, "type": "statuses", "limit": PAGE_SIZE}
        old = self.book.old(key, listing)
        if old is not None:
            params["min_id"] = str(old)
        if max_id is not None:
            params["max_id"] = str(max_id)
        return self.request(
            f"{base}/api/v2/search?{urlencode(params)}",
            source_key=key,
            listing=listing,
            page=page,
            step="search",
            query=query,
        )

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[MentionRecord | Request]:
        key: str = kwargs["source_key"]
        listing: str = kwargs["listing"]
        step: str = kwargs["step"]
        data = self.read_json(response, key, listing)
        if data is None:
            return
        if step == "lookup":
            yield from self._account(response, data, key, listing)
            return
        statuses = data.get("statuses") if step == "search" and isinstance(data, dict) else data
        if not isinstance(statuses, list):
            self.fail(key, listing, response.url, "json", "expected a list of statuses")
            return
        host = urlsplit(response.url).hostname or ""
        old = self.book.old(key, listing)
        ids: list[int] = []
        for status in statuses:
            number = status_id(status.get("id")) if isinstance(status, dict) else None
            if number is None or (old is not None and number <= old):
                continue  # an instance that ignored min_id: already stored
            ids.append(number)
            self.book.saw(key, listing, number)
            post = status_post(status, host)
            if post is not None:
                yield from self.mentions(key, post)
        yield from self._follow(response, ids, **kwargs)

    def _account(self, response: Response, data: Any, key: str, listing: str) -> Iterator[Request]:
        account_id = data.get("id") if isinstance(data, dict) else None
        if status_id(account_id) is None:
            self.fail(key, listing, response.url, "json", "account lookup returned no account id")
            return
        old = self.book.old(key, listing)
        params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        if old is not None:
            params["min_id"] = str(old)
        base = response.url.split("/api/v1/", 1)[0]
        yield self.request(
            f"{base}/api/v1/accounts/{account_id}/statuses?{urlencode(params)}",
            source_key=key,
            listing=listing,
            page=1,
            step="timeline",
        )

    def _follow(self, response: Response, ids: list[int], **kwargs: Any) -> Iterator[Request]:
        key: str = kwargs["source_key"]
        listing: str = kwargs["listing"]
        step: str = kwargs["step"]
        page: int = kwargs["page"]
        source = self.sources[key]
        if not ids:
            return  # an empty page ends every listing
        if page >= source.max_pages:
            log.info("%s %s: stopped after max_pages=%d pages", key, listing, source.max_pages)
            return
        if step == "search":  # search results carry no Link header: page by max_id
            base = response.url.split("/api/v2/", 1)[0]
            yield self._search(key, listing, base, kwargs["query"], min(ids), page + 1)
            return
        # Forward (rel="prev", min_id) when resuming, backward (rel="next", max_id) at first.
        rel = "prev" if self.book.old(key, listing) is not None else "next"
        following = link_targets(response.headers.get("Link")).get(rel)
        if following and urlsplit(following).hostname == urlsplit(response.url).hostname:
            yield self.request(
                following,
                source_key=key,
                listing=listing,
                page=page + 1,
                step=step,
            )
