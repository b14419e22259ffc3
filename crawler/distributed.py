"""Distributed crawling: several crawler processes share one crawl through Redis.

With ``[crawl] redis_url`` (or ``$REPWATCH_REDIS_URL``) set, every crawler process started
with the same config joins the same crawl: the request queue and the duplicate filter live
in Redis (scrapy-redis), so a page is fetched by one process only. Redis is then the
persistent queue: JOBDIR is not used, and a crawl stopped by Ctrl-C resumes from Redis.

Keys, per spider, under ``crawl_prefix``: ``<prefix>:<spider>:requests`` (a sorted set),
``<prefix>:<spider>:dupefilter`` (request fingerprints) and ``<prefix>:<spider>:workers``
(processes that hold requests, with the Redis time they last said so). The prefix hashes
the database URL and the crawled source keys, so two projects, or two different crawls of
one project, never share keys.

A process whose queue runs dry waits while another one still works (its pages may queue
more requests), and the last one to finish removes the keys, so the next crawl starts
afresh, as a finished JOBDIR crawl does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

from redis import Redis
from redis.exceptions import RedisError
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from sqlalchemy.engine import make_url
from twisted.internet import task

from crawler.jobs import request_dict
from crawler.runlog import RunLog, source_counts
from repwatch.config import Config
from repwatch.errors import ConfigError, RepwatchError
from repwatch.store import session_scope
from repwatch.store.crawl_runs import RunStatus, finish_run

log = logging.getLogger(__name__)

# A worker that has not refreshed its entry for this long was killed; others stop waiting.
WORKER_STALE_SECONDS = 60
WORKER_REFRESH_SECONDS = 5.0
IDLE_POLL_SECONDS = 0.5  # how often a waiting worker looks for requests queued by others
SETUP_LOCK_SECONDS = 120  # longest a worker may take to migrate the database at start


class RedisUnavailable(RepwatchError):
    """The Redis server of a distributed crawl cannot be reached."""


def crawl_prefix(config: Config, source_keys: Sequence[str]) -> str:
    """The Redis key prefix of a crawl of these sources into this config's database."""
    url = make_url(config.database_url).render_as_string(hide_password=True)
    crawl = f"{url}\n{','.join(sorted(set(source_keys)))}"
    digest = hashlib.sha256(crawl.encode("utf-8")).hexdigest()[:16]
    return f"{config.settings.crawl.redis_key_prefix}:{digest}"


def connect(url: str) -> Redis:
    """A client of the crawl's Redis server; ``RedisUnavailable`` when it does not answer."""
    client = Redis.from_url(url, socket_connect_timeout=10, socket_timeout=30)
    try:
        client.ping()
    except RedisError as exc:
        client.close()
        raise RedisUnavailable(
            f"Cannot reach Redis at {_safe(url)} for the distributed crawl: {exc}. Start it, "
            "or fix [crawl] redis_url (or REPWATCH_REDIS_URL); unset both to crawl alone."
        ) from exc
    return client


