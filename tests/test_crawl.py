"""Real crawls of fixture review sites served on 127.0.0.1, stored in SQLite and PostgreSQL.

Twisted's reactor runs once per process, so each crawl is ``python -m crawler.run`` in a
subprocess, as a scheduler would run it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from crawler.context import CRAWLED_KINDS, select_sources
from crawler.run import crawl
from crawler.settings import settings_from_config
from crawler.spiders import SPIDERS, spider_class
from repwatch.config import load_config
from repwatch.config_template import SourceEntry
from repwatch.errors import ConfigError
from repwatch.store import open_database, queries, session_scope
from repwatch.store.schema import MentionRow
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "fixtures" / "sites"
SLOW_PAGES = 20
SLOW_REVIEWS_PER_PAGE = 3
SLOW_SECONDS = 0.2


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    variant: str | None = None  # a directory of SITES whose files replace those of reviews/
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append(path)
        body = _slow_page(path) if path.startswith("/slow/") else self._file(path)
        if body is None:
            self.send_error(404)
            return
        kind = "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8"
        payload = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _file(self, path: str) -> str | None:
        relative = path.lstrip("/") or "index.html"
        if ".." in relative:
            return None
        for folder in (self.server.variant, "reviews"):
            if folder and (SITES / folder / relative).is_file():
                return (SITES / folder / relative).read_text(encoding="utf-8")
        return None


def _slow_page(path: str) -> str | None:
    """Page n of a generated site that answers slowly, to kill a crawl half way."""
    name = path.removeprefix("/slow/page").removesuffix(".html")
    if not name.isdigit() or not 1 <= int(name) <= SLOW_PAGES:
        return None
    n = int(name)
    time.sleep(SLOW_SECONDS)
    reviews = [
        {
            "@type": "Review",
            "@id": f"/slow/reviews/{n}-{i}",
            "reviewBody": f"Review {i} on page {n}.",
            "reviewRating": {"ratingValue": 1 + (n + i) % 5},
        }
        for i in range(SLOW_REVIEWS_PER_PAGE)
    ]
    data = json.dumps({"@context": "https://schema.org", "@type": "Product", "review": reviews})
    following = f'<link rel="next" href="/slow/page{n + 1}.html">' if n < SLOW_PAGES else ""
    return (
        f"<html><head>{following}<script type='application/ld+json'>{data}</script>"
        f"</head><body>page {n}</body></html>"
    )


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    server = _Site(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _base(site: _Site) -> str:
    return f"http://127.0.0.1:{site.server_address[1]}"


def _run(config_path: Path, db_url: str, *args: str) -> dict[str, Any]:
    """``python -m crawler.run`` in a subprocess; its summary."""
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "crawler.run", "--config", str(config_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url},
        check=False,
    )
    assert proc.returncode == 0, f"crawl failed:\n{proc.stderr[-5000:]}"
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["stderr"] = proc.stderr
    return summary


def _mentions(db_url: str) -> dict[str, MentionRow]:
    engine = open_database(db_url)
    try:
        with session_scope(engine) as session:
            rows = session.scalars(select(MentionRow)).all()
            assert session.scalar(select(func.count(func.distinct(MentionRow.external_id)))) == len(
                rows
            )
            return {row.external_id: row for row in rows}
    finally:
        engine.dispose()


def _two_brand_config(tmp_path: Path, site: _Site) -> Path:
    base = _base(site)
    config = write_config(
        tmp_path / "cfg",
        sources=(
            SourceEntry(
                "kestrel-site", "kestrel", f"{base}/kestrel/page1.html", allow_private=True
            ),
            SourceEntry("nimbus-site", "nimbus", f"{base}/nimbus/page1.html", allow_private=True),
        ),
    )
    return config.path


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.slow
def test_crawl_stores_reviews_once_and_updates_edits(tmp_path, site, db_url):
    config_path = _two_brand_config(tmp_path, site)
    base = _base(site)

    first = _run(config_path, db_url)

    stored = _mentions(db_url)
    k = f"{base}/kestrel/reviews/k"
    assert set(stored) == {
        *(f"{k}{i}" for i in range(1, 7)),
        f"{base}/nimbus/reviews/n1",
        f"{base}/nimbus/reviews/n3",
        "https://nimbus.example/r/n4",
        next(ext for ext in stored if ext.startswith("sha256:")),  # Mia's review has no id
    }
    k1 = stored[f"{k}1"]
    assert (k1.url, k1.title, k1.author, k1.language) == (
        f"{base}/kestrel/reviews/k1",
        "Fast delivery",
        "Anna B.",
        "en",
    )
    assert k1.text == "The sofa arrived two days early. The drivers carried it upstairs."
    assert (k1.rating, k1.published_at, k1.brand) == (1.0, _at(2026, 3, 1), "kestrel")
    assert (stored[f"{k}2"].rating, stored[f"{k}2"].published_at) == (0.0, _at(2026, 3, 2, 8, 30))
    assert (stored[f"{k}2"].author, stored[f"{k}2"].language) == ("Jonas K.", "de")
    assert (stored[f"{k}3"].rating, stored[f"{k}3"].published_at) == (0.5, None)
    assert (stored[f"{k}4"].language, stored[f"{k}4"].rating) == ("fr", 0.875)  # in <!-- -->
    assert stored[f"{k}4"].author == "Camille F."
    assert (stored[f"{k}5"].language, stored[f"{k}5"].rating) == ("es", 0.25)  # in @graph
    assert stored[f"{k}5"].published_at == _at(2026, 3, 5, 10)
    n1 = stored[f"{base}/nimbus/reviews/n1"]
    assert n1.rating == pytest.approx(7 / 9)
    assert (n1.brand, n1.author, n1.published_at) == ("nimbus", "Sam", _at(2026, 2, 10))
    n4 = stored["https://nimbus.example/r/n4"]
    assert (n4.url, n4.published_at) == (
        "https://nimbus.example/r/n4",
        _at(2026, 2, 13, 4, 30),
    )
    assert {m.language for m in stored.values()} == {"en", "de", "fr", "es", "nl", "it"}
    # 5 pages: robots.txt stops kestrel at /private/, nimbus's next link loops to page 1.
    # 12 reviews seen: one is empty, one repeats n1 on page 2; the broken block is an error.
    assert {key: first[key] for key in ("pages", "items_seen", "new", "updated", "errors")} == {
        "pages": 5,
        "items_seen": 12,
        "new": 10,
        "updated": 0,
        "errors": 1,
    }
    assert "JSON-LD block 1 of 2: not valid JSON" in first["stderr"]
    assert "crawled 5 pages, 10 reviews" in first["stderr"]

    # The first run was clean, so the second is incremental: page 1 of each source holds
    # only stored reviews (incremental_depth = 1), so neither goes on to page 2.
    second = _run(config_path, db_url)
    assert (second["pages"], second["new"], second["updated"], second["unchanged"]) == (
        2,
        0,
        0,
        5,
    )
    assert _mentions(db_url).keys() == stored.keys()

    site.variant = "edited"
    try:
        third = _run(config_path, db_url)
    finally:
        site.variant = None
    # Kestrel's page 1 has an edit, so its page 2 is read too (and holds nothing new).
    assert (third["pages"], third["new"], third["updated"], third["unchanged"]) == (3, 0, 1, 5)
    after = _mentions(db_url)
    assert after.keys() == stored.keys()
    assert after[f"{k}1"].id == k1.id
    assert after[f"{k}1"].text.endswith("Edited: one chair leg was loose.")
    assert after[f"{k}2"].text == stored[f"{k}2"].text


@pytest.mark.slow
def test_robots_txt_disallow_is_obeyed(tmp_path, site):
    db_url = f"sqlite:///{tmp_path / 'robots.db'}"
    config = write_config(
        tmp_path / "cfg",
        sources=(
            SourceEntry(
                "kestrel-site", "kestrel", f"{_base(site)}/kestrel/page1.html", allow_private=True
            ),
        ),
    )
    site.requests.clear()
    _run(config.path, db_url)
    assert not any(ext.startswith(f"{_base(site)}/private/") for ext in _mentions(db_url))
    assert "/private/page1.html" not in site.requests
    assert "/robots.txt" in site.requests

    # The same crawl told to ignore robots.txt does read the page, so the check above can fail.
    # (Into a fresh database: a second run into the first would be incremental.)
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text.replace("obey_robots_txt = true", "obey_robots_txt = false"))
    other = f"sqlite:///{tmp_path / 'robots-ignored.db'}"
    _run(config.path, other)
    assert f"{_base(site)}/private/reviews/p1" in _mentions(other)


def _count(db_path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM mentions").fetchone()[0])
    except sqlite3.OperationalError:  # not created or not migrated yet
        return 0


def _runs(db_path: Path) -> list[tuple[str, int]]:
    """(status, pages) of every crawl run, oldest first."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            rows = list(conn.execute("SELECT status, pages FROM crawl_runs ORDER BY id"))
    except sqlite3.OperationalError:  # not created or not migrated yet
        rows = []
    return rows or [("", 0)]


