"""Crawl state on disk (Scrapy's JOBDIR), so an interrupted crawl resumes where it stopped.

Each crawl of a set of sources keeps its state in ``<state_dir>/<hash of the source
keys>/<spider name>/``: Scrapy's request queues, its duplicate filter and the spider's
``state``. A crawl that ends normally removes it. One stopped by Ctrl-C or SIGTERM
(Scrapy's graceful shutdown saves the queues) leaves it, and the next crawl of the same
sources resumes from it. One killed outright (SIGKILL, power cut) cannot have saved its
queues consistently: the ``running.pid`` marker it leaves tells the next crawl to start
over instead (the database makes that safe: nothing is stored twice).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.squeues import PickleLifoDiskQueue

from repwatch.config import Config
from repwatch.errors import RepwatchError

log = logging.getLogger(__name__)
MARKER = "running.pid"


class CrawlBusy(RepwatchError):
    """Another crawl of the same sources is running."""


def job_root(config: Config, source_keys: Iterable[str]) -> Path:
    """The state folder of a crawl of exactly these sources."""
    digest = hashlib.sha256(",".join(sorted(set(source_keys))).encode("utf-8")).hexdigest()
    return config.crawl_state_dir / digest[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class CrawlJob:
    """The state folder of one crawl: claimed at the start, released at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marker = root / MARKER

    def claim(self) -> bool:
        """Take the folder for this process; ``True`` when saved state will be resumed.

        Raises ``CrawlBusy`` when a live process holds it.
        """
        if self.marker.exists():
            try:
                pid = int(self.marker.read_text(encoding="utf-8").strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise CrawlBusy(
                    f"Another crawl of these sources is running (process {pid}); wait for it "
                    f"to end or stop it. If no such crawl runs, remove {self.marker}."
                )
            log.warning(
                "the previous crawl of these sources was killed; its saved state (%s) cannot "
                "be trusted, starting over (nothing will be stored twice)",
                self.root,
            )
            shutil.rmtree(self.root, ignore_errors=True)
        resuming = self.root.is_dir() and any(p.is_dir() for p in self.root.iterdir())
        if resuming:
            log.info("resuming the interrupted crawl saved in %s", self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(str(os.getpid()), encoding="utf-8")
        return resuming

    def spider_dir(self, spider_name: str) -> Path:
        """The JOBDIR of one spider of the crawl."""
        return self.root / spider_name

    def release(self, reasons: Mapping[str, str | None]) -> None:
        """End the claim, given each spider's finish reason (``None``: did not close).

        Finished spiders' state is removed; state saved by a graceful shutdown is kept
        for the next crawl; after an unclean end the marker stays (start over next time).
        """
        if any(reason not in ("finished", "shutdown") for reason in reasons.values()):
            log.warning("the crawl did not close cleanly; the next one starts over")
            self.marker.unlink(missing_ok=True)
            shutil.rmtree(self.root, ignore_errors=True)
            return
        for name, reason in reasons.items():
            if reason == "finished":
                shutil.rmtree(self.spider_dir(name), ignore_errors=True)
        self.marker.unlink(missing_ok=True)
        if any(self.root.iterdir()):
            log.info("crawl interrupted; run it again to resume from %s", self.root)
        else:
            self.root.rmdir()


def _method_name(spider: Spider, func: Callable[..., Any] | None) -> str | None:
    """The name of the spider method ``func``; ``None`` for no callback."""
    if func is None:
        return None
    name = getattr(func, "__name__", "")
    bound = getattr(spider, name, None)
    if getattr(bound, "__func__", None) is not getattr(func, "__func__", func):
        raise ValueError(f"{func!r} is not a method of {spider!r}; requests on disk need one")
    return name


def request_dict(request: Request, spider: Spider) -> dict[str, Any]:
    """``request.to_dict(spider=spider)``, without scanning every spider member per request.

    Scrapy finds a callback's name by ``inspect.getmembers`` on the spider, which cost a
    quarter of a crawl's CPU time when a sitemap queued thousands of pages.
    """
    d: dict[str, Any] = {
        "url": request.url,
        "callback": _method_name(spider, request.callback),
        "errback": _method_name(spider, request.errback),
        "headers": dict(request.headers),
    }
    for attr in request.attributes:
        d.setdefault(attr, getattr(request, attr))
    if type(request) is not Request:
        d["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    return d


class FastPickleLifoDiskQueue(PickleLifoDiskQueue):  # type: ignore[misc,valid-type]
    """Scrapy's default disk queue (``SCHEDULER_DISK_QUEUE``) with ``request_dict``."""

    def push(self, request: Request) -> None:
        # Skip ScrapyRequestQueue.push (Scrapy's slow to_dict); its parent pickles the dict.
        super(PickleLifoDiskQueue, self).push(  # type: ignore[misc]
            request_dict(request, self.spider)
        )
