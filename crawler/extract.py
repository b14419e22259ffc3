"""Find schema.org reviews in a page's JSON-LD, as pure functions of the HTML.

Reviews are found wherever they sit: top level, inside ``@graph``, or nested under the
``review``/``reviews`` of a LocalBusiness, Product or Organization. A block that is not
valid JSON is skipped and described in ``PageExtract.problems``; the rest of the page
is still read. Pages without a JSON-LD block are not parsed at all.

Parsel (Scrapy's selector library) finds the blocks rather than ``extruct``: extruct
gives up on the whole page when one block is broken, and we want the others.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parsel import Selector

from crawler.fields import (
    author_name,
    canonical_url,
    clean_text,
    language_tag,
    normalise_rating,
    parse_published,
)

if TYPE_CHECKING:
    from scrapy.http import TextResponse

REVIEW_TYPES = frozenset({"Review", "UserReview", "CriticReview", "EmployerReview"})
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
class PageExtract:
    """Everything read from one page's JSON-LD."""

    reviews: tuple[ExtractedReview, ...] = ()
    problems: tuple[str, ...] = ()  # one line per JSON-LD block that could not be read
    blocks: int = 0  # JSON-LD blocks found
    skipped_empty: int = 0  # reviews without any text


def has_jsonld(page: str | bytes) -> bool:
    """Whether the page may carry JSON-LD: a cheap scan before any HTML parsing."""
    if isinstance(page, bytes):
        return _HAS_JSONLD_BYTES.search(page) is not None
    return _HAS_JSONLD.search(page) is not None


def extract_page(page: str | Selector, page_url: str) -> PageExtract:
    """Read every JSON-LD block of a page (HTML text or an already parsed ``Selector``)."""
    if isinstance(page, str):
        if not has_jsonld(page):
            return PageExtract()
        try:
            page = Selector(text=page, type="html")
        except (ValueError, UnicodeError):  # e.g. lone surrogates in the text
            return PageExtract(problems=("page is not parseable HTML",))
    reviews: dict[str, ExtractedReview] = {}
    problems: list[str] = []
    skipped = 0
    scripts = page.xpath(_JSONLD_SCRIPTS)
    for number, script in enumerate(scripts, start=1):
        data, problem = parse_block("".join(script.xpath("text()").getall()))
        if problem:
            problems.append(f"JSON-LD block {number} of {len(scripts)}: {problem}")
            continue
        for node in review_nodes(data):
            review = review_from_node(node, page_url)
            if review is None:
                skipped += 1
            else:
                reviews.setdefault(review.external_id, review)
    return PageExtract(tuple(reviews.values()), tuple(problems), len(scripts), skipped)


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
    author = author[:MAX_AUTHOR_LENGTH] if author else None
    raw_date = node.get("datePublished") or node.get("dateCreated")
    published = parse_published(raw_date)
    return ExtractedReview(
        url=_review_url(node, page_url),
        external_id=_external_id(node, page_url)
        or _content_id(author, published.isoformat() if published else clean_text(raw_date), text),
        text=text,
        title=clean_text(node.get("name")) or clean_text(node.get("headline")),
        author=author,
        rating=normalise_rating(node.get("reviewRating")),
        language=language_tag(node.get("inLanguage")),
        published_at=published,
    )


def _review_url(node: dict[str, Any], page_url: str) -> str:
    for key in ("url", "@id"):
        value = node.get(key)
        if isinstance(value, str) and value.strip() and not _page_local(value):
            url = canonical_url(value, page_url)
            if url:
                return url
    return canonical_url(page_url, page_url) or page_url


def _page_local(value: str) -> bool:
    """A fragment ("#r1") or blank node ("_:b0") names a review only within one page."""
    value = value.strip()
    return value.startswith(("#", "_:"))


def _external_id(node: dict[str, Any], page_url: str) -> str | None:
    for key in ("@id", "url"):
        value = node.get(key)
        if not isinstance(value, str) or not value.strip() or _page_local(value):
            continue
        try:
            scheme = urlsplit(value.strip()).scheme.lower()
        except ValueError:
            continue
        if scheme and scheme not in ("http", "https"):
            return _short_id(value.strip())  # urn:, tag: and other global identifiers
        url = canonical_url(value, page_url, keep_fragment=True)
        if url:
            return _short_id(url)
    return None


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


def next_page_url(response: TextResponse) -> str | None:
    """The absolute URL of ``<link rel="next">`` or ``<a rel="next">`` on a Scrapy response."""
    for node in response.xpath("//link[@rel and @href] | //a[@rel and @href]"):
        rel = (node.attrib.get("rel") or "").lower().split()
        href = (node.attrib.get("href") or "").strip()
        if "next" in rel and href:
            try:
                url = response.urljoin(href)
                if urlsplit(url).scheme in ("http", "https"):
                    return url
            except ValueError:  # e.g. a malformed IPv6 host
                continue
    return None