@pytest.mark.slow
def test_killed_crawl_resumes_without_duplicates(tmp_path, site):
    db_path = tmp_path / "kill.db"
    db_url = f"sqlite:///{db_path}"
    config = write_config(
        tmp_path / "cfg",
        sources=(
            SourceEntry("slow", "kestrel", f"{_base(site)}/slow/page1.html", allow_private=True),
        ),
    )
    expected = {
        f"{_base(site)}/slow/reviews/{n}-{i}"
        for n in range(1, SLOW_PAGES + 1)
        for i in range(SLOW_REVIEWS_PER_PAGE)
    }
    args = ["--set", "REPWATCH_BATCH_SIZE=2", "--set", "AUTOTHROTTLE_ENABLED=false"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.run", "--config", str(config.path), *args],
        cwd=ROOT,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(db_path) < 3 * SLOW_REVIEWS_PER_PAGE:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "no mentions stored within 60 s"
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no chance to flush or close anything
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    partial = _count(db_path)
    assert 0 < partial < len(expected)

    resumed = _run(config.path, db_url, *args)

    assert set(_mentions(db_url)) == expected
    assert (resumed["new"], resumed["unchanged"]) == (len(expected) - partial, partial)
    # The killed run could not close its record; the next crawl did.
    assert [status for status, _ in _runs(db_path)] == ["interrupted", "finished"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_crawl_resumes_from_its_saved_state(tmp_path, site, signum):
    db_path = tmp_path / "interrupted.db"
    db_url = f"sqlite:///{db_path}"
    config = write_config(
        tmp_path / "cfg",
        sources=(
            SourceEntry("slow", "kestrel", f"{_base(site)}/slow/page1.html", allow_private=True),
        ),
    )
    pages = [f"/slow/page{n}.html" for n in range(1, SLOW_PAGES + 1)]
    args = ["--set", "REPWATCH_BATCH_SIZE=2", "--set", "AUTOTHROTTLE_ENABLED=false"]
    updates = ["--set", "REPWATCH_RUN_UPDATE_SECONDS=0.2"]  # run rows show live counts
    site.requests.clear()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.run", "--config", str(config.path), *args, *updates],
        cwd=ROOT,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(db_path) < 3 * SLOW_REVIEWS_PER_PAGE or _runs(db_path)[-1][1] == 0:
            assert proc.poll() is None, "the crawl ended before it could be interrupted"
            assert time.monotonic() < deadline, "no mentions stored within 60 s"
            time.sleep(0.02)
        assert _runs(db_path)[-1][0] == "running"
        proc.send_signal(signum)  # Ctrl-C or a service manager's stop: a graceful shutdown
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert json.loads(out.strip().splitlines()[-1])["interrupted"] is True
    partial = _count(db_path)
    assert 0 < partial < SLOW_PAGES * SLOW_REVIEWS_PER_PAGE
    fetched_first = [p for p in site.requests if p.startswith("/slow/")]
    saved = list(config.crawl_state_dir.iterdir())
    assert len(saved) == 1  # the JOBDIR of the interrupted crawl

    resumed = _run(config.path, db_url, *args)

    # JOBDIR's queue and duplicate filter: every page fetched once over both runs.
    assert sorted(p for p in site.requests if p.startswith("/slow/")) == sorted(pages)
    assert len(fetched_first) < len(pages)
    assert len(_mentions(db_url)) == SLOW_PAGES * SLOW_REVIEWS_PER_PAGE
    assert (resumed["new"], resumed["unchanged"]) == (
        SLOW_PAGES * SLOW_REVIEWS_PER_PAGE - partial,
        0,
    )
    assert not saved[0].exists()  # a finished crawl removes its state
    assert [status for status, _ in _runs(db_path)] == ["interrupted", "finished"]


def test_unknown_source_names_the_valid_ones(tmp_path, site):
    config = write_config(
        tmp_path, sources=(SourceEntry("shop", "kestrel", _base(site), allow_private=True),)
    )
    with pytest.raises(ConfigError, match=r"Unknown source 'nope'; expected one of shop "):
        crawl(config, ["nope"])


def test_config_without_sources_says_how_to_add_one(tmp_path):
    config = write_config(tmp_path)
    with pytest.raises(ConfigError, match=r"has no sources to crawl\. Add a \[sources\.<key>\]"):
        crawl(config)


def test_private_address_needs_allow_private(tmp_path, site):
    config = write_config(tmp_path, sources=(SourceEntry("shop", "kestrel", _base(site)),))
    with pytest.raises(ConfigError) as raised:
        crawl(config)
    assert str(raised.value) == (
        f"[sources.shop] url {_base(site)} points at the private address 127.0.0.1. "
        "If this is a local test site, set allow_private = true in [sources.shop]."
    )


def test_metadata_address_is_refused_even_with_allow_private(tmp_path):
    url = "http://169.254.169.254/latest/meta-data/"
    config = write_config(
        tmp_path, sources=(SourceEntry("cloud", "kestrel", url, allow_private=True),)
    )
    with pytest.raises(ConfigError) as raised:
        crawl(config)
    assert str(raised.value) == (
        f"[sources.cloud] url {url} points at 169.254.169.254, a cloud metadata address; "
        "repwatch never fetches from it, even with allow_private = true."
    )


def test_every_source_kind_has_a_spider_and_missing_ones_are_refused_clearly():
    assert set(SPIDERS) == set(CRAWLED_KINDS)
    assert spider_class("reviews").__name__ == "JsonLdReviewSpider"
    assert spider_class("sitemap").__name__ == "SitemapReviewSpider"
    missing = {"feed": "crawler.spiders.no_such_module.FeedSpider"}
    with pytest.raises(ConfigError) as raised:
        spider_class("feed", missing)
    assert str(raised.value) == (
        "Sources of kind 'feed' cannot be crawled: crawler.spiders.no_such_module is not part "
        "of this installation. Remove those sources from the config (or crawl the others with "
        "--source), or install a repwatch version that has it."
    )
    with pytest.raises(ConfigError, match=r"has no NoSuchSpider\.$"):
        spider_class("reviews", {"reviews": "crawler.spiders.jsonld_reviews.NoSuchSpider"})


def test_scrapy_settings_come_from_the_config(tmp_path):
    extra = "download_delay = 3.0\nconcurrency = 1\n"
    config = write_config(
        tmp_path,
        sources=(SourceEntry("shop", "kestrel", "https://Reviews.Example/kestrel"),),
    )
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text.replace("[sources.shop]\n", "[sources.shop]\n" + extra))
    config = load_config(config.path)
    settings = settings_from_config(config, select_sources(config, None))
    assert settings["USER_AGENT"] == "repwatch/0.1 (+https://github.com/repwatch/repwatch)"
    assert (settings["ROBOTSTXT_OBEY"], settings["DOWNLOAD_DELAY"]) == (True, 0.0)
    assert settings["DOWNLOAD_MAXSIZE"] == 10 * 1024 * 1024
    assert settings["DOWNLOAD_SLOTS"] == {"reviews.example": {"delay": 3.0, "concurrency": 1}}


def test_a_paused_source_is_not_crawled(tmp_path, site):
    db_url = f"sqlite:///{tmp_path / 'paused.db'}"
    base = _base(site)
    config = write_config(
        tmp_path / "cfg",
        sources=(
            SourceEntry(
                "kestrel-site", "kestrel", f"{base}/kestrel/page1.html", allow_private=True
            ),
            SourceEntry("nimbus-site", "nimbus", f"{base}/nimbus/page1.html", allow_private=True),
        ),
    )
    engine = open_database(db_url)
    with session_scope(engine) as s:
        queries.set_source_paused(
            s, key="nimbus-site", kind="reviews", brand="nimbus",
            url=f"{base}/nimbus/page1.html", paused=True, actor="ada",
        )  # fmt: skip
    engine.dispose()
    site.requests.clear()
    summary = _run(config.path, db_url)
    assert "Source 'nimbus-site' is paused (by ada since" in summary["stderr"]
    assert not any(path.startswith("/nimbus/") for path in site.requests)
    assert {m.brand for m in _mentions(db_url).values()} == {"kestrel"}

    named = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--config", str(config.path), "--source",
         "nimbus-site"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url},
    )  # fmt: skip
    assert named.returncode == 2
    assert "an admin resumes it on the dashboard's Sources page" in named.stderr
