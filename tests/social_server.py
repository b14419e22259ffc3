"""A local stand-in for feed hosts, a Mastodon instance, Reddit and HN's Algolia API.

Also the helpers of the tests that crawl it: ``run_crawl`` (``python -m crawler.run`` in a
subprocess) and ``stored`` (mentions, crawl errors and cursors in the database).

It serves the fixtures in tests/fixtures/api/ in the shapes the real services use, and
paginates them as they do: Mastodon with ``max_id``/``min_id``/``since_id`` and ``Link``
headers, Reddit listings with ``after``, Algolia with ``page``/``nbPages`` and
``numericFilters``. Page sizes are capped at ``page_cap`` (the real services cap at 40,
100 and 1000) so a few fixtures make several pages. Items marked ``"_phase": 2`` appear
only once ``phase`` is 2: posts written between two crawls.

``script`` replaces chosen answers: a list of ``(parts, Reply)``; a request whose path and
query contain every string of ``parts`` gets the first such reply, ``times`` times (every
time when ``None``), then the next one or the normal answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from repwatch.store import open_database, session_scope
from repwatch.store.schema import CrawlErrorRow, CrawlRunRow, MentionRow, SourceRow

ROOT = Path(__file__).resolve().parent.parent
API = Path(__file__).resolve().parent / "fixtures" / "api"
# A third brand (besides conftest's Kestrel and Nimbus): accented, other scripts, exclusions.
LUMIERE = """
[brands.lumiere]
name = "Lumière"
aliases = ["Люмьер", "ルミエール"]
competitor = true
exclude = ["frères lumière", "lumière du jour"]
"""
FEED_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rdf": "application/rdf+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    times: int | None = 1  # None: every time


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Services(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.phase = 1
        self.page_cap = 3
        self.token: str | None = None  # Mastodon search needs this Bearer token when set
        self.script: list[tuple[tuple[str, ...], Reply]] = []
        self.requests: list[str] = []  # path?query of every request, in order
        self.times: list[float] = []  # when each request came (time.monotonic)
        self.lock = threading.Lock()
        self.statuses: list[dict[str, Any]] = _load(API / "mastodon" / "statuses.json")
        self.accounts: list[dict[str, Any]] = _load(API / "mastodon" / "accounts.json")
        self.listings: dict[str, list[dict[str, Any]]] = _load(API / "reddit" / "listings.json")
        self.hits: list[dict[str, Any]] = _load(API / "hn" / "hits.json")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def visible(self, item: dict[str, Any]) -> bool:
        return int(item.get("_phase", 1)) <= self.phase

    def requested(self, prefix: str) -> list[str]:
        """Requests whose path starts with ``prefix``."""
        with self.lock:
            return [r for r in self.requests if r.startswith(prefix)]

    def requested_at(self, prefix: str) -> list[float]:
        """When the requests whose path starts with ``prefix`` came."""
        with self.lock:
            return [
                t for r, t in zip(self.requests, self.times, strict=True) if r.startswith(prefix)
            ]

    def forget_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.times.clear()


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server: Services

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append(self.path)
            self.server.times.append(time.monotonic())
            reply = None
            for index, (wanted, candidate) in enumerate(self.server.script):
                if all(part in self.path for part in wanted):
                    reply = candidate
                    if reply.times is not None:
                        reply.times -= 1
                        if reply.times <= 0:
                            self.server.script.pop(index)
                    break
        if reply is not None:
            self._send(reply.status, reply.body, "application/json", reply.headers)
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /forbidden/\n", "text/plain")
        elif path.startswith("/feeds/"):
            self._feed(path.removeprefix("/feeds/"))
        elif path.startswith("/mastodon/"):
            self._mastodon(path.removeprefix("/mastodon"), query)
        elif path.startswith("/reddit/"):
            self._reddit(path.removeprefix("/reddit"), query)
        elif path == "/hn/search_by_date":
            self._algolia(query)
        else:
            self._send(404, b'{"error": "Not found"}')

    def _send(
        self,
        status: int,
        body: bytes,
        kind: str = "application/json; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self._send(200, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _feed(self, name: str) -> None:
        path = API / "feeds" / name
        if "/" in name or ".." in name or not path.is_file():
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, path.read_bytes(), FEED_TYPES.get(path.suffix, "application/xml"))

    # -- Mastodon ------------------------------------------------------------------

    def _limit(self, query: dict[str, str], default: int) -> int:
        try:
            wanted = int(query.get("limit", default))
        except ValueError:
            wanted = default
        return max(1, min(wanted, self.server.page_cap))

    def _timeline(self, name: str) -> list[dict[str, Any]]:
        items = [
            s for s in self.server.statuses if self.server.visible(s) and (name in s["_timelines"])
        ]
        return sorted(items, key=lambda s: int(s["id"]), reverse=True)

    def _paginate_ids(
        self, items: list[dict[str, Any]], query: dict[str, str], *, search: bool = False
    ) -> list[Any]:
        """Mastodon's rules: max_id/since_id bound, min_id gives the oldest page after it.

        In search, min_id is a bound like since_id (StatusesSearchService's range filter).
        """
        limit = self._limit(query, 20)
        if "max_id" in query:
            items = [s for s in items if int(s["id"]) < int(query["max_id"])]
        for bound in ("since_id", "min_id") if search else ("since_id",):
            if bound in query:
                items = [s for s in items if int(s["id"]) > int(query[bound])]
        if "min_id" in query and not search:
            newer = [s for s in items if int(s["id"]) > int(query["min_id"])]
            return newer[-limit:]  # the page just after min_id, still newest first
        return items[:limit]

    def _mastodon(self, path: str, query: dict[str, str]) -> None:
        base = f"{self.server.base}/mastodon"
        if path == "/api/v1/accounts/lookup":
            acct = query.get("acct", "")
            found = [a for a in self.server.accounts if acct in (a["acct"], a["username"])]
            if found:
                self._json(found[0])
            else:
                self._send(404, b'{"error": "Record not found"}')
            return
        if path == "/api/v2/search":
            if self.server.token and self.headers.get("Authorization") != (
                f"Bearer {self.server.token}"
            ):
                self._send(401, b'{"error": "The access token is invalid"}')
                return
            needle = query.get("q", "").casefold()
            items = [s for s in self._timeline("search") if needle in s["content"].casefold()]
            page = self._paginate_ids(items, query, search=True)
            self._json({"accounts": [], "statuses": [_public(s) for s in page], "hashtags": []})
            return
        if path.startswith("/api/v1/timelines/tag/"):
            name = "tag:" + path.rsplit("/", 1)[1].casefold()
        elif path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            name = "account:" + path.split("/")[4]
        else:
            self._send(404, b'{"error": "Record not found"}')
            return
        page = self._paginate_ids(self._timeline(name), query)
        links = []
        if page:  # Mastodon keeps "limit" in its links and sets max_id or min_id
            keep = {"limit": query["limit"]} if "limit" in query else {}
            older = urlencode({**keep, "max_id": page[-1]["id"]})
            newer = urlencode({**keep, "min_id": page[0]["id"]})
            links.append(f'<{base}{path}?{older}>; rel="next"')
            links.append(f'<{base}{path}?{newer}>; rel="prev"')
        headers = (("Link", ", ".join(links)),) if links else ()
        self._json([_public(s) for s in page], headers)

    # -- Reddit --------------------------------------------------------------------

    def _reddit(self, path: str, query: dict[str, str]) -> None:
        if path == "/search.json":
            needle = query.get("q", "").strip('"').casefold()
            children = [
                c
                for c in self.server.listings["search"]
                if needle in (c["data"].get("title", "") + c["data"].get("selftext", "")).casefold()
            ]
        elif path.startswith("/r/") and path.endswith(".json"):
            children = self.server.listings.get(path.removeprefix("/").removesuffix(".json"), [])
        else:
            self._send(404, b'{"message": "Not Found", "error": 404}')
            return
        children = sorted(
            (c for c in children if self.server.visible(c)),
            key=lambda c: c["data"]["created_utc"],
            reverse=True,
        )
        if "after" in query:
            names = [c["data"]["name"] for c in children]
            start = names.index(query["after"]) + 1 if query["after"] in names else len(names)
            children = children[start:]
        limit = self._limit(query, 25)
        page, rest = children[:limit], children[limit:]
        after = page[-1]["data"]["name"] if page and rest else None
        listing = {
            "kind": "Listing",
            "data": {
                "after": after,
                "dist": len(page),
                "modhash": "",
                "geo_filter": None,
                "children": [_public(c) for c in page],
                "before": None,
            },
        }
        self._json(listing)

    # -- Algolia (HN) --------------------------------------------------------------

    def _algolia(self, query: dict[str, str]) -> None:
        needle = query.get("query", "").casefold()
        fields = ("title", "story_text", "comment_text", "story_title")
        hits = [
            h
            for h in self.server.hits
            if self.server.visible(h)
            and needle in " ".join(str(h.get(f) or "") for f in fields).casefold()
        ]
        bound = query.get("numericFilters", "")
        if bound.startswith("created_at_i>"):
            hits = [h for h in hits if h["created_at_i"] > int(bound.split(">", 1)[1])]
        hits.sort(key=lambda h: h["created_at_i"], reverse=True)
        size = max(1, min(int(query.get("hitsPerPage", 20)), self.server.page_cap))
        page = int(query.get("page", 0))
        pages = (len(hits) + size - 1) // size
        self._json(
            {
                "hits": [_public(h) for h in hits[page * size : (page + 1) * size]],
                "nbHits": len(hits),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": size,
                "exhaustiveNbHits": True,
                "query": query.get("query", ""),
                "params": urlencode(query),
                "processingTimeMS": 1,
            }
        )


def source_tables(base: str) -> str:
    """The Mastodon, Reddit and Hacker News sources of the stand-in at ``base``."""
    return f"""
[sources.masto]
kind = "mastodon"
url = "{base}/mastodon"
allow_private = true
hashtags = ["#kestrel"]
accounts = ["@kestrelhome"]
queries = ["Nimbus", "ルミエール"]

[sources.reddit]
kind = "reddit"
url = "{base}/reddit"
allow_private = true
subreddits = ["homegoods"]
queries = ["Lumière"]

[sources.hn]
kind = "hackernews"
url = "{base}/hn"
allow_private = true
"""


@contextmanager
def running_services() -> Iterator[Services]:
    """The services on a free port of 127.0.0.1, shut down afterwards."""
    server = Services()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_crawl(
    config_path: Path, db_url: str, *settings: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """``python -m crawler.run`` in a subprocess (one reactor per process); its summary.

    ``settings`` are ``NAME=VALUE`` Scrapy settings; retries back off 50 ms, not 1 s.
    """
    sets = [arg for value in ("REPWATCH_RETRY_BACKOFF=0.05", *settings) for arg in ("--set", value)]
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "crawler.run", "--config", str(config_path), *sets],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, f"crawl failed:\n{proc.stderr[-5000:]}"
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["stderr"] = proc.stderr
    return summary


@dataclass(frozen=True)
class Stored:
    """What a crawl left in the database, for assertions."""

    mentions: dict[str, MentionRow]  # by external_id
    errors: list[tuple[str, str, str, str]]  # (source, kind, url, reason), all runs
    states: dict[str, dict[str, Any]]  # sources.state by source key

    def errors_of(self, source: str, kind: str | None = None) -> list[tuple[str, str]]:
        return [(u, r) for s, k, u, r in self.errors if s == source and kind in (None, k)]

    def of_source(self, source_id: int) -> dict[str, MentionRow]:
        return {k: m for k, m in self.mentions.items() if m.source_id == source_id}


def stored(db_url: str) -> Stored:
    engine = open_database(db_url)
    try:
        with session_scope(engine) as session:
            rows = session.scalars(select(MentionRow)).all()
            mentions = {row.external_id: row for row in rows}
            assert len(mentions) == len(rows), "two sources stored the same external id"
            errors = session.execute(
                select(SourceRow.key, CrawlErrorRow.kind, CrawlErrorRow.url, CrawlErrorRow.reason)
                .join(CrawlRunRow, CrawlRunRow.id == CrawlErrorRow.run_id)
                .join(SourceRow, SourceRow.id == CrawlRunRow.source_id)
                .order_by(CrawlErrorRow.id)
            ).all()
            states: dict[str, dict[str, Any]] = {
                key: state for key, state in session.execute(select(SourceRow.key, SourceRow.state))
            }
            return Stored(mentions, [(s, k, u, r) for s, k, u, r in errors], states)
    finally:
        engine.dispose()
