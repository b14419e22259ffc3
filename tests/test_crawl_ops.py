"""What an operator relies on: bad pages recorded and survived, runs recorded, retries that
honour Retry-After, incremental re-crawls, deduplication across URLs, sitemaps, SSRF.

Every crawl is ``python -m crawler.run`` in a subprocess against servers started here on
127.0.0.1 (and 127.0.0.2), serving pages written below.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crawler.store_writer import StoreProcess
from repwatch.cli import main as cli
from repwatch.records import MentionRecord
from repwatch.store import open_database, session_scope
from repwatch.store.crawl_runs import (
    RunCounts,
    RunError,
    SourceHistory,
    finish_run,
    record_errors,
    run_errors,
    source_health,
    source_history,
    start_run,
)
from repwatch.store.queries import ensure_source
from repwatch.store.schema import CrawlRunRow, MentionRow
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent
Reply = tuple[int, dict[str, str], bytes]
Route = Callable[["Server", str], Reply]


class Server(ThreadingHTTPServer):
    """Answers each path with a route function; remembers every request and when."""

    daemon_threads = True
    routes: dict[str, Route]
    hits: list[tuple[str, float]]
    state: dict[str, Any]

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the crawler hung up: fine
            super().handle_error(request, client_address)

    def count(self, path: str) -> int:
        return sum(1 for hit, _ in self.hits if hit == path)


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append((self.path, time.monotonic()))
        route = self.server.routes.get(urlsplit(self.path).path)
        if route is None:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
        else:
            status, headers, body = route(self.server, self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if headers.get("Transfer-Encoding") == "chunked":
                for start in range(0, len(body), 16384):
                    chunk = body[start : start + 16384]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)
        except OSError:  # the crawler hung up on a body it did not want
            self.close_connection = True


def serve(host: str = "127.0.0.1") -> Iterator[Server]:
    server = Server((host, 0), Handler)
    server.routes, server.hits, server.state = {}, [], {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def web() -> Iterator[Server]:
    yield from serve()


def html(*docs: Any, head: str = "", body: str = "") -> bytes:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(d, ensure_ascii=False)}</script>'
        for d in docs
    )
    return f"<html><head>{head}{scripts}</head><body>{body}</body></html>".encode()


def review(rid: str, text: str, **more: Any) -> dict[str, Any]:
    return {"@type": "Review", "@id": rid, "reviewBody": text, **more}


def page(
    *docs: Any, head: str = "", body: str = "", ctype: str = "text/html; charset=utf-8"
) -> Route:
    payload = html(*docs, head=head, body=body)
    return lambda server, path: (200, {"Content-Type": ctype}, payload)


def raw(status: int, headers: dict[str, str], payload: bytes) -> Route:
    return lambda server, path: (status, headers, payload)


def sources_toml(server: Server, paths: dict[str, str], **keys: Any) -> str:
    """[sources.<key>] tables of kind "reviews" for brand kestrel, one per path."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return "".join(
        f'\n[sources.{key}]\nbrand = "kestrel"\nurl = "{server.base}{path}"\n'
        f"allow_private = true\n{extra}"
        for key, path in paths.items()
    )


def config(tmp_path: Path, toml: str, **crawl: Any) -> Path:
    """A config with these sources and [crawl] values replaced (robots off by default)."""
    cfg = write_config(tmp_path / "cfg", extra=toml)
    text = cfg.path.read_text(encoding="utf-8")
    for name, value in {"obey_robots_txt": False, **crawl}.items():
        lines = [ln for ln in text.splitlines() if ln.startswith(f"{name} = ")]
        assert lines, name
        text = text.replace(lines[0], f"{name} = {json.dumps(value)}")
    cfg.path.write_text(text, encoding="utf-8")
    return cfg.path


def crawl(cfg: Path, db_url: str, *args: str, check: bool = True) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "crawler.run", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "REPWATCH_DATABASE_URL": db_url},
        check=False,
    )
    assert proc.returncode == 0 or not check, f"crawl failed:\n{proc.stderr[-5000:]}"
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["stderr"] = proc.stderr
    return summary


def mentions(db_url: str) -> dict[str, MentionRow]:
    engine = open_database(db_url)
    try:
        with session_scope(engine) as session:
            return {m.external_id: m for m in session.scalars(select(MentionRow))}
    finally:
        engine.dispose()


