"""Downloader middlewares and the request fingerprinter of repwatch crawls.

- ``RetryAfterMiddleware`` replaces Scrapy's ``RetryMiddleware``: the same retries (429,
  5xx, network errors; ``RETRY_TIMES``), but with exponential backoff, and on 429/503 it
  waits as long as the server's ``Retry-After`` asks (capped), without blocking the
  reactor.
- ``RedirectLoopMiddleware`` refuses a redirect back to a URL of the same chain.
- ``SourceRequestFingerprinter``: requests of different sources never count as
  duplicates of each other, and tracking parameters do not make a page new.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urljoin
from weakref import WeakKeyDictionary

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.response import response_status_message
from twisted.internet import task

from crawler.fields import canonical_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

log = logging.getLogger(__name__)

SOURCE_META = "repwatch_source"  # request.meta key: the source a request belongs to
# A query parameter that canonical_url drops (see crawler.fields.TRACKING_PARAMS).
_MAY_TRACK = re.compile(
    r"[?&](?:utm_|mc_|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|igshid|ref|_hs|mkt_tok)",
    re.IGNORECASE,
)
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: str | bytes | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delta-seconds or an HTTP date.

    ``None`` when the header is missing or unreadable; never negative.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; a zone-less one is read as such
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware:
    """Retry with backoff, honouring ``Retry-After`` on 429 and 503.

    The n-th retry of a request waits ``REPWATCH_RETRY_BACKOFF * 2 ** (n - 1)`` seconds
    (at most ``REPWATCH_RETRY_BACKOFF_MAX``), or what ``Retry-After`` says when the server
    sent it (at most ``REPWATCH_RETRY_AFTER_MAX``). The wait holds one download slot of
    the site: the server asked us to slow down.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(x) for x in settings.getlist("RETRY_HTTP_CODES")}
        self.priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.exceptions_to_retry = tuple(
            load_object(x) if isinstance(x, str) else x
            for x in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.backoff = settings.getfloat("REPWATCH_RETRY_BACKOFF", 1.0)
        self.backoff_max = settings.getfloat("REPWATCH_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("REPWATCH_RETRY_AFTER_MAX", 300.0)

    def process_response(self, request: Request, response: Response) -> Any:
        """The response, or (a coroutine giving) the retry request after the wait."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response  # the common case: no coroutine, no Deferred
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        wait = None
        if response.status in RETRY_AFTER_STATUSES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is None:
            wait = self._backoff(retry)
        else:
            wait = min(wait, self.retry_after_max)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("repwatch/retry_after")
        return self._later(wait, request, f"HTTP {response.status}", retry)

    def process_exception(self, request: Request, exception: Exception) -> Any:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        return self._later(self._backoff(retry), request, type(exception).__name__, retry)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _retry(self, request: Request, reason: str | Exception) -> Request | None:
        assert self.crawler.spider is not None
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
        )

    def _backoff(self, retry: Request) -> float:
        attempt = max(1, int(retry.meta.get("retry_times", 1)))
        return float(min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))

    async def _later(self, seconds: float, request: Request, why: str, retry: Request) -> Request:
        """``retry``, after ``seconds`` in which the reactor runs on."""
        if seconds > 0:
            log.info("%s: %s; retrying in %.1fs", request.url, why, seconds)
            from twisted.internet import reactor

            await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))
        return retry


class RedirectLoop(IgnoreRequest):
    """A redirect pointed back at a URL already in the same redirect chain."""

    kind = "redirect"  # the error kind recorded by crawler.reporting


class RedirectLoopMiddleware:
    """Stop a redirect chain that comes back to a URL it passed (A → B → A).

    Scrapy would follow it until ``REDIRECT_MAX_TIMES``, or drop it silently as a
    duplicate; this names the loop. Runs before ``RedirectMiddleware`` sees the response.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        if not 300 <= response.status < 400 or b"Location" not in response.headers:
            return response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = canonical_url(location, request.url)
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target is not None and target in {canonical_url(u, u) for u in chain}:
            hops = " -> ".join([*chain, urljoin(request.url, location)])
            raise RedirectLoop(f"redirect loop: {hops}")
        return response


class SourceRequestFingerprinter:
    """Scrapy's fingerprint of the request's canonical URL, salted with its source key.

    So the duplicate filter (kept in JOBDIR between runs of an interrupted crawl) never
    drops a page of one source because another source fetched it, and a ``?utm_source=``
    variant of a page is the same page.
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self._base = RequestFingerprinter(crawler)
        self._cache: WeakKeyDictionary[Request, bytes] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        """The fingerprint (bytes) of a request, cached per request object."""
        cached = self._cache.get(request)
        if cached is not None:
            return cached
        url = request.url
        if "?" in url and _MAY_TRACK.search(url):  # only then can the canonical URL differ
            url = canonical_url(url, url) or url
        base = self._base.fingerprint(request if url == request.url else request.replace(url=url))
        source = request.meta.get(SOURCE_META)
        digest = base if not source else hashlib.sha1(base + str(source).encode()).digest()
        self._cache[request] = digest
        return digest
