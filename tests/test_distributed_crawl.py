"""Distributed crawling: two crawler processes share one crawl through a real Redis server.

The site is generated here and served on 127.0.0.1 with a hit counter per path; both
processes write into one PostgreSQL database of the test's own, and the Redis keys carry
a prefix of the test's own, removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import func, select

from crawler.distributed import crawl_prefix, distributed_settings
from crawler.run import crawl
from repwatch.config import Config, load_config
from repwatch.config_template import SourceEntry, render_config
from repwatch.errors import ConfigError, RepwatchError
from repwatch.store import open_database, session_scope
from repwatch.store.schema import CrawlRunRow, MentionRow, SourceRow
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REPWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SITEMAP_PAGES = 120  # listed by a sitemap: many requests queued at once
CHAIN_PAGES = 30  # linked by rel="next": one request at a time, handed between processes
REVIEWS_PER_PAGE = 2
FEED_ITEMS = 3  # an RSS feed: the feed spider's requests are dont_filter=True
PAGE_SECONDS = 0.02  # so that the crawl lasts long enough for both processes to join
# The first answer of each source is slow: a worker that starts a second or two after the
# other (two cores, both importing Scrapy) must still find every source's crawl running, as
# a worker that comes after a crawl has ended starts a new one (README: distributed crawling).
FIRST_SECONDS = 3.0
FIRST_PATHS = ("/feed.xml", "/sitemap.xml", "/chain/1.html")


def _page(prefix: str, n: int, following: str | None) -> str:
    reviews = [
        {
            "@type": "Review",
            "@id": f"/{prefix}/reviews/{n}-{i}",
            "reviewBody": f"Review {i} on {prefix} page {n}: the kettle broke after a week.",
            "reviewRating": {"ratingValue": 1 + (n + i) % 5},
        }
        for i in range(REVIEWS_PER_PAGE)
    ]
    data = json.dumps({"@context": "https://schema.org", "@type": "Product", "review": reviews})
    link = f'<link rel="next" href="{following}">' if following else ""
    return (
        f"<html><head>{link}<script type='application/ld+json'>{data}</script>"
        f"</head><body>{prefix} page {n}</body></html>"
    )


def _body(path: str) -> tuple[str, str] | None:
    """(content type, body) of a path of the generated site; ``None``: 404."""
    if path == "/robots.txt":
        return "text/plain", "User-agent: *\nAllow: /\n"
    if path == "/feed.xml":
        items = "".join(
            f"<item><title>Kestrel kettle {n}</title><link>/news/{n}.html</link>"
            f"<guid>/news/{n}.html</guid><description>Kestrel kettle {n} leaks.</description>"
            "</item>"
            for n in range(1, FEED_ITEMS + 1)
        )
        return "application/rss+xml", f"<rss version='2.0'><channel>{items}</channel></rss>"
    if path == "/sitemap.xml":
        urls = "".join(
            f"<url><loc>/listed/{n}.html</loc></url>" for n in range(1, SITEMAP_PAGES + 1)
        )
        xmlns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return "application/xml", f'<?xml version="1.0"?><urlset xmlns="{xmlns}">{urls}</urlset>'
    for prefix, last in (("listed", SITEMAP_PAGES), ("chain", CHAIN_PAGES)):
        name = path.removeprefix(f"/{prefix}/").removesuffix(".html")
        if path.startswith(f"/{prefix}/") and name.isdigit() and 1 <= int(name) <= last:
            n = int(name)
            following = f"/chain/{n + 1}.html" if prefix == "chain" and n < last else None
            return "text/html; charset=utf-8", _page(prefix, n, following)
    return None


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        with self.server.lock:
            self.server.hits[path] += 1
        found = _body(path)
        if found is None:
            self.send_error(404)
            return
        if path in FIRST_PATHS:
            time.sleep(FIRST_SECONDS)
        elif path.endswith(".html"):
            time.sleep(PAGE_SECONDS)
        kind, text = found
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[_Site]:
    server = _Site(("127.0.0.1", 0), _Handler)
    server.hits = Counter()
    server.lock = threading.Lock()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    prefix = f"repwatch-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def _config(directory: Path, base: str, prefix: str) -> Config:
    sources = (SourceEntry("kestrel-chain", "kestrel", f"{base}/chain/1.html", allow_private=True),)
    config = write_config(
        directory,
        sources=sources,
        extra=(
            "\n[sources.kestrel-sitemap]\n"
            'kind = "sitemap"\nbrand = "kestrel"\n'
            f'url = "{base}/sitemap.xml"\nmax_pages = 500\nallow_private = true\n'
            f'\n[sources.news]\nkind = "feed"\nurl = "{base}/feed.xml"\nallow_private = true\n'
        ),
    )
    text = config.path.read_text(encoding="utf-8")
    text = text.replace('# redis_url = "redis://127.0.0.1:6379/0"', f'redis_url = "{REDIS_URL}"')
    text = text.replace('redis_key_prefix = "repwatch"', f'redis_key_prefix = "{prefix}"')
    config.path.write_text(text, encoding="utf-8")
    return load_config(config.path)


def _expected_pages() -> set[str]:
    listed = {f"/listed/{n}.html" for n in range(1, SITEMAP_PAGES + 1)}
    chain = {f"/chain/{n}.html" for n in range(1, CHAIN_PAGES + 1)}
    return listed | chain | {"/sitemap.xml", "/feed.xml"}


def _start(config: Config, db_url: str, log: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "REPWATCH_DATABASE_URL": db_url}
    env.pop("REPWATCH_REDIS_URL", None)  # the config file's redis_url is what is tested
    with log.open("w", encoding="utf-8") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "crawler.run", "--config", str(config.path), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )


def _summaries(procs: list[subprocess.Popen[str]], logs: list[Path]) -> list[dict[str, Any]]:
    out = []
    for proc, log in zip(procs, logs, strict=True):
        try:
            stdout, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr = log.read_text(encoding="utf-8")
        assert proc.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


@pytest.mark.slow
def test_two_processes_share_one_crawl_and_fetch_each_page_once(
    tmp_path, site, pg_url, redis_prefix
):
    base = f"http://127.0.0.1:{site.server_port}"
    config = _config(tmp_path / "cfg", base, redis_prefix)
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    started = time.monotonic()
    procs = [_start(config, pg_url, log) for log in logs]
    summaries = _summaries(procs, logs)
    seconds = time.monotonic() - started

    expected = _expected_pages()
    pages = {path: n for path, n in site.hits.items() if path != "/robots.txt"}
    assert set(pages) == expected
    twice = sorted(path for path, n in pages.items() if n != 1)
    assert not twice, f"fetched more than once: {twice}"
    assert site.hits["/robots.txt"] <= 6  # each spider of each process asks for it once
    # Both processes did part of the crawl, and together exactly all of it.
    assert all(s["pages"] > 0 for s in summaries), summaries
    assert sum(s["pages"] for s in summaries) == len(expected)
    mentions = (SITEMAP_PAGES + CHAIN_PAGES) * REVIEWS_PER_PAGE + FEED_ITEMS
    assert sum(s["new"] for s in summaries) == mentions
    print(
        f"2 workers: {len(expected)} pages in {seconds:.1f}s, "
        f"split {[s['pages'] for s in summaries]}"
    )

    engine = open_database(pg_url)
    try:
        with session_scope(engine) as session:
            stored = session.scalars(select(MentionRow.external_id)).all()
            runs = session.execute(
                select(SourceRow.key, CrawlRunRow.status, CrawlRunRow.pages)
                .join(SourceRow, SourceRow.id == CrawlRunRow.source_id)
                .order_by(SourceRow.key, CrawlRunRow.id)
            ).all()
            sources = session.scalar(select(func.count()).select_from(SourceRow))
    finally:
        engine.dispose()
    assert len(stored) == len(set(stored)) == mentions
    assert sources == 3
    # One run per source and process, each finished; their pages add up to the crawl's.
    assert [(key, status) for key, status, _ in runs] == [
        ("kestrel-chain", "finished"),
        ("kestrel-chain", "finished"),
        ("kestrel-sitemap", "finished"),
        ("kestrel-sitemap", "finished"),
        ("news", "finished"),
        ("news", "finished"),
    ]
    assert sum(n for key, _, n in runs if key == "kestrel-chain") == CHAIN_PAGES
    assert sum(n for key, _, n in runs if key == "kestrel-sitemap") == SITEMAP_PAGES + 1
    assert sum(n for key, _, n in runs if key == "news") == 1
    # The last process to finish removed the crawl's keys: the next crawl starts afresh.
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(match=f"{redis_prefix}:*")) == []
    finally:
        client.close()


def test_redis_url_is_validated_with_an_exact_message(tmp_path):
    config = write_config(tmp_path)
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(
        text.replace('# redis_url = "redis://127.0.0.1:6379/0"', 'redis_url = "http://cache:6379"'),
        encoding="utf-8",
    )
    line = next(
        n
        for n, raw in enumerate(config.path.read_text(encoding="utf-8").splitlines(), 1)
        if raw.startswith("redis_url")
    )
    with pytest.raises(ConfigError) as excinfo:
        load_config(config.path)
    assert str(excinfo.value) == (
        f"repwatch.toml:{line} [crawl]: 'http://cache:6379' is not a Redis URL; "
        "expected e.g. redis://127.0.0.1:6379/0"
    )


def test_redis_url_comes_from_the_environment_first(tmp_path, monkeypatch):
    monkeypatch.delenv("REPWATCH_REDIS_URL", raising=False)
    config = write_config(tmp_path)
    assert config.redis_url is None  # not distributed unless asked for
    assert "# redis_url = " in render_config()  # documented in the file repwatch init writes
    monkeypatch.setenv("REPWATCH_REDIS_URL", "redis://cache.internal:6379/3")
    assert config.redis_url == "redis://cache.internal:6379/3"


def test_crawls_of_other_databases_or_sources_use_other_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("REPWATCH_REDIS_URL", REDIS_URL)
    config = write_config(tmp_path)
    prefix = crawl_prefix(config, ["a", "b"])
    assert prefix.startswith("repwatch:")
    assert crawl_prefix(config, ["b", "a"]) == prefix
    assert crawl_prefix(config, ["a"]) != prefix
    monkeypatch.setenv("REPWATCH_DATABASE_URL", "postgresql+psycopg://u:secret@db/other")
    assert crawl_prefix(config, ["a", "b"]) != prefix
    settings = distributed_settings(config, ["a", "b"], {})
    assert settings["SCHEDULER_QUEUE_KEY"].startswith(crawl_prefix(config, ["a", "b"]))
    assert settings["SCHEDULER_PERSIST"] is True


def test_jobdir_is_refused_in_a_distributed_crawl(tmp_path, monkeypatch):
    monkeypatch.setenv("REPWATCH_REDIS_URL", REDIS_URL)
    config = write_config(tmp_path)
    with pytest.raises(ConfigError) as excinfo:
        distributed_settings(config, ["a"], {"JOBDIR": "state"})
    assert str(excinfo.value) == (
        "JOBDIR does not apply to a distributed crawl (Redis keeps its queue); drop "
        "--set JOBDIR, or unset [crawl] redis_url and REPWATCH_REDIS_URL to crawl alone"
    )


def test_an_unreachable_redis_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REPWATCH_REDIS_URL", "redis://127.0.0.1:1/0")
    config = write_config(
        tmp_path,
        sources=(SourceEntry("shop", "kestrel", "http://127.0.0.1:9/", allow_private=True),),
    )
    with pytest.raises(RepwatchError) as excinfo:
        crawl(config)
    assert str(excinfo.value).startswith("Cannot reach Redis at redis://127.0.0.1:1/0 for the")
    assert str(excinfo.value).endswith(
        "Start it, or fix [crawl] redis_url (or REPWATCH_REDIS_URL); unset both to crawl alone."
    )


@pytest.mark.slow
def test_an_interrupted_distributed_crawl_resumes_from_redis(tmp_path, site, pg_url, redis_prefix):
    base = f"http://127.0.0.1:{site.server_port}"
    config = _config(tmp_path / "cfg", base, redis_prefix)
    # One source, so no spider of the crawl can finish (and start afresh) before Ctrl-C.
    only = ("--source", "kestrel-sitemap")
    first = _start(config, pg_url, tmp_path / "first.log", *only)
    try:
        deadline = time.monotonic() + 60
        while sum(n for path, n in site.hits.items() if path.startswith("/listed/")) < 20:
            assert first.poll() is None, "the crawl ended before it could be interrupted"
            assert time.monotonic() < deadline, "no pages fetched within 60 s"
            time.sleep(0.01)
        first.send_signal(signal.SIGINT)  # Ctrl-C: Scrapy's graceful shutdown
        (interrupted,) = _summaries([first], [tmp_path / "first.log"])
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert interrupted["interrupted"] is True
    client = redis.Redis.from_url(REDIS_URL)
    try:
        queued = sum(
            client.zcard(key) for key in client.scan_iter(match=f"{redis_prefix}:*:requests")
        )
        assert queued > 0  # the rest of the crawl waits in Redis, not in JOBDIR
        assert not config.crawl_state_dir.exists()

        (resumed,) = _summaries(
            [_start(config, pg_url, tmp_path / "second.log", *only)], [tmp_path / "second.log"]
        )
        assert list(client.scan_iter(match=f"{redis_prefix}:*")) == []
    finally:
        client.close()

    pages = {path: n for path, n in site.hits.items() if path != "/robots.txt"}
    assert set(pages) == {f"/listed/{n}.html" for n in range(1, SITEMAP_PAGES + 1)} | {
        "/sitemap.xml"
    }
    twice = sorted(path for path, n in pages.items() if n != 1)
    assert not twice, f"fetched more than once: {twice}"
    joined = re.search(
        r"joined the distributed crawl \S+ \((\d+) requests queued\)",
        (tmp_path / "second.log").read_text("utf-8"),
    )
    assert joined is not None
    assert int(joined.group(1)) == queued
    assert interrupted["pages"] > 0
    assert resumed["pages"] > 0
    assert interrupted["new"] + resumed["new"] == SITEMAP_PAGES * REVIEWS_PER_PAGE
