"""Find schema.org reviews in a page's JSON-LD, microdata and RDFa, as pure functions.

Reviews are found wherever they sit: top level, inside ``@graph``, or nested under the
``review``/``reviews`` of a LocalBusiness, Product or Organization; an AggregateRating
is not a review and is passed over. A JSON-LD block that is not valid JSON is skipped and
described in ``PageExtract.problems``; the rest of the page is still read.

``crawler.markup.detect_markups`` decides which markups a page is searched for, with a
byte scan: pages without microdata or RDFa never reach ``extruct``. JSON-LD blocks are
found with parsel (Scrapy's selector library) rather than ``extruct``, which gives up on
the whole page when one block is broken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawler.fields import (
    author_name,
    canonical_url,
    clean_text,
    fold_host,
    language_tag,
    normalise_rating,
    parse_published,
)
from crawler.markup import (
    JSONLD,
    MICRODATA,
    RDFA,
    MarkupTooComplex,
    detect_markups,
    microdata_nodes,
    rdfa_nodes,
)

if TYPE_CHECKING:
    from scrapy.http import TextResponse

REVIEW_TYPES = frozenset({"Review", "UserReview", "CriticReview", "EmployerReview"})
_WEB = ("http", "https")
MAX_ID_LENGTH = 255  # the mentions.external_id column; longer ids are hashed
MAX_AUTHOR_LENGTH = 255
MAX_NODES = 100_000  # JSON values visited per block; bounds the work a hostile page can cause
_HAS_JSONLD = re.compile(r"ld\+json", re.IGNORECASE)
_HAS_JSONLD_BYTES = re.compile(rb"ld\+json", re.IGNORECASE)
_WRAPPERS = re.compile(r"^\s*(//.*|<!--.*|-->.*|<!\[CDATA\[|\]\]>)\s*$", re.MULTILINE)
_JSONLD_SCRIPTS = (
    "//script[contains(translate(@type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
    " 'abcdefghijklmnopqrstuvwxyz'), 'application/ld+json')]"
)


@dataclass(frozen=True, slots=True)
class ExtractedReview:
    """One review as the page describes it, before it is tied to a source and brand."""

    url: str  # canonical URL of the review (the page URL when it has none of its own)
    external_id: str  # its @id or url, else a hash of author, date and text
    text: str
    title: str | None
    author: str | None
    rating: float | None  # 0..1
    language: str | None
    published_at: datetime | None  # aware, UTC


@dataclass(frozen=True, slots=True)
class PageProblem:
    """Part of a page that could not be read; ``kind`` is a ``reporting`` error kind."""

    kind: str  # "jsonld", "microdata", "rdfa" or "html"
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class PageExtract:
    """Everything read from one page's structured data."""

    reviews: tuple[ExtractedReview, ...] = ()
    problems: tuple[PageProblem, ...] = ()  # one per block or markup that could not be read
    blocks: int = 0  # JSON-LD blocks found
    skipped_empty: int = 0  # reviews without any text
    markups: frozenset[str] = frozenset()  # markups searched


def has_jsonld(page: str | bytes) -> bool:
    """Whether the page may carry JSON-LD: a cheap scan before any HTML parsing."""
    if isinstance(page, bytes):
        return _HAS_JSONLD_BYTES.search(page) is not None
    return _HAS_JSONLD.search(page) is not None


class _Collector:
    """Reviews of one page, first occurrence of each id kept, problems in page order."""

    def __init__(self, page_url: str) -> None:
        self.page_url = page_url
        self.reviews: dict[str, ExtractedReview] = {}
        self.problems: list[PageProblem] = []
        self.skipped = 0

    def add(self, doc: Any) -> None:
        for node in review_nodes(doc):
            review = review_from_node(node, self.page_url)
            if review is None:
                self.skipped += 1
            else:
                self.reviews.setdefault(review.external_id, review)


