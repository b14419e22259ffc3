"""A tiny, self-contained demo review site served from package data.

The site lists the bundled fictional reviews (``reviews.jsonl``) for two brands
as paginated HTML pages with schema.org JSON-LD, so the crawler can be
exercised end-to-end without touching the network.  Stdlib only.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

BRANDS: dict[str, str] = {"kestrel": "Kestrel Home", "nimbus": "Nimbus Direct"}
"""Brand key -> display name."""

_HTML = "text/html; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_LIST_RE = re.compile(r"^/(?P<brand>[a-z]+)/reviews$")
_ITEM_RE = re.compile(r"^/(?P<brand>[a-z]+)/reviews/(?P<id>[A-Za-z0-9\-]+)$")


@dataclass(frozen=True, slots=True)
class DemoReview:
    """One bundled demo review."""

    id: str
    brand: str
    lang: str
    rating: int
    title: str
    text: str
    author: str
    date: str


@lru_cache(maxsize=1)
def _reviews() -> tuple[DemoReview, ...]:
    source = resources.files("repwatch.demo").joinpath("reviews.jsonl")
    items: list[DemoReview] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            items.append(
                DemoReview(
                    id=str(raw["id"]),
                    brand=str(raw["brand"]),
                    lang=str(raw["lang"]),
                    rating=int(raw["rating"]),
                    title=str(raw["title"]),
                    text=str(raw["text"]),
                    author=str(raw["author"]),
                    date=str(raw["date"]),
                )
            )
    return tuple(items)


def load_demo_reviews() -> list[DemoReview]:
    """Return all bundled demo reviews (parsed once and cached)."""
    return list(_reviews())


def brand_reviews(brand: str) -> list[DemoReview]:
    """Return the reviews of ``brand`` newest-first (by date, then id, descending)."""
    picked = [r for r in _reviews() if r.brand == brand]
    return sorted(picked, key=lambda r: (r.date, r.id), reverse=True)


def jsonld_script(obj: Any) -> str:
    """Render ``obj`` as a JSON-LD ``<script>`` element that is safe to embed in HTML.

    Every ``<`` is escaped as ``\\u003c`` so text such as ``</script>`` or
    ``<!--`` inside string values cannot terminate the element.
    """
    payload = json.dumps(obj, ensure_ascii=False, indent=1).replace("<", "\\u003c")
    return f'<script type="application/ld+json">\n{payload}\n</script>'


def _stars(rating: int) -> str:
    return "\u2605" * rating + "\u2606" * (5 - rating)


def _review_jsonld(review: DemoReview, base: str) -> dict[str, Any]:
    url = f"{base}/{review.brand}/reviews/{review.id}"
    return {
        "@type": "Review",
        "@id": url,
        "url": url,
        "name": review.title,
        "reviewBody": review.text,
        "inLanguage": review.lang,
        "datePublished": review.date,
        "author": {"@type": "Person", "name": review.author},
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": review.rating,
            "bestRating": 5,
            "worstRating": 1,
        },
    }


def _review_html(review: DemoReview, heading: str = "h2") -> str:
    href = f"/{review.brand}/reviews/{review.id}"
    return (
        f'<article class="review" id="{escape(review.id)}" lang="{escape(review.lang)}">\n'
        f'<{heading} class="review-title"><a href="{escape(href)}">'
        f"{escape(review.title)}</a></{heading}>\n"
        f'<p class="review-rating" data-rating="{review.rating}" '
        f'aria-label="Rated {review.rating} out of 5">{_stars(review.rating)}</p>\n'
        f'<p class="review-meta">By <span class="review-author">{escape(review.author)}</span>'
        f' on <time datetime="{escape(review.date)}">{escape(review.date)}</time></p>\n'
        f'<p class="review-text">{escape(review.text)}</p>\n'
        "</article>"
    )


def _document(title: str, body: str, head_extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head_extra}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def render_index() -> str:
    """Render the landing page linking to each brand's review list."""
    links = "\n".join(
        f'<li><a href="/{key}/reviews">{escape(name)} reviews</a></li>'
        for key, name in BRANDS.items()
    )
    return _document("Demo reviews", f"<h1>Demo reviews</h1>\n<ul>\n{links}\n</ul>")


