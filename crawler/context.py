"""What one crawl is about: the config, the chosen sources, who wants progress reports."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Spider
from scrapy.crawler import Crawler

from repwatch.config import CONFIG_FILENAME, Config, Source, load_config
from repwatch.errors import ConfigError
from repwatch.store.crawl_runs import SourceHistory

CONFIG_ENV = "REPWATCH_CONFIG"
# Kinds of [sources] this crawler fetches; crawler.spiders.SPIDERS names a spider for each.
CRAWLED_KINDS = ("reviews", "sitemap", "feed", "mastodon", "reddit", "hackernews")


@dataclass(frozen=True, slots=True)
class CrawlProgress:
    """A progress report during a crawl: pages parsed and reviews passed to the store."""

    pages: int
    items: int
    seconds: float


ProgressCallback = Callable[[CrawlProgress], None]


@dataclass(frozen=True, slots=True)
class CrawlContext:
    """The config and the sources (key, settings) one crawl covers.

    ``history`` says, per source key, what earlier runs found (``crawler.run`` reads it
    from the database); ``started_at`` is when this crawl started (UTC).
    """

    config: Config
    sources: tuple[tuple[str, Source], ...]
    progress: ProgressCallback | None = None
    history: Mapping[str, SourceHistory] = field(default_factory=dict)
    started_at: datetime | None = None

    def history_of(self, key: str) -> SourceHistory:
        """The history of one source; an empty one (first run: backfill) when unknown."""
        return self.history.get(key) or SourceHistory()

    @property
    def allowed_private_hosts(self) -> frozenset[str]:
        """Hosts of the sources that may be private addresses (local test sites)."""
        return frozenset(source_host(source) for _, source in self.sources if source.allow_private)


def source_host(source: Source) -> str:
    """The lower-case host name of a source's URL."""
    return (urlsplit(source.base_url).hostname or "").lower()


def select_sources(config: Config, keys: Sequence[str] | None) -> tuple[tuple[str, Source], ...]:
    """The sources to crawl: all configured ones, or those named (ConfigError if unknown)."""
    configured = config.settings.sources
    if not configured:
        raise ConfigError(
            f"{config.path} has no sources to crawl. Add a [sources.<key>] table, e.g.\n"
            '[sources.acme-reviews]\nbrand = "acme"\nurl = "https://reviews.example.com/acme"'
        )
    crawled = {key: s for key, s in configured.items() if s.kind in CRAWLED_KINDS}
    kinds = ", ".join(repr(kind) for kind in CRAWLED_KINDS)
    if not keys:
        if not crawled:
            raise ConfigError(
                f"{config.path} has no sources this crawler fetches (kind {kinds}); add a "
                '[sources.<key>] table with kind = "reviews"'
            )
        return tuple(crawled.items())
    unknown = [key for key in keys if key not in configured]
    if unknown:
        raise ConfigError(
            f"Unknown source {', '.join(repr(k) for k in unknown)}; "
            f"expected one of {', '.join(sorted(configured))} (the [sources.<key>] tables "
            f"in {config.path})"
        )
    other = [key for key in keys if key not in crawled]
    if other:
        raise ConfigError(
            f"Source {other[0]!r} is of kind {configured[other[0]].kind!r}; this crawler "
            f"fetches sources of kind {kinds}"
        )
    return tuple((key, configured[key]) for key in dict.fromkeys(keys))


def context_from_settings(config: object, keys: Sequence[str] | None) -> CrawlContext:
    """A context for ``scrapy crawl jsonld_reviews``: config from ``-s REPWATCH_CONFIG=PATH``.

    ``config`` may already be a ``Config``; otherwise ``$REPWATCH_CONFIG`` or
    ``./repwatch.toml`` is read.
    """
    if not isinstance(config, Config):
        path = str(config or os.environ.get(CONFIG_ENV) or CONFIG_FILENAME)
        config = load_config(path)
    return CrawlContext(config, select_sources(config, keys))


class ContextSpider(Spider):
    """Base of every repwatch spider: the crawl context and the private hosts it allows."""

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.allowed_private_hosts = context.allowed_private_hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Build the spider; from the Scrapy CLI the config comes from ``REPWATCH_CONFIG``."""
        if "context" not in kwargs:
            keys = kwargs.pop("sources", None)
            kwargs["context"] = context_from_settings(
                crawler.settings.get("REPWATCH_CONFIG"), keys.split(",") if keys else None
            )
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, cls)
        return spider
