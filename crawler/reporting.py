"""Per-source accounting of a crawl: pages fetched, items found, errors by kind.

Every spider reports through these functions, so the run record of each source (pages,
errors by kind, the URL and reason of each failed page) is kept the same way for all kinds.
Errbacks can hand their ``Failure`` to ``request_failed``, which names the kind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.netguard import REFUSED_NAMES

log = logging.getLogger(__name__)
ERRORS_KEY = "repwatch/error_records"
MAX_RECORDS_PER_SOURCE = 1000  # errors kept with URL and reason; all are counted


@dataclass(frozen=True, slots=True)
class PageError:
    """A page or API response that could not be used, and why."""

    source: str
    url: str
    # Short and stable: "http", "network", "dns", "timeout", "too-large", "redirect",
    # "blocked", "empty", "encoding", "content-type", "jsonld", "microdata", "rdfa",
    # "html", "sitemap", "feed", "json", ...
    kind: str
    reason: str


def page_fetched(crawler: Crawler, source_key: str) -> None:
    """Count one page (or API response) fetched for a source."""
    stats = crawler.stats
    assert stats is not None
    stats.inc_value("repwatch/pages")
    stats.inc_value(f"repwatch/source/{source_key}/pages")


def page_error(crawler: Crawler, source_key: str, url: str, kind: str, reason: str) -> None:
    """Record a per-page error with its URL and reason; the crawl goes on."""
    stats = crawler.stats
    assert stats is not None
    stats.inc_value("repwatch/errors")
    stats.inc_value(f"repwatch/source/{source_key}/errors/{kind}")
    kept = stats.get_value(f"repwatch/source/{source_key}/error_records", 0)
    if kept < MAX_RECORDS_PER_SOURCE:
        stats.inc_value(f"repwatch/source/{source_key}/error_records")
        records = stats.get_value(ERRORS_KEY) or []
        records.append(PageError(source_key, url, kind, reason))
        stats.set_value(ERRORS_KEY, records)
    log.warning("%s: %s (%s)", url, reason, kind)


def page_errors(crawler: Crawler) -> list[PageError]:
    """Every error recorded so far in this crawl (up to 1,000 per source)."""
    stats = crawler.stats
    assert stats is not None
    return list(stats.get_value(ERRORS_KEY) or [])


def source_errors(crawler: Crawler, source_key: str) -> dict[str, int]:
    """How many errors of each kind a source had in this crawl."""
    stats = crawler.stats
    assert stats is not None
    prefix = f"repwatch/source/{source_key}/errors/"
    return {
        name.removeprefix(prefix): int(value)
        for name, value in stats.get_stats().items()
        if name.startswith(prefix)
    }


def classify_failure(exc: BaseException) -> tuple[str, str] | None:
    """The error kind and reason of a failed request; ``None`` for robots.txt refusals.

    Middlewares that refuse requests raise ``IgnoreRequest`` subclasses with a ``kind``
    attribute (``crawler.netguard.PrivateAddressBlocked`` is "blocked").
    """
    kind = getattr(exc, "kind", None)
    if isinstance(exc, IgnoreRequest) and isinstance(kind, str):
        return kind, str(exc)
    if isinstance(exc, HttpError):
        status = exc.response.status
        return "http", f"HTTP {status}; check the URL, or whether the site is down"
    message = str(exc)
    if isinstance(exc, IgnoreRequest):
        if "DOWNLOAD_MAXSIZE" in message or "max size" in message:
            return "too-large", message
        if "redirections" in message:
            return "redirect", f"{message} (a redirect loop or a very long chain)"
        return None  # Forbidden by robots.txt, or filtered on purpose
    if isinstance(exc, DownloadTimeoutError | TimeoutError | TCPTimedOutError):
        return "timeout", message or "the server did not answer in time"
    if isinstance(exc, DownloadCancelledError | CancelledError):
        if "max size" in message or not message:  # Scrapy cancels over-long bodies
            return "too-large", message or "response larger than the download max size"
        return "network", message
    if isinstance(exc, DNSLookupError | CannotResolveHostError):
        return "dns", f"host name not found: {message}"
    return "network", f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def request_failed(crawler: Crawler, source_key: str, failure: Failure) -> PageError | None:
    """Record a failed request of a source (for errbacks); ``None`` when it is no error.

    Robots.txt refusals are counted in ``repwatch/robots_forbidden`` instead.
    """
    request = getattr(failure, "request", None)
    url = request.url if request is not None else "?"
    verdict = classify_failure(failure.value or Exception("unknown failure"))
    if verdict is None:
        stats = crawler.stats
        assert stats is not None
        stats.inc_value("repwatch/robots_forbidden")
        log.warning(
            "%s: not fetched (%s); robots.txt of the site forbids it. Set "
            "obey_robots_txt = false in [crawl] only if the site allows you to.",
            url,
            failure.value,
        )
        return None
    kind, reason = verdict
    host = (urlsplit(url).hostname or "").lower() if request is not None else ""
    if kind == "dns" and host in REFUSED_NAMES:
        kind = "blocked"
        reason = f"host {host} resolves to the private address {REFUSED_NAMES[host]}; refused"
    page_error(crawler, source_key, url, kind, reason)
    return PageError(source_key, url, kind, reason)
