"""Run one crawl in this process: ``crawl(config)``, or ``python -m crawler.run``.

Twisted's reactor starts once per process and cannot be restarted, so ``crawl`` can run
once per process. Callers that need several crawls (tests, schedulers) run each in a
subprocess::

    python -m crawler.run --config repwatch.toml [--source KEY ...] [--set NAME=VALUE ...]

which prints the ``CrawlSummary`` as one JSON line on stdout (logs go to stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.context import (
    CrawlContext,
    CrawlProgress,
    ProgressCallback,
    select_sources,
    source_host,
)
from crawler.netguard import private_address
from crawler.settings import settings_from_config
from crawler.spiders.jsonld_reviews import JsonLdReviewSpider
from repwatch.config import Config, Source, load_config
from repwatch.errors import ConfigError, RepwatchError
from repwatch.store import open_database

__all__ = ["CrawlProgress", "CrawlSummary", "crawl", "main"]

log = logging.getLogger(__name__)
_started = False
# Loggers that write while CrawlerProcess starts, before the "scrapy" logger can be set.
_EARLY_LOGGERS = ("scrapy.utils.log", "scrapy.crawler")


@dataclass(frozen=True, slots=True)
class CrawlSummary:
    """What a crawl did: pages parsed, reviews found, how storing them went, errors."""

    pages: int
    items_seen: int  # reviews found on the pages, before dropping empty and repeated ones
    new: int
    updated: int
    unchanged: int
    errors: int  # failed requests, unreadable JSON-LD blocks, failed writes
    seconds: float


def check_addresses(sources: Sequence[tuple[str, Source]]) -> None:
    """Refuse sources on private or loopback addresses unless they set ``allow_private``."""
    for key, source in sources:
        address = None if source.allow_private else private_address(source_host(source))
        if address is not None:
            raise ConfigError(
                f"[sources.{key}] url {source.base_url} points at the private address {address}. "
                f"If this is a local test site, set allow_private = true in [sources.{key}]."
            )


def crawl(
    config: Config,
    source_keys: Sequence[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    settings: Mapping[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl the configured sources (or only ``source_keys``) and store their reviews.

    ``progress`` is called a few times a second with pages and reviews so far.
    ``settings`` overrides Scrapy settings, e.g. ``{"REPWATCH_BATCH_SIZE": 10}``.
    Raises ``ConfigError`` for unknown or missing sources and ``DatabaseError`` when the
    database cannot be opened, before anything is fetched. Runs once per process.
    """
    global _started
    sources = select_sources(config, source_keys)
    check_addresses(sources)
    open_database(config.database_url).dispose()  # fail before crawling, not after
    if _started:
        raise RuntimeError(
            "crawl() already ran in this process and Twisted's reactor cannot restart; "
            "run each further crawl in a subprocess: python -m crawler.run --config PATH"
        )
    _started = True

    scrapy_settings = Settings()
    scrapy_settings.setmodule("crawler.settings", priority="project")
    scrapy_settings.setdict(settings_from_config(config, sources), priority="cmdline")
    # Library code leaves logging to the application: no root handler of Scrapy's own.
    scrapy_settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    scrapy_settings.setdict(dict(settings or {}), priority="cmdline")
    level = _scrapy_log_level(scrapy_settings)
    # CrawlerProcess resets Scrapy's loggers to DEBUG and logs at once; a filter survives.
    quiet = _MinLevel(level)
    for name in _EARLY_LOGGERS:
        logging.getLogger(name).addFilter(quiet)
    try:
        process = CrawlerProcess(scrapy_settings)
    finally:
        for name in _EARLY_LOGGERS:
            logging.getLogger(name).removeFilter(quiet)
    logging.getLogger("scrapy").setLevel(level)
    crawler = process.create_crawler(JsonLdReviewSpider)
    process.crawl(crawler, context=CrawlContext(config, sources, progress))
    started = time.monotonic()
    process.start(install_signal_handlers=threading.current_thread() is threading.main_thread())
    seconds = time.monotonic() - started

    stats = crawler.stats.get_stats() if crawler.stats is not None else {}

    def stat(name: str) -> int:
        return int(stats.get(name, 0))

    summary = CrawlSummary(
        pages=stat("repwatch/pages"),
        items_seen=stat("repwatch/reviews_seen"),
        new=stat("repwatch/new"),
        updated=stat("repwatch/updated"),
        unchanged=stat("repwatch/unchanged"),
        errors=stat("repwatch/errors") + stat("spider_exceptions/count"),
        seconds=seconds,
    )
    log.info("crawl finished (%s): %s", stats.get("finish_reason", "?"), summary)
    return summary


class _MinLevel(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def _scrapy_log_level(settings: Settings) -> int:
    """Scrapy's LOG_LEVEL, raised to the application's level (root logger) if that is higher.

    Without a root handler of its own Scrapy logs through the application's handlers,
    which would show its DEBUG records: its logger is set to DEBUG by Scrapy itself.
    """
    level = logging.getLevelName(str(settings.get("LOG_LEVEL")).upper())
    level = level if isinstance(level, int) else logging.INFO
    return max(level, logging.getLogger().getEffectiveLevel())


def _parse_set(values: Sequence[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise ConfigError(f"--set {value!r}: expected NAME=VALUE, e.g. REPWATCH_BATCH_SIZE=10")
        out[name] = setting
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m crawler.run``: one crawl, its summary as one JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("--config", required=True, help="the repwatch.toml to use")
    parser.add_argument("--source", action="append", help="crawl only this source (repeatable)")
    parser.add_argument("--set", action="append", default=[], help="Scrapy setting NAME=VALUE")
    parser.add_argument("--log-level", default="INFO", help="log level on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    def progress(p: CrawlProgress) -> None:
        log.info("crawled %d pages, %d reviews", p.pages, p.items)

    try:
        config = load_config(args.config)
        summary = crawl(config, args.source, progress=progress, settings=_parse_set(args.set))
    except RepwatchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(summary)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