def errors_by_url(db_url: str) -> dict[str, tuple[str, str]]:
    """(kind, reason) of every recorded page error of the newest runs, by path."""
    engine = open_database(db_url)
    try:
        with session_scope(engine) as session:
            out = {}
            for run_id in session.scalars(select(CrawlRunRow.id).order_by(CrawlRunRow.id)):
                for error in run_errors(session, run_id):
                    out[urlsplit(error.url).path] = (error.kind, error.reason)
            return out
    finally:
        engine.dispose()


# --- bad pages: recorded per page, the crawl goes on ------------------------------------

CP1252_PAGE = html(review("/r/cp1252", "Très bien, élégant")).replace(
    "Très bien, élégant".encode(), "Très bien, élégant".encode("cp1252")
)
MICRODATA = b"""<html lang="de"><body>
<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Sofa</span>
 <div itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating">
  <meta itemprop="ratingValue" content="4.4"><meta itemprop="reviewCount" content="80"></div>
 <div itemprop="review" itemscope itemtype="https://schema.org/Review" itemid="/r/md1">
  <span itemprop="author" itemscope itemtype="https://schema.org/Person">
   <span itemprop="name">J\xc3\xbcrgen</span></span>
  <meta itemprop="inLanguage" content="de">
  <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
   <meta itemprop="ratingValue" content="2"><meta itemprop="bestRating" content="5"></div>
  <p itemprop="reviewBody">Die Lieferung kam zu sp\xc3\xa4t.</p></div>
</div></body></html>"""
RDFA = """<html><body><div vocab="https://schema.org/" typeof="LocalBusiness">
 <span property="name">Kestrel Kyiv</span>
 <div property="review" typeof="Review" resource="/r/rdfa1">
  <span property="author" typeof="Person"><span property="name">Олена</span></span>
  <meta property="inLanguage" content="uk">
  <div property="reviewRating" typeof="Rating"><meta property="ratingValue" content="9">
   <meta property="bestRating" content="10"></div>
  <p property="reviewBody">Чудовий сервіс, швидка доставка.</p></div>
</div></body></html>""".encode()
BOMB = gzip.compress(b"\0" * (8 * 1024 * 1024))  # 8 MiB of zeros in about 8 KiB
HUGE = html(review("/r/huge", "x" * 200_000))


def _slow(server: Server, path: str) -> Reply:
    time.sleep(2.5)
    return 200, {"Content-Type": "text/html"}, html(review("/r/slow", "Too slow."))


BAD_PAGES: dict[str, Route] = {
    "/empty": raw(200, {"Content-Type": "text/html"}, b"  \n "),
    "/cp1252-declared-utf8": raw(200, {"Content-Type": "text/html; charset=utf-8"}, CP1252_PAGE),
    "/utf8-declared-latin1": page(
        review("/r/utf8", "Überraschend gut"), ctype="text/html; charset=iso-8859-1"
    ),
    "/html-as-json": page(review("/r/hj", "Served as JSON."), ctype="application/json"),
    "/json-as-html": raw(
        200, {"Content-Type": "text/html"}, json.dumps(review("/r/jh", "Served as HTML.")).encode()
    ),
    "/broken-jsonld": raw(
        200,
        {"Content-Type": "text/html"},
        b'<script type="application/ld+json">{"@type": "Review", "reviewBody": "cut</script>'
        + html(review("/r/after-broken", "Still read.")),
    ),
    "/microdata": raw(200, {"Content-Type": "text/html; charset=utf-8"}, MICRODATA),
    "/rdfa": raw(200, {"Content-Type": "text/html; charset=utf-8"}, RDFA),
    "/huge": raw(200, {"Content-Type": "text/html"}, HUGE),
    "/huge-chunked": raw(200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}, HUGE),
    "/gzip-bomb": raw(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, BOMB),
    "/loop-a": raw(302, {"Location": "/loop-b"}, b""),
    "/loop-b": raw(302, {"Location": "/loop-a?utm_source=loop"}, b""),
    "/slow": _slow,
    "/server-error": raw(500, {"Content-Type": "text/plain"}, b"boom"),
    "/not-text": raw(200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n\x00\x00"),
}
EXPECTED_ERRORS = {
    "/empty": "empty",
    "/cp1252-declared-utf8": "encoding",
    "/utf8-declared-latin1": "encoding",
    "/html-as-json": "content-type",
    "/json-as-html": "content-type",
    "/broken-jsonld": "jsonld",
    "/huge": "too-large",
    "/huge-chunked": "too-large",
    "/gzip-bomb": "too-large",
    "/loop-a": "redirect",
    "/loop-b": "redirect",
    "/slow": "timeout",
    "/server-error": "http",
    "/not-text": "content-type",
}