def extract_page(
    page: str | Selector, page_url: str, markups: frozenset[str] | None = None
) -> PageExtract:
    """Read the reviews in a page (HTML text or an already parsed ``Selector``).

    ``markups`` limits the search (see ``detect_markups``); by default the page text is
    scanned for them, so pass them when you already scanned the response bytes.
    """
    if markups is None:
        markups = detect_markups(page if isinstance(page, str) else page.get())
    if not markups:
        return PageExtract()
    if isinstance(page, str):
        try:
            page = Selector(text=page, type="html")
        except (ValueError, UnicodeError):  # e.g. lone surrogates in the text
            return PageExtract(
                problems=(PageProblem("html", "page is not parseable HTML"),), markups=markups
            )
    found = _Collector(page_url)
    blocks = _read_jsonld(page, found) if JSONLD in markups else 0
    if MICRODATA in markups:
        _read_markup(found, MICRODATA, lambda: microdata_nodes(page.root, page_url))
    if RDFA in markups:
        _read_markup(found, RDFA, lambda: rdfa_nodes(page.get(), page_url))
    return PageExtract(
        tuple(found.reviews.values()), tuple(found.problems), blocks, found.skipped, markups
    )


def extract_json(text: str, page_url: str) -> PageExtract:
    """Read the reviews in a JSON-LD document served on its own (not inside HTML)."""
    found = _Collector(page_url)
    data, problem = parse_block(text)
    if problem:
        found.problems.append(PageProblem("jsonld", f"JSON-LD document: {problem}"))
    else:
        found.add(data)
    return PageExtract(
        tuple(found.reviews.values()), tuple(found.problems), 1, found.skipped, frozenset({JSONLD})
    )


def _read_jsonld(page: Selector, found: _Collector) -> int:
    scripts = page.xpath(_JSONLD_SCRIPTS)
    for number, script in enumerate(scripts, start=1):
        data, problem = parse_block("".join(script.xpath("text()").getall()))
        if problem:
            reason = f"JSON-LD block {number} of {len(scripts)}: {problem}"
            found.problems.append(PageProblem("jsonld", reason))
        else:
            found.add(data)
    return len(scripts)


def _read_markup(found: _Collector, markup: str, nodes: Any) -> None:
    """Run one extruct extractor; whatever it raises on a hostile page is a problem."""
    try:
        documents = nodes()
    except (RecursionError, MarkupTooComplex) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        found.problems.append(PageProblem(markup, f"{markup}: {detail}"))
        return
    except Exception as exc:  # extruct, lxml and rdflib raise many kinds on bad markup
        reason = f"{markup} could not be read: {type(exc).__name__}: {exc}"[:500]
        found.problems.append(PageProblem(markup, reason))
        return
    found.add(documents)


def reviews_from_html(html: str, page_url: str) -> list[ExtractedReview]:
    """The reviews in a page's JSON-LD; broken blocks are skipped."""
    return list(extract_page(html, page_url).reviews)


def reviews_from_jsonld(doc: Any, page_url: str) -> list[ExtractedReview]:
    """The reviews in one parsed JSON-LD document (any JSON value)."""
    found: dict[str, ExtractedReview] = {}
    for node in review_nodes(doc):
        review = review_from_node(node, page_url)
        if review is not None:
            found.setdefault(review.external_id, review)
    return list(found.values())


def parse_block(text: str) -> tuple[Any, str | None]:
    """Parse one ``<script>`` body: ``(data, None)``, or ``(None, what is wrong)``."""
    if not text.strip():
        return None, "empty block"
    try:
        return json.loads(text, strict=False), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError as exc:
        first = exc
    # Pages often wrap JSON-LD in HTML comments, CDATA markers or // comment lines.
    cleaned = _WRAPPERS.sub("", text)
    if cleaned != text:
        try:
            return json.loads(cleaned, strict=False), None
        except (ValueError, RecursionError):
            pass
    if isinstance(first, json.JSONDecodeError):
        return None, f"not valid JSON: {first.msg} (line {first.lineno}, column {first.colno})"
    return None, f"not valid JSON: {first}"


def is_review(node: dict[str, Any]) -> bool:
    """Whether a JSON-LD object is a schema.org Review (``@type`` may be a list or an IRI)."""
    kinds = node.get("@type")
    if not isinstance(kinds, list):
        kinds = [kinds]
    for kind in kinds:
        if isinstance(kind, str):
            short = re.split(r"[/#:]", kind.strip())[-1]
            if short in REVIEW_TYPES:
                return True
    return False


