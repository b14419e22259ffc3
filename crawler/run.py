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
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task

from crawler.context import (
    CrawlContext,
    CrawlProgress,
    ProgressCallback,
    select_sources,
    source_host,
)
from crawler.jobs import CrawlJob, job_root
from crawler.netguard import private_address
from crawler.runlog import RunLog
from crawler.settings import settings_from_config
from crawler.spiders import spider_class
from repwatch.config import Config, Source, load_config
from repwatch.errors import ConfigError, RepwatchError
from repwatch.store import open_database, queries, session_scope
from repwatch.store.crawl_runs import SourceHistory
from repwatch.store.schema import utcnow

__all__ = ["CrawlProgress", "CrawlSummary", "crawl", "main"]

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
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
    errors: int  # failed requests, unreadable pages or blocks, failed writes
    seconds: float
    interrupted: bool = False  # stopped by a signal; run again to resume


def check_addresses(sources: Sequence[tuple[str, Source]]) -> None:
    """Refuse sources on private or loopback addresses unless they set ``allow_private``.

    Cloud metadata addresses (169.254.169.254, fd00:ec2::254, ...) are refused even then.
    """
    for key, source in sources:
        address = private_address(source_host(source), allow_private=source.allow_private)
        if address is None:
            continue
        if source.allow_private:
            raise ConfigError(
                f"[sources.{key}] url {source.base_url} points at {address}, a cloud metadata "
                "address; repwatch never fetches from it, even with allow_private = true."
            )
        raise ConfigError(
            f"[sources.{key}] url {source.base_url} points at the private address {address}. "
            f"If this is a local test site, set allow_private = true in [sources.{key}]."
        )


def spider_groups(
    sources: Sequence[tuple[str, Source]],
) -> list[tuple[type[Spider], tuple[tuple[str, Source], ...]]]:
    """The spider class for each kind among ``sources``, with the sources it crawls."""
    groups: dict[type[Spider], list[tuple[str, Source]]] = {}
    for key, source in sources:
        groups.setdefault(spider_class(source.kind), []).append((key, source))
    return [(cls, tuple(members)) for cls, members in groups.items()]


class _ProgressSum:
    """Adds up the progress reports of the crawl's spiders for the caller's callback."""

    def __init__(self, callback: ProgressCallback | None, parts: int) -> None:
        self.callback = callback
        self.latest = [CrawlProgress(0, 0, 0.0)] * parts

    def part(self, index: int) -> ProgressCallback | None:
        if self.callback is None:
            return None

        def report(progress: CrawlProgress) -> None:
            self.latest[index] = progress
            assert self.callback is not None
            self.callback(
                CrawlProgress(
                    pages=sum(p.pages for p in self.latest),
                    items=sum(p.items for p in self.latest),
                    seconds=max(p.seconds for p in self.latest),
                )
            )

        return report


def _without_paused(
    engine: Engine, sources: tuple[tuple[str, Source], ...], *, named: bool
) -> tuple[tuple[str, Source], ...]:
    """Leave out the sources an admin paused; naming one on the command line is an error."""
    with session_scope(engine) as session:
        paused = queries.paused_sources(session)
    for key in (k for k, _ in sources if k in paused):
        pause = paused[key]
        message = (
            f"Source {key!r} is paused (by {pause.by} since {pause.since:%Y-%m-%d %H:%M} UTC); "
            "an admin resumes it on the dashboard's Sources page"
        )
        if named:
            raise ConfigError(message)
        log.warning("%s; not crawled", message)
    active = tuple((k, s) for k, s in sources if k not in paused)
    if not active:
        raise ConfigError("Every source to crawl is paused; resume one on the Sources page")
    return active