@pytest.mark.slow
def test_bad_pages_are_recorded_with_url_and_reason_and_the_rest_is_stored(tmp_path, web):
    web.routes.update(BAD_PAGES)
    keys = {path.strip("/").replace("-", "_"): path for path in BAD_PAGES}
    cfg = config(
        tmp_path, sources_toml(web, keys), retry_times=0, timeout_seconds=1, max_response_mb=0.1
    )
    db_url = f"sqlite:///{tmp_path / 'bad.db'}"

    summary = crawl(cfg, db_url)

    errors = errors_by_url(db_url)
    assert {path: kind for path, (kind, _) in errors.items()} == EXPECTED_ERRORS
    assert errors["/server-error"][1].startswith("HTTP 500")
    assert errors["/loop-a"][1] == (
        f"redirect loop: {web.base}/loop-b -> {web.base}/loop-a?utm_source=loop -> "
        f"{web.base}/loop-b"
    )
    assert errors["/cp1252-declared-utf8"][1] == (
        "3 bytes are not valid UTF-8 (mixed encodings?); read them as Windows-1252"
    )
    assert "exceeded DOWNLOAD_MAXSIZE" in errors["/gzip-bomb"][1]
    stored = {urlsplit(ext).path: m for ext, m in mentions(db_url).items()}
    assert {path: m.text for path, m in stored.items()} == {
        "/r/cp1252": "Très bien, élégant",
        "/r/utf8": "Überraschend gut",
        "/r/hj": "Served as JSON.",
        "/r/jh": "Served as HTML.",
        "/r/after-broken": "Still read.",
        "/r/md1": "Die Lieferung kam zu spät.",
        "/r/rdfa1": "Чудовий сервіс, швидка доставка.",
    }
    assert (stored["/r/md1"].author, stored["/r/md1"].rating, stored["/r/md1"].language) == (
        "Jürgen",
        0.25,
        "de",
    )
    assert (stored["/r/rdfa1"].author, stored["/r/rdfa1"].language) == ("Олена", "uk")
    assert stored["/r/rdfa1"].rating == pytest.approx(8 / 9)
    assert (summary["new"], summary["errors"]) == (7, len(EXPECTED_ERRORS))

    # Every run is recorded; the health table names each failure.
    engine = open_database(db_url)
    with session_scope(engine) as session:
        health = {h.key: h for h in source_health(session)}
    engine.dispose()
    assert health["server_error"].status == "failed"
    assert health["server_error"].errors_by_kind == {"http": 1}
    assert health["microdata"].status == "finished"
    assert (health["microdata"].pages, health["microdata"].items_new) == (1, 1)
    assert health["broken_jsonld"].status == "finished"  # a page error, but the page was read
    result = CliRunner().invoke(
        cli, ["sources", "--config", str(cfg)], env={"REPWATCH_DATABASE_URL": db_url}
    )
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("server_error "))
    assert "failed" in line
    assert "http 1" in line
    assert f"{web.base}/server-error: HTTP 500" in result.output


# --- politeness: Retry-After ---------------------------------------------------------


def _rate_limited(server: Server, path: str) -> Reply:
    server.state["calls"] = server.state.get("calls", 0) + 1
    if server.state["calls"] == 1:
        return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
    return 200, {"Content-Type": "text/html"}, html(review("/r/patient", "Worth the wait."))


