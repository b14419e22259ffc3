"""``ProgressExtension``: report pages and reviews to the caller of ``crawler.run.crawl``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals

from crawler.context import CrawlProgress

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# At most this often, so a terminal progress line is not redrawn for every review.
PROGRESS_INTERVAL = 0.25


class ProgressExtension:
    """Call the crawl context's ``progress`` callback as pages and reviews come in."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = time.monotonic()
        self.last_report = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        # Pages come with items; one signal is enough (each receiver costs every page).
        crawler.signals.connect(ext.tick, signal=signals.response_received)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.started = time.monotonic()

    def tick(self, **_: Any) -> None:
        now = time.monotonic()
        if now - self.last_report >= PROGRESS_INTERVAL:
            self.last_report = now
            self.report()

    def spider_closed(self) -> None:
        self.report()

    def report(self) -> None:
        """Send the current counts to the callback, if the crawl has one."""
        context = getattr(self.crawler.spider, "context", None)
        callback = getattr(context, "progress", None)
        stats = self.crawler.stats
        if callback is None or stats is None:
            return
        callback(
            CrawlProgress(
                pages=int(stats.get_value("repwatch/pages", 0)),
                items=int(stats.get_value("repwatch/items", 0)),
                seconds=time.monotonic() - self.started,
            )
        )