def _safe(url: str) -> str:
    """``url`` without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, user = head.partition("://")
    return f"{scheme}{sep}{user.split(':', 1)[0]}:***@{tail}"


def distributed_settings(
    config: Config, source_keys: Sequence[str], settings: dict[str, Any]
) -> dict[str, Any]:
    """The Scrapy settings that put a crawl's queue and duplicate filter in Redis.

    ``settings`` are the caller's overrides; JOBDIR among them is refused (Redis keeps
    the queue of a distributed crawl).
    """
    url = config.redis_url
    assert url is not None
    if settings.get("JOBDIR"):
        raise ConfigError(
            "JOBDIR does not apply to a distributed crawl (Redis keeps its queue); drop "
            "--set JOBDIR, or unset [crawl] redis_url and REPWATCH_REDIS_URL to crawl alone"
        )
    if make_url(config.database_url).get_backend_name() == "sqlite":
        log.warning(
            "distributed crawl into SQLite: only workers on this machine can share it; "
            "use PostgreSQL (REPWATCH_DATABASE_URL) for workers on other machines"
        )
    prefix = crawl_prefix(config, source_keys)
    return {
        "REDIS_URL": url,
        "SCHEDULER": "crawler.distributed.SharedScheduler",
        "DUPEFILTER_CLASS": "crawler.distributed.SharedDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.SharedQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:%(spider)s:dupefilter",
        # Kept when one process closes: the others still use them. SharedScheduler
        # removes them when the last process finishes.
        "SCHEDULER_PERSIST": True,
        "SPIDER_MIDDLEWARES": {"crawler.distributed.SharedStartMiddleware": 30},
    }


@contextlib.contextmanager
def setup_lock(config: Config, source_keys: Sequence[str]) -> Iterator[None]:
    """One worker at a time migrates the database and opens its run records.

    Workers started together on an empty database would otherwise all run the migrations.
    """
    client = connect(str(config.redis_url))
    try:
        lock = client.lock(
            f"{crawl_prefix(config, source_keys)}:setup",
            timeout=SETUP_LOCK_SECONDS,
            blocking_timeout=SETUP_LOCK_SECONDS,
        )
        with lock:
            yield
    finally:
        client.close()


class SharedDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis's duplicate filter with the crawl's request fingerprinter.

    scrapy-redis hashes method, URL and body itself; repwatch's
    ``SourceRequestFingerprinter`` also tells sources apart and drops tracking parameters.
    """

    fingerprinter: Any = None

    @classmethod
    def from_spider(cls, spider: Spider) -> Self:
        dupefilter: Self = super().from_spider(spider)
        dupefilter.fingerprinter = spider.crawler.request_fingerprinter
        return dupefilter

    def request_fingerprint(self, request: Request) -> str:
        return str(self.fingerprinter.fingerprint(request).hex())


class SharedQueue(PriorityQueue):  # type: ignore[misc]
    """scrapy-redis's priority queue, serialising requests with ``crawler.jobs.request_dict``."""

    def _encode_request(self, request: Request) -> bytes:
        return bytes(picklecompat.dumps(request_dict(request, self.spider)))