@pytest.mark.slow
def test_429_with_retry_after_is_retried_after_the_wait(tmp_path, web):
    web.routes["/limited"] = _rate_limited
    # Backoff without Retry-After would wait 0.01 s: the 1 s gap can only come from the header.
    cfg = config(tmp_path, sources_toml(web, {"limited": "/limited"}), retry_times=2)
    db_url = f"sqlite:///{tmp_path / 'retry.db'}"

    summary = crawl(cfg, db_url, "--set", "REPWATCH_RETRY_BACKOFF=0.01")

    times = [at for path, at in web.hits if path == "/limited"]
    assert len(times) == 2
    assert times[1] - times[0] >= 1.0
    assert [m.text for m in mentions(db_url).values()] == ["Worth the wait."]
    assert (summary["new"], summary["errors"]) == (1, 0)


# --- incremental re-crawls and deduplication -------------------------------------------


def _listing(server: Server, path: str) -> Reply:
    """Page n of a review list, newest first, 3 per page; "fresh" new reviews on top."""
    n = int(path.removeprefix("/list/p").removesuffix(".html"))
    ids = [f"new{i}" for i in range(server.state.get("fresh", 0), 0, -1)]
    ids += [f"old{i}" for i in range(1, 19)]  # 18 old reviews: 6 pages
    shown = ids[(n - 1) * 3 : n * 3]
    if not shown:
        return 404, {}, b""
    more = f'<link rel="next" href="/list/p{n + 1}.html">' if n * 3 < len(ids) else ""
    docs = [review(f"/r/{rid}", f"Review {rid}.") for rid in shown]
    return 200, {"Content-Type": "text/html"}, html({"@type": "Product", "review": docs}, head=more)


@pytest.mark.slow
def test_recrawl_stops_at_stored_reviews_and_stores_shifted_ones_once(tmp_path, web):
    web.routes.update({f"/list/p{n}.html": _listing for n in range(1, 9)})
    cfg = config(tmp_path, sources_toml(web, {"shop": "/list/p1.html"}, incremental_depth=2))
    db_url = f"sqlite:///{tmp_path / 'inc.db'}"

    first = crawl(cfg, db_url)  # nothing stored yet: a backfill of every page
    assert (first["pages"], first["new"]) == (6, 18)

    web.hits.clear()
    second = crawl(cfg, db_url)  # two pages in a row of stored reviews: stop
    assert [p for p, _ in web.hits] == ["/list/p1.html", "/list/p2.html"]
    assert (second["new"], second["unchanged"]) == (0, 6)

    web.hits.clear()
    web.state["fresh"] = 2  # two new reviews shift every page by two
    third = crawl(cfg, db_url)
    assert [p for p, _ in web.hits] == ["/list/p1.html", "/list/p2.html", "/list/p3.html"]
    assert (third["new"], third["unchanged"]) == (2, 7)
    assert len(mentions(db_url)) == 20


def _clamped(server: Server, path: str) -> Reply:
    """?page=n with no rel=next; pages past the last repeat the last one, as many sites do."""
    n = min(int(dict([path.split("?")[1].split("=")]).get("page", "1") or 1), 4)
    docs = [review(f"/r/p{n}-{i}", f"Seite {n}, Bewertung {i}.") for i in range(2)]
    return 200, {"Content-Type": "text/html"}, html(*docs)


def _dedup_page(server: Server, path: str) -> Reply:
    """One review reached through tracking, www/mobile and fragment variants of its id."""
    variants = {
        "/d/1": ("https://www.shop.example/r/1?utm_source=mail&b=2&a=1", "/d/2?utm_medium=x"),
        "/d/2": ("https://m.shop.example/r/1?a=1&b=2&fbclid=abc", "/d/3?ref=nav"),
        "/d/3": ("HTTPS://Shop.Example:443/r/1?b=2&a=1&gclid=z&mc_cid=q", "/d/2"),  # to page 2
    }
    rid, following = variants[urlsplit(path).path]
    head = f'<link rel="next" href="{following}">'
    docs = [review(rid, "Same review, three URLs."), {"@type": "Review", "reviewBody": "No id."}]
    if path.startswith("/d/3"):  # the page names its canonical URL
        head += f'<link rel="canonical" href="{server.base}/reviews?page=3">'
        docs.append({"@type": "Review", "reviewBody": "Only on page three."})
    return 200, {"Content-Type": "text/html"}, html(*docs, head=head)


