"""Scrapy settings: polite defaults here, the ``[crawl]`` table of repwatch.toml on top.

``scrapy.cfg`` points Scrapy here. ``crawler.run.crawl`` layers ``settings_from_config``
over this module, so the config file decides the user agent, delay, concurrency and
whether robots.txt is obeyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.context import source_host
from repwatch.config import Config, Source

BOT_NAME = "repwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness and safety; settings_from_config replaces these with the [crawl] values.
USER_AGENT = "repwatch/0.1 (+https://github.com/repwatch/repwatch)"
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS_PER_DOMAIN = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY  # Scrapy's default of 5 s makes short crawls crawl
AUTOTHROTTLE_MAX_DELAY = 30.0

DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # the spider logs the failure as an error, once
COOKIES_ENABLED = False
# Scrapy starts this many tasks per response to run its output (items and requests)
# through; its default of 100 made task bookkeeping the largest cost of a crawl. Measured
# with bench/crawl_throughput.py: 4 beats 1, 16 and 100.
CONCURRENT_ITEMS = 4
# No consoles into the crawling process: the remote-control extension (Scrapy 2.19)
# would run Python code sent to a local port and write job files to the home directory.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
# Scrapy 2.13+ default, spelled out so an upgrade cannot change it silently.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

DOWNLOADER_MIDDLEWARES = {
    # Before RobotsTxtMiddleware (100), so robots.txt requests are checked too.
    "crawler.netguard.PrivateAddressMiddleware": 50,
    # Retries with backoff and Retry-After, in place of Scrapy's RetryMiddleware.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    # Sees 3xx responses before RedirectMiddleware (600) turns them into requests.
    "crawler.middlewares.RedirectLoopMiddleware": 650,
}
REQUEST_FINGERPRINTER_CLASS = "crawler.middlewares.SourceRequestFingerprinter"
SCHEDULER_DISK_QUEUE = "crawler.jobs.FastPickleLifoDiskQueue"  # JOBDIR's request queue
# Checks the address a host name resolves to at connection time (DNS rebinding).
TWISTED_DNS_RESOLVER = "crawler.netguard.GuardedResolver"
REPWATCH_PRIVATE_HOSTS: list[str] = []  # hosts of sources with allow_private = true
REPWATCH_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled for each next one
REPWATCH_RETRY_BACKOFF_MAX = 60.0
REPWATCH_RETRY_AFTER_MAX = 300.0  # longest Retry-After honoured
REPWATCH_RUN_UPDATE_SECONDS = 30.0  # how often crawl_runs rows get the counts so far
ITEM_PIPELINES = {
    "crawler.pipelines.NormalisePipeline": 100,
    "crawler.pipelines.DedupPipeline": 200,
    "crawler.pipelines.StorePipeline": 300,
}
EXTENSIONS = {"crawler.extensions.ProgressExtension": 500}

REPWATCH_BATCH_SIZE = 100  # mentions per database transaction
REPWATCH_STORE_PROCESS = True  # from the second batch on, store in a child process
REPWATCH_FLUSH_SECONDS = 5.0  # write a partial batch after this long


def settings_from_config(
    config: Config, sources: Sequence[tuple[str, Source]] = ()
) -> dict[str, Any]:
    """The Scrapy settings that ``[crawl]`` (and per-source overrides) in repwatch.toml decide."""
    crawl = config.settings.crawl
    settings: dict[str, Any] = {
        "USER_AGENT": f"{crawl.user_agent} (+{crawl.contact_url})",
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "RETRY_TIMES": crawl.retry_times,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "DOWNLOAD_MAXSIZE": int(crawl.max_response_mb * 1024 * 1024),
        "DOWNLOAD_WARNSIZE": int(crawl.max_response_mb * 1024 * 1024 / 4),
    }
    # Per-source download_delay / concurrency apply to the source's host (Scrapy's slot).
    slots: dict[str, dict[str, Any]] = {}
    for _, source in sources:
        slot: dict[str, Any] = {}
        if source.download_delay is not None:
            slot["delay"] = source.download_delay
        if source.concurrency is not None:
            slot["concurrency"] = source.concurrency
        if slot:
            slots.setdefault(source_host(source), {}).update(slot)
    if slots:
        settings["DOWNLOAD_SLOTS"] = slots
    settings["REPWATCH_PRIVATE_HOSTS"] = sorted(
        {source_host(source) for _, source in sources if source.allow_private}
    )
    return settings
