"""Spiders, one class per kind of source; ``SPIDERS`` says which crawls which kind.

Classes are imported only when a crawl needs them (``spider_class``), so a kind whose
module is missing stops only the crawls that include such a source, with a clear message.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from repwatch.errors import ConfigError

if TYPE_CHECKING:
    from scrapy import Spider

SPIDERS: dict[str, str] = {
    "reviews": "crawler.spiders.jsonld_reviews.JsonLdReviewSpider",
    "sitemap": "crawler.spiders.sitemap.SitemapReviewSpider",
    "feed": "crawler.spiders.feed.FeedSpider",
    "mastodon": "crawler.spiders.mastodon.MastodonSpider",
    "reddit": "crawler.spiders.reddit.RedditSpider",
    "hackernews": "crawler.spiders.hackernews.HackerNewsSpider",
}


def spider_class(kind: str, registry: dict[str, str] | None = None) -> type[Spider]:
    """The spider class that crawls sources of ``kind``; ``ConfigError`` if there is none."""
    path = (SPIDERS if registry is None else registry).get(kind)
    if path is None:
        raise ConfigError(
            f"No spider crawls sources of kind {kind!r}; expected one of "
            f"{', '.join(sorted(SPIDERS if registry is None else registry))}"
        )
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # the spider's module exists but one of its imports is missing
        raise ConfigError(
            f"Sources of kind {kind!r} cannot be crawled: {module_name} is not part of this "
            "installation. Remove those sources from the config (or crawl the others with "
            "--source), or install a repwatch version that has it."
        ) from exc
    spider = getattr(module, class_name, None)
    if not isinstance(spider, type):
        raise ConfigError(
            f"Sources of kind {kind!r} cannot be crawled: {module_name} has no {class_name}."
        )
    return spider