def review_nodes(doc: Any) -> Iterator[dict[str, Any]]:
    """Every Review object in a JSON-LD document, in document order, at any depth.

    Reviews are not searched further: what they contain describes the review itself.
    """
    stack: list[Any] = [doc]
    visited = 0
    while stack and visited < MAX_NODES:
        node = stack.pop()
        visited += 1
        if isinstance(node, dict):
            if is_review(node):
                yield node
                continue
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def review_from_node(node: dict[str, Any], page_url: str) -> ExtractedReview | None:
    """A typed review from a Review object, or ``None`` when it has no text."""
    text = clean_text(node.get("reviewBody")) or clean_text(node.get("description"))
    if text is None:
        return None
    author = author_name(node.get("author"))
    author = (author[:MAX_AUTHOR_LENGTH].rstrip() or None) if author else None
    raw_date = node.get("datePublished") or node.get("dateCreated")
    published = parse_published(raw_date)
    url, external_id = _url_and_id(node, page_url)
    return ExtractedReview(
        url=url,
        external_id=external_id
        or _content_id(author, published.isoformat() if published else clean_text(raw_date), text),
        text=text,
        title=clean_text(node.get("name")) or clean_text(node.get("headline")),
        author=author,
        rating=normalise_rating(node.get("reviewRating")),
        language=language_tag(node.get("inLanguage")),
        published_at=published,
    )


def _url_and_id(node: dict[str, Any], page_url: str) -> tuple[str, str | None]:
    """The review's own URL (else the page's) and its id from ``@id`` or ``url``.

    The URL is canonical (a link that opens); the id also keeps the fragment and folds
    www/mobile host variants. Fragments ("#r1") and blank nodes ("_:b0") name a review
    only within one page, so they give neither.
    """
    canonical: dict[str, str | None] = {}  # each value is canonicalised once
    for key in ("@id", "url"):
        value = node.get(key)
        if isinstance(value, str) and not _page_local(value):
            canonical[key] = canonical_url(value, page_url, keep_fragment=True)
    url = next(
        (c.partition("#")[0] for k in ("url", "@id") if (c := canonical.get(k)) is not None),
        None,
    )
    external_id = None
    for key in ("@id", "url"):
        if key not in canonical:
            continue
        found = canonical[key]
        if found is not None:
            external_id = _short_id(fold_host(found))
            break
        value = str(node[key]).strip()
        scheme, colon, _ = value.partition(":")
        if colon and scheme.isascii() and scheme.isalpha() and scheme.lower() not in _WEB:
            external_id = _short_id(value)  # urn:, tag: and other global identifiers
            break
    return url or canonical_url(page_url, page_url) or page_url, external_id


def _page_local(value: str) -> bool:
    """A blank value, a fragment ("#r1") or a blank node ("_:b0")."""
    value = value.strip()
    return not value or value.startswith(("#", "_:"))


def _short_id(value: str) -> str:
    if len(value) <= MAX_ID_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _content_id(author: str | None, published: str | None, text: str) -> str:
    """An id from what the review says, for reviews without an @id or url of their own.

    It changes when the text is edited, so such an edit is stored as a new mention.
    """
    parts = (author or "", published or "", text)
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class PageLinks:
    """The links of a page that matter to a crawl, as absolute http(s) URLs."""

    next: str | None = None  # rel="next"
    canonical: str | None = None  # <link rel="canonical">


_LINKS = "//link[@rel and @href] | //a[@rel and @href]"


def page_links(page: Selector, page_url: str) -> PageLinks:
    """``rel="next"`` (``<link>`` or ``<a>``) and ``<link rel="canonical">`` of a page."""
    following = canonical = None
    for node in page.xpath(_LINKS):
        rel = (node.attrib.get("rel") or "").lower().split()
        if "next" not in rel and "canonical" not in rel:
            continue
        url = _absolute(node.attrib.get("href") or "", page_url)
        if url is None:
            continue
        if "next" in rel and following is None:
            following = url
        if "canonical" in rel and canonical is None and node.root.tag == "link":
            canonical = url
    return PageLinks(following, canonical)


def _absolute(href: str, page_url: str) -> str | None:
    href = href.strip()
    if not href:
        return None
    try:
        url = urljoin(page_url, href)
        return url if urlsplit(url).scheme in ("http", "https") else None
    except ValueError:  # e.g. a malformed IPv6 host
        return None


def next_page_url(response: TextResponse) -> str | None:
    """The absolute URL of ``<link rel="next">`` or ``<a rel="next">`` on a Scrapy response."""
    return page_links(response.selector, response.url).next