def crawl(
    config: Config,
    source_keys: Sequence[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    settings: Mapping[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl the configured sources (or only ``source_keys``) and store their mentions.

    One Scrapy crawler per kind of source runs in the process. Every source gets a
    ``crawl_runs`` row. An interrupted crawl (Ctrl-C, SIGTERM) resumes at the next call
    with the same sources. ``progress`` is called a few times a second with pages and
    reviews so far. ``settings`` overrides Scrapy settings, e.g.
    ``{"REPWATCH_BATCH_SIZE": 10}``. Raises ``ConfigError`` for unknown or missing
    sources and ``DatabaseError`` when the database cannot be opened, before anything is
    fetched. Runs once per process.

    With a Redis URL configured (``Config.redis_url``) the crawl is distributed
    (``crawler.distributed``): it joins the crawl of every other process started with
    the same config, its queue lives in Redis instead of JOBDIR, and each process writes
    its own ``crawl_runs`` rows.
    """
    global _started
    sources = select_sources(config, source_keys)
    check_addresses(sources)
    keys = [key for key, _ in sources]
    shared: dict[str, Any] = {}
    lock: AbstractContextManager[None] = nullcontext()
    if config.redis_url:
        from crawler import distributed

        shared = distributed.distributed_settings(config, keys, dict(settings or {}))
        lock = distributed.setup_lock(config, keys)  # one worker at a time migrates
    with lock:
        engine = open_database(config.database_url)  # fail before crawling, not after
    try:
        sources = _without_paused(engine, sources, named=bool(source_keys))
    except RepwatchError:
        engine.dispose()
        raise
    groups = spider_groups(sources)
    if _started:
        engine.dispose()
        raise RuntimeError(
            "crawl() already ran in this process and Twisted's reactor cannot restart; "
            "run each further crawl in a subprocess: python -m crawler.run --config PATH"
        )
    _started = True
    try:
        job = None if shared else CrawlJob(job_root(config, keys))
        if job is not None:
            job.claim()
        runs = distributed.WorkerRunLog(engine, sources) if shared else RunLog(engine, sources)
        started_at = utcnow()
        history = runs.start(started_at)
        overrides = {**(settings or {}), **shared}
        process, crawlers = _build(
            config, groups, sources, progress, overrides, history, started_at, job
        )
        by_source = {key: crawler for crawler, members in crawlers for key, _ in members}
        interval = process.settings.getfloat("REPWATCH_RUN_UPDATE_SECONDS", 30.0)
        updates = task.LoopingCall(runs.update, by_source)
        updates.start(interval, now=False)
        started = time.monotonic()
        main_thread = threading.current_thread() is threading.main_thread()
        saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} if main_thread else {}
        try:
            process.start(install_signal_handlers=main_thread)
        finally:
            # Scrapy's handlers stop a crawl; after it, Ctrl-C and SIGTERM must again stop
            # the command (`repwatch demo` goes on to serve the dashboard).
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            if updates.running:
                updates.stop()
            seconds = time.monotonic() - started
            _close(runs, job, crawlers, by_source)
    finally:
        engine.dispose()
    summary = _summary([crawler for crawler, _ in crawlers], seconds)
    log.info("crawl finished: %s", summary)
    return summary


def _close(
    runs: RunLog,
    job: CrawlJob | None,
    crawlers: Sequence[tuple[Crawler, Any]],
    by_source: Mapping[str, Crawler],
) -> None:
    """Finish the run records and release the crawl state, whatever happened to the crawl."""
    try:
        runs.finish(by_source)
    except SQLAlchemyError as exc:
        log.error("could not record how the crawl went (crawl_runs): %s", exc)
    finally:
        reasons = {
            crawler.spidercls.name: (
                crawler.stats.get_value("finish_reason") if crawler.stats is not None else None
            )
            for crawler, _ in crawlers
        }
        if job is not None:
            job.release(reasons)


def _build(
    config: Config,
    groups: list[tuple[type[Spider], tuple[tuple[str, Source], ...]]],
    sources: Sequence[tuple[str, Source]],
    progress: ProgressCallback | None,
    settings: Mapping[str, Any] | None,
    history: Mapping[str, SourceHistory],
    started_at: datetime,
    job: CrawlJob | None,
) -> tuple[CrawlerProcess, list[tuple[Crawler, tuple[tuple[str, Source], ...]]]]:
    """The CrawlerProcess and one crawler (with its own JOBDIR, without ``job``: none) per
    spider class."""
    scrapy_settings = Settings()
    scrapy_settings.setmodule("crawler.settings", priority="project")
    scrapy_settings.setdict(settings_from_config(config, sources), priority="cmdline")
    # Library code leaves logging to the application: no root handler of Scrapy's own.
    scrapy_settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    # Spider classes are passed in: no need to import every spider module up front.
    scrapy_settings.set("SPIDER_MODULES", [], priority="cmdline")
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
    total = _ProgressSum(progress, len(groups))
    crawlers = []
    for index, (spidercls, members) in enumerate(groups):
        crawler = process.create_crawler(spidercls)
        if job is not None and "JOBDIR" not in (settings or {}):  # --set JOBDIR= turns it off
            crawler.settings.set("JOBDIR", str(job.spider_dir(spidercls.name)), "cmdline")
        context = CrawlContext(config, members, total.part(index), history, started_at)
        process.crawl(crawler, context=context)
        crawlers.append((crawler, members))
    return process, crawlers


def _summary(crawlers: Sequence[Crawler], seconds: float) -> CrawlSummary:
    def stat(name: str) -> int:
        return sum(int(c.stats.get_value(name, 0)) for c in crawlers if c.stats is not None)

    reasons = {c.stats.get_value("finish_reason") for c in crawlers if c.stats is not None}
    return CrawlSummary(
        pages=stat("repwatch/pages"),
        items_seen=stat("repwatch/reviews_seen"),
        new=stat("repwatch/new"),
        updated=stat("repwatch/updated"),
        unchanged=stat("repwatch/unchanged"),
        errors=stat("repwatch/errors") + stat("spider_exceptions/count"),
        seconds=seconds,
        interrupted="shutdown" in reasons,
    )


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
