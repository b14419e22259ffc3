"""Per-source accounting of a crawl: pages fetched, items found, errors by kind.

Every spider reports through these functions, so the run record of each source (pages,
errors by kind, the URL and reason of each failed page) is kept the same way for all kinds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scrapy.crawler import Crawler

log = logging.getLogger(__name__)
ERRORS_KEY = "repwatch/error_records"


@dataclass(frozen=True, slots=True)
class PageError:
    """A page or API response that could not be used, and why."""

    source: str
    url: str
    kind: str  # short and stable: "http", "network", "jsonld", "feed", "json", "blocked", ...
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
    records = stats.get_value(ERRORS_KEY) or []
    records.append(PageError(source_key, url, kind, reason))
    stats.set_value(ERRORS_KEY, records)
    log.warning("%s: %s (%s)", url, reason, kind)


def page_errors(crawler: Crawler) -> list[PageError]:
    """Every error recorded so far in this crawl."""
    stats = crawler.stats
    assert stats is not None
    return list(stats.get_value(ERRORS_KEY) or [])