@pytest.mark.slow
def test_page_param_and_dedup_across_urls(tmp_path, web):
    web.routes["/param"] = _clamped
    web.routes.update({f"/d/{n}": _dedup_page for n in (1, 2, 3)})
    toml = sources_toml(web, {"param": "/param?page=1"}, page_param="page", max_pages=9)
    toml += sources_toml(web, {"dedup": "/d/1"})
    cfg = config(tmp_path, toml)
    db_url = f"sqlite:///{tmp_path / 'dedup.db'}"

    summary = crawl(cfg, db_url)

    # Pages 1-4, then page 5 repeats page 4: no new review, so no page 6.
    assert [p for p, _ in web.hits if p.startswith("/param")] == [
        f"/param?page={n}" for n in range(1, 6)
    ]
    # /d/2 is reached as /d/2?utm_medium=x and linked again as /d/2: fetched once.
    assert [p for p, _ in web.hits if p.startswith("/d/")] == [
        "/d/1",
        "/d/2?utm_medium=x",
        "/d/3?ref=nav",
    ]
    stored = mentions(db_url)
    texts = ("Same review, three URLs.", "No id.")
    dedup = {ext: m for ext, m in stored.items() if m.text in texts}
    assert len(dedup) == 2
    assert dedup["https://shop.example/r/1?a=1&b=2"].text == "Same review, three URLs."
    no_id = next(m for m in dedup.values() if m.text == "No id.")
    assert no_id.url == f"{web.base}/d/1"  # the first page it was seen on
    third = next(m for m in stored.values() if m.text == "Only on page three.")
    assert third.url == f"{web.base}/reviews?page=3"
    assert len(stored) == 3 + 8
    assert summary["new"] == 11


# --- sitemaps ----------------------------------------------------------------------------


def _urlset(server: Server, pages: Mapping[str, str | None], extra: tuple[str, ...] = ()) -> bytes:
    urls = "".join(
        f"<url><loc>{server.base}{p}</loc>"
        + (f"<lastmod>{server.state.get(p, lastmod)}</lastmod>" if lastmod else "")
        + "</url>"
        for p, lastmod in pages.items()
    )
    urls += "".join(f"<url><loc>{server.base}{p}</loc></url>" for p in extra)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


SITEMAP_A = {"/sm/p1": "2020-01-01", "/sm/p2": "2021-01-01", "/sm/p3": "2022-01-01T10:00:00Z"}
SITEMAP_B = {"/sm/p4": "2023-01-01", "/sm/p5": None}
SITEMAP_Q = {"/sm/q1": "2024-01-01", "/sm/q2": "2024-02-01", "/sm/q3": "2024-03-01"}
SITEMAP_ROUTES: dict[str, Route] = {
    "/sm/robots.txt": lambda s, p: (
        200,
        {"Content-Type": "text/plain"},
        f"User-agent: *\nDisallow: /private/\nSitemap: {s.base}/sm/index.xml\n".encode(),
    ),
    "/sm/index.xml": lambda s, p: (
        200,
        {"Content-Type": "application/xml"},
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{s.base}/sm/a.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{s.base}/sm/b.xml</loc></sitemap></sitemapindex>"
        ).encode(),
    ),
    "/sm/a.xml.gz": lambda s, p: (
        200,
        {"Content-Type": "application/x-gzip"},
        gzip.compress(_urlset(s, SITEMAP_A, ("/sm/about",))),
    ),
    "/sm/b.xml": lambda s, p: (200, {"Content-Type": "text/xml"}, _urlset(s, SITEMAP_B)),
    "/sm/q.xml": lambda s, p: (200, {"Content-Type": "text/xml"}, _urlset(s, SITEMAP_Q)),
    "/sm/not-a-sitemap.xml": raw(200, {"Content-Type": "text/html"}, b"<html><p>hi</p></html>"),
    **{
        f"/sm/p{n}": page(review(f"/r/sm{n}", text, inLanguage=lang))
        for n, (text, lang) in enumerate(
            [
                ("Great sofa.", "en"),
                ("Tolles Sofa.", "de"),
                ("Canapé parfait.", "fr"),
                ("Ottimo divano.", "it"),
                ("Świetna kanapa.", "pl"),
            ],
            start=1,
        )
    },
    **{f"/sm/q{n}": page(review(f"/r/q{n}", f"Review q{n}.")) for n in (1, 2, 3)},
}