def render_list_page(brand: str, page: int, per_page: int, base: str) -> str | None:
    """Render page ``page`` (1-based) of ``brand``'s reviews, or None if out of range."""
    if brand not in BRANDS or page < 1:
        return None
    reviews = brand_reviews(brand)
    pages = max(1, -(-len(reviews) // per_page))
    if page > pages:
        return None
    chunk = reviews[(page - 1) * per_page : page * per_page]
    name = BRANDS[brand]
    average = sum(r.rating for r in reviews) / len(reviews) if reviews else 0.0
    data = {
        "@context": "https://schema.org",
        "@type": "LocalBusiness",
        "name": name,
        "url": f"{base}/{brand}",
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": round(average, 1),
            "reviewCount": len(reviews),
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [_review_jsonld(r, base) for r in chunk],
    }
    head = ""
    nav: list[str] = []
    if page > 1:
        prev = f"/{brand}/reviews?page={page - 1}"
        head += f'<link rel="prev" href="{prev}">\n'
        nav.append(f'<a rel="prev" href="{prev}">Previous</a>')
    if page < pages:
        nxt = f"/{brand}/reviews?page={page + 1}"
        head += f'<link rel="next" href="{nxt}">\n'
        nav.append(f'<a rel="next" href="{nxt}">Next</a>')
    head += jsonld_script(data) + "\n"
    body = (
        f"<h1>{escape(name)} reviews</h1>\n"
        f'<p class="summary">Average {round(average, 1)} / 5 from {len(reviews)} reviews'
        f" &middot; page {page} of {pages}</p>\n"
        + "\n".join(_review_html(r) for r in chunk)
        + f'\n<nav class="pagination">{" ".join(nav)}</nav>'
    )
    return _document(f"{name} reviews - page {page}", body, head)


def render_review_page(brand: str, review_id: str, base: str) -> str | None:
    """Render the permalink page of one review, or None if it does not exist."""
    review = next((r for r in _reviews() if r.brand == brand and r.id == review_id), None)
    if review is None:
        return None
    data = {
        "@context": "https://schema.org",
        **_review_jsonld(review, base),
        "itemReviewed": {"@type": "LocalBusiness", "name": BRANDS[brand]},
    }
    head = f'<link rel="canonical" href="{escape(data["url"])}">\n{jsonld_script(data)}\n'
    body = (
        f'<p><a href="/{brand}/reviews">All {escape(BRANDS[brand])} reviews</a></p>\n'
        + _review_html(review, heading="h1")
    )
    return _document(review.title, body, head)


class _DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], per_page: int) -> None:
        self.per_page = per_page
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _DemoServer
    server_version = "RepwatchDemo/1.0"

    def do_GET(self) -> None:
        """Serve a GET request."""
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        """Serve a HEAD request (headers only)."""
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Route request logs to ``logging`` at DEBUG level instead of stderr."""
        logger.debug("%s - " + format, self.address_string(), *args)

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        if not _HOST_RE.match(host):
            addr, port = self.server.server_address[:2]
            host = f"{addr!s}:{port}"
        return f"http://{host}"

    def _route(self) -> tuple[HTTPStatus, str, str, dict[str, str]]:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/":
            return HTTPStatus.OK, _HTML, render_index(), {}
        if path == "/robots.txt":
            return HTTPStatus.OK, _TEXT, "User-agent: *\nAllow: /\n", {}
        if path.strip("/") in BRANDS and path.count("/") == 1:
            target = f"/{path.strip('/')}/reviews"
            return HTTPStatus.MOVED_PERMANENTLY, _HTML, _document("Moved", ""), {"Location": target}
        if match := _LIST_RE.match(path):
            raw = parse_qs(parts.query).get("page", ["1"])[-1]
            page = int(raw) if raw.isdigit() and len(raw) < 8 else 0
            html = render_list_page(match["brand"], page, self.server.per_page, self._base_url())
            if html is not None:
                return HTTPStatus.OK, _HTML, html, {}
        elif match := _ITEM_RE.match(path):
            html = render_review_page(match["brand"], match["id"], self._base_url())
            if html is not None:
                return HTTPStatus.OK, _HTML, html, {}
        body = _document("Not found", "<h1>404 Not Found</h1>\n<p>No such page.</p>")
        return HTTPStatus.NOT_FOUND, _HTML, body, {}

    def _respond(self, *, send_body: bool) -> None:
        status, content_type, text, extra = self._route()
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(payload)


class DemoSite:
    """Serves the demo review pages on 127.0.0.1 in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, per_page: int = 10) -> None:
        """Configure the site; nothing is bound until :meth:`start`."""
        if per_page < 1:
            raise ValueError("per_page must be >= 1")
        self._host = host
        self._port = port
        self._per_page = per_page
        self._server: _DemoServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving in a daemon thread and return the base URL (idempotent)."""
        if self._server is None:
            server = _DemoServer((self._host, self._port), self._per_page)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="repwatch-demo-site",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            logger.info("demo site serving at %s", self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving and release the socket (safe to call twice)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:54321``; requires a started site."""
        if self._server is None:
            raise RuntimeError("DemoSite is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> DemoSite:
        """Start the site on entering a ``with`` block."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the site on leaving a ``with`` block."""
        self.stop()