# Pop the best request and mark this worker busy in one step, so no other worker ever sees
# an empty queue and no busy worker while a request is on its way.
_POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], ARGV[1], redis.call('TIME')[1])
return item[1]
"""
# This worker is idle: "work" when requests are queued, "wait" while another worker holds
# requests (and refreshed its entry lately), else "done": the crawl is over.
_IDLE = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) > 0 then return 'work' end
local now = tonumber(redis.call('TIME')[1])
local workers = redis.call('HGETALL', KEYS[2])
for i = 2, #workers, 2 do
  if now - tonumber(workers[i]) < tonumber(ARGV[2]) then return 'wait' end
end
return 'done'
"""
_REFRESH = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], redis.call('TIME')[1])
end
"""


class SharedScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler, plus knowing when the crawl of every process is over.

    Stats: ``repwatch/distributed/waits`` (idle checks that waited for another worker).
    """

    crawler: Crawler
    df: Any  # scrapy-redis's attribute names: the duplicate filter, the queue
    queue: Any

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler: Self = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.worker = f"{socket.gethostname()}:{os.getpid()}:{id(scheduler):x}"
        scheduler.outcome = "work"
        crawler.signals.connect(scheduler._on_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Spider) -> None:
        # scrapy-redis's own open() reports a resumed queue with Spider.log(), which
        # Scrapy 2.19 deprecates; the rest is the same.
        self.spider = spider
        name = {"spider": spider.name}
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=self.queue_key % name, serializer=self.serializer
        )
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        self.workers_key = (self.queue_key % name).removesuffix(":requests") + ":workers"
        self._pop = self.server.register_script(_POP)
        self._idle = self.server.register_script(_IDLE)
        self._refresh = self.server.register_script(_REFRESH)
        # Joining counts as holding requests: a worker still starting up keeps the others
        # from declaring the crawl over and removing the duplicate filter under it.
        self.server.hset(self.workers_key, self.worker, self.server.time()[0])
        self.refresher = task.LoopingCall(self._refresh_entry)
        self.refresher.start(WORKER_REFRESH_SECONDS, now=False)
        self.poller: task.LoopingCall | None = None
        log.info(
            "joined the distributed crawl %s (%d requests queued)",
            self.queue.key.removesuffix(":requests"),
            len(self.queue),
        )

    def enqueue_request(self, request: Request) -> bool:
        # scrapy-redis's, without the ``spider`` argument of inc_value (deprecated in 2.19).
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        data = self._pop(keys=[self.queue.key, self.workers_key], args=[self.worker])
        if not data:
            return None
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        request: Request = self.queue._decode_request(data)
        return request

    def _refresh_entry(self) -> None:
        try:
            self._refresh(keys=[self.workers_key], args=[self.worker])
        except RedisError as exc:
            log.warning("could not tell Redis this worker is alive: %s", exc)

    def _on_idle(self, spider: Spider) -> None:
        """Keep the spider open while other workers may still queue requests."""
        outcome = self._idle(
            keys=[self.queue.key, self.workers_key], args=[self.worker, WORKER_STALE_SECONDS]
        )
        self.outcome = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        if self.outcome == "done":
            return
        if self.stats:
            self.stats.inc_value("repwatch/distributed/waits")
        if self.poller is None:
            self.poller = task.LoopingCall(self._wake_if_queued)
            self.poller.start(IDLE_POLL_SECONDS, now=False)
        raise DontCloseSpider

    def _wake_if_queued(self) -> None:
        """Let the engine ask for requests, or see the crawl is over, now rather than at its
        next heartbeat (5 s)."""
        try:
            if not self.server.zcard(self.queue.key) and self.server.hlen(self.workers_key):
                return
        except RedisError as exc:
            log.warning("could not look at the shared queue: %s", exc)
            return
        slot = getattr(self.crawler.engine, "_slot", None)  # Scrapy keeps no public hook
        if slot is not None:
            slot.nextcall.schedule()

    def close(self, reason: str) -> None:
        for looping in (self.refresher, self.poller):
            if looping is not None and looping.running:
                looping.stop()
        if reason == "finished" and self.outcome == "done":
            # Every worker is done: remove the crawl so the next one starts afresh.
            self.server.delete(self.queue.key, self.df.key, self.workers_key)
            log.info("distributed crawl finished; removed its Redis keys")
        else:
            self.server.hdel(self.workers_key, self.worker)
            if reason != "finished":
                log.info("crawl stopped (%s); its queue stays in Redis to resume", reason)
        super().close(reason)


class SharedStartMiddleware:
    """Let only one worker schedule each start request, ``dont_filter`` ones included.

    Every worker runs its spider's ``start()``; requests the duplicate filter may see pass
    through it as usual, but ``dont_filter=True`` ones (the social spiders') bypass it and
    would be fetched by every worker. Their fingerprints are claimed here instead.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.server = connect(crawler.settings["REDIS_URL"])
        crawler.signals.connect(self.server.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        assert spider is not None
        key = self.crawler.settings["SCHEDULER_DUPEFILTER_KEY"] % {"spider": spider.name}
        fingerprinter = self.crawler.request_fingerprinter
        async for item in start:
            if isinstance(item, Request) and item.dont_filter:
                fingerprint = fingerprinter.fingerprint(item).hex()
                if not self.server.sadd(key, f"start:{fingerprint}"):
                    log.debug("start request %s is another worker's", item)
                    continue
            yield item


class WorkerRunLog(RunLog):
    """``RunLog`` of one worker: a run per source and process.

    A worker that finished cleanly without fetching a page of a source (the other workers
    fetched them) records the run "finished", not "failed".
    """

    def finish(self, crawlers: Any) -> dict[str, RunStatus]:
        statuses = super().finish(crawlers)
        fixed = {}
        for key, status in statuses.items():
            crawler = crawlers.get(key)
            if status != "failed" or crawler is None or crawler.stats is None:
                continue
            counts = source_counts(crawler, key)
            if crawler.stats.get_value("finish_reason") == "finished" and not counts.errors:
                fixed[key] = counts
        if fixed:
            with session_scope(self.engine) as session:
                for key, counts in fixed.items():
                    finish_run(session, self.run_ids[key], "finished", counts)
                    statuses[key] = "finished"
        return statuses