@pytest.mark.slow
def test_sitemap_index_gzip_and_robots_then_only_modified_pages(tmp_path, web):
    web.routes.update(SITEMAP_ROUTES)
    toml = (
        f'\n[sources.shop-sitemap]\nkind = "sitemap"\nbrand = "kestrel"\n'
        f'url = "{web.base}/sm/robots.txt"\nurl_pattern = "/sm/p\\\\d+$"\n'
        f'allow_private = true\n\n[sources.broken-sitemap]\nkind = "sitemap"\nbrand = "nimbus"\n'
        f'url = "{web.base}/sm/not-a-sitemap.xml"\nallow_private = true\n'
        f'\n[sources.capped]\nkind = "sitemap"\nbrand = "nimbus"\nurl = "{web.base}/sm/q.xml"\n'
        f"max_pages = 2\nallow_private = true\n"
    )
    cfg = config(tmp_path, toml)
    db_url = f"sqlite:///{tmp_path / 'sitemap.db'}"

    first = crawl(cfg, db_url)

    fetched = sorted(p for p, _ in web.hits if p.startswith("/sm/p"))
    assert fetched == ["/sm/p1", "/sm/p2", "/sm/p3", "/sm/p4", "/sm/p5"]
    assert "/sm/about" not in [p for p, _ in web.hits]  # does not match url_pattern
    # max_pages = 2 keeps the two newest pages of the capped source.
    assert sorted(p for p, _ in web.hits if p.startswith("/sm/q")) == [
        "/sm/q.xml",
        "/sm/q2",
        "/sm/q3",
    ]
    assert {m.text: m.language for m in mentions(db_url).values() if m.brand == "kestrel"} == {
        "Great sofa.": "en",
        "Tolles Sofa.": "de",
        "Canapé parfait.": "fr",
        "Ottimo divano.": "it",
        "Świetna kanapa.": "pl",
    }
    assert errors_by_url(db_url) == {
        "/sm/not-a-sitemap.xml": ("sitemap", "not a sitemap: the root element is <html>")
    }
    assert (first["pages"], first["new"]) == (4 + 5 + 1 + 1 + 2, 7)

    web.hits.clear()
    web.state["/sm/p2"] = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    second = crawl(cfg, db_url, "--source", "shop-sitemap")

    # Only what changed since the first run (p2) and what has no lastmod (p5) is read.
    assert sorted(p for p, _ in web.hits if p.startswith("/sm/p")) == ["/sm/p2", "/sm/p5"]
    assert (second["new"], second["unchanged"]) == (0, 2)


# --- SSRF: redirects to private and metadata addresses ---------------------------------


@pytest.fixture
def inner() -> Iterator[Server]:
    """A server on 127.0.0.2: "another private host" that the crawler must not reach."""
    yield from serve("127.0.0.2")


@pytest.mark.slow
def test_redirects_to_private_hosts_are_refused_and_logged(tmp_path, web, inner):
    inner.routes["/secret"] = page(review("/r/secret", "Internal data."))
    port = web.server_address[1]
    web.routes.update(
        {
            "/to-private": raw(302, {"Location": f"{inner.base}/secret"}, b""),
            "/to-metadata": raw(302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/to-localhost": raw(302, {"Location": f"http://localhost:{port}/secret"}, b""),
        }
    )
    paths = {"private": "/to-private", "metadata": "/to-metadata", "localhost": "/to-localhost"}
    cfg = config(tmp_path, sources_toml(web, paths), retry_times=0)
    db_url = f"sqlite:///{tmp_path / 'ssrf.db'}"

    summary = crawl(cfg, db_url)

    errors = errors_by_url(db_url)
    assert {path: kind for path, (kind, _) in errors.items()} == {
        "/secret": "blocked",
        "/latest/meta-data/": "blocked",
    }
    assert inner.hits == []
    assert "/secret" not in [p for p, _ in web.hits]
    assert summary["errors"] == 3
    assert "host 169.254.169.254 is the private or metadata address" in summary["stderr"]

    # Once 127.0.0.2 is a source's own host, the same redirect is followed: the check above
    # is what stopped it.
    allowed = sources_toml(web, {"private": "/to-private"})
    allowed += sources_toml(inner, {"inner": "/secret"})
    crawl(config(tmp_path / "allowed", allowed), f"sqlite:///{tmp_path / 'allowed.db'}")
    assert [p for p, _ in inner.hits] == ["/secret", "/secret"]


@pytest.mark.slow
def test_names_resolving_to_private_addresses_are_refused_when_connecting(tmp_path, web):
    # Without the request check (as if a name had resolved to a public address then), the
    # resolver still refuses the private address at connection time: DNS rebinding fails.
    port = web.server_address[1]
    web.routes["/to-localhost"] = raw(302, {"Location": f"http://localhost:{port}/secret"}, b"")
    web.routes["/secret"] = page(review("/r/secret", "Internal data."))
    cfg = config(tmp_path, sources_toml(web, {"localhost": "/to-localhost"}), retry_times=0)
    db_url = f"sqlite:///{tmp_path / 'resolver.db'}"
    unchecked = json.dumps({"crawler.netguard.PrivateAddressMiddleware": None})

    crawl(cfg, db_url, "--set", f"DOWNLOADER_MIDDLEWARES={unchecked}")

    reason = "host localhost resolves to the private address 127.0.0.1; refused"
    assert errors_by_url(db_url) == {"/secret": ("blocked", reason)}
    assert "/secret" not in [p for p, _ in web.hits]


# --- the store process ---------------------------------------------------------------


def _records(n: int, source: str = "shop") -> list[MentionRecord]:
    return [
        MentionRecord(source, "kestrel", f"https://s.example/r/{i}", f"r{i}", f"Review {i}.")
        for i in range(n)
    ]


def test_store_process_stores_batches_and_reports_each(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'writer.db'}"
    engine = open_database(db_url)
    with session_scope(engine) as session:
        ensure_source(session, key="shop", kind="reviews", brand="kestrel", url="https://s.example")
    writer = StoreProcess(db_url, max_pending=2)
    results = []
    for start in range(0, 50, 10):  # five batches, at most two in flight
        results += list(writer.submit(_records(50)[start : start + 10]))
    results += list(writer.submit(_records(5)))  # already stored: unchanged
    results += list(writer.close())
    assert writer.process.returncode == 0
    assert [r.error for r in results] == [None] * 6
    assert sum(r.counts["shop"].new for r in results) == 50
    assert sum(r.counts["shop"].unchanged for r in results) == 5
    with session_scope(engine) as session:
        assert len(session.scalars(select(MentionRow)).all()) == 50
    engine.dispose()


def test_a_store_process_that_dies_is_reported_not_waited_for(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'dead.db'}"
    open_database(db_url).dispose()
    writer = StoreProcess(db_url)
    writer.process.kill()
    writer.process.wait()
    results = list(writer.submit(_records(3)))
    results += list(writer.close())
    assert [(r.size, r.error) for r in results] == [(3, "the store process ended (exit code -9)")]


# --- run history -------------------------------------------------------------------------


def test_history_decides_whether_the_next_crawl_may_stop_early(engine):
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        source_id = ensure_source(
            session, key="shop", kind="reviews", brand="kestrel", url="https://s.example"
        )
        assert source_history(session, ["shop"])["shop"] == SourceHistory(False, None)
        clean = start_run(session, source_id, t0)
        finish_run(session, clean, "finished", RunCounts(pages=3, errors_by_kind={"jsonld": 1}))
        assert source_history(session, ["shop"])["shop"] == SourceHistory(True, t0)
        start_run(session, source_id, t0 + timedelta(hours=1))  # then killed: stays "running"
        assert source_history(session, ["shop"])["shop"] == SourceHistory(False, t0)
        failed = start_run(session, source_id, t0 + timedelta(hours=2))
        counts = RunCounts(pages=2, errors=1, errors_by_kind={"http": 1})
        finish_run(session, failed, "finished", counts)  # a page was not read
        assert source_history(session, ["shop"])["shop"] == SourceHistory(False, t0)
        record_errors(session, failed, [RunError("https://s.example/2", "http", "HTTP 500")])
        statuses = session.scalars(select(CrawlRunRow.status).order_by(CrawlRunRow.id)).all()
        assert statuses == ["finished", "interrupted", "finished"]
        health = source_health(session)[0]
    assert (health.key, health.status, health.pages, health.last_clean_at) == (
        "shop",
        "finished",
        2,
        t0,
    )
    assert health.last_error == RunError("https://s.example/2", "http", "HTTP 500")
