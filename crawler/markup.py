"""Which structured-data markups a page carries, and microdata / RDFa as JSON-LD-like nodes.

``detect_markups`` is a byte scan, so pages without microdata or RDFa never reach
``extruct`` (which costs several times Scrapy's own work per page). Microdata and RDFa
items are converted to the compact shape JSON-LD uses (``{"@type": "Review",
"reviewBody": ...}``), so one function (``crawler.extract.review_from_node``) reads
reviews from all three markups.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml.html import HtmlElement

JSONLD = "json-ld"
MICRODATA = "microdata"
RDFA = "rdfa"
MAX_DEPTH = 20  # nesting of RDFa node references followed; bounds cyclic graphs
# extruct's microdata reader takes time cubic in the nesting depth (600 nested items:
# 5 s); real pages nest reviews 2-4 levels deep.
MAX_ITEM_DEPTH = 32
MAX_ITEMS = 5000
_TOO_DEEP = f"//*[@itemscope][count(ancestor::*[@itemscope]) >= {MAX_ITEM_DEPTH}][1]"
_MICRODATA_BYTES = re.compile(rb"\bitem(?:scope|type)\b")
# RDFa needs typeof= to give a node a type: a page whose only RDFa is OpenGraph's
# <meta property="og:..."> carries no Review and is not worth pyRdfa's time.
_RDFA_BYTES = re.compile(rb"\btypeof\s*=")
_LAST_SEGMENT = re.compile(r"[^/#:]+$")


class MarkupTooComplex(ValueError):
    """A page's markup is beyond what is read (too deep or too many items)."""


def detect_markups(page: bytes | str) -> frozenset[str]:
    """The markups a page may carry reviews in: a cheap scan, before any parsing.

    JSON-LD when a ``ld+json`` script type appears; microdata (``itemscope``/``itemtype``)
    and RDFa (``typeof=``) only when the word "review" appears as well, since only a
    Review type can give us a review.
    """
    body = page.encode("utf-8", "replace") if isinstance(page, str) else page
    lowered = body.lower()  # one copy, then substring scans (memchr) beat regexes
    found = set()
    if b"ld+json" in lowered:
        found.add(JSONLD)
    if b"review" in lowered:
        if (b"itemscope" in lowered or b"itemtype" in lowered) and _MICRODATA_BYTES.search(lowered):
            found.add(MICRODATA)
        if b"typeof" in lowered and _RDFA_BYTES.search(lowered):
            found.add(RDFA)
    return frozenset(found)


def microdata_nodes(root: HtmlElement, base_url: str) -> list[dict[str, Any]]:
    """The page's top-level microdata items, as JSON-LD-like nodes.

    ``root`` is an lxml HTML tree, e.g. ``response.selector.root``: no second parse.
    """
    from extruct.w3cmicrodata import MicrodataExtractor  # on first use: rdflib loads slowly

    if root.xpath(_TOO_DEEP):
        raise MarkupTooComplex(f"items nested more than {MAX_ITEM_DEPTH} levels deep; not read")
    count = int(root.xpath("count(//*[@itemscope])"))
    if count > MAX_ITEMS:
        raise MarkupTooComplex(f"{count} items, more than {MAX_ITEMS}; not read")
    items = MicrodataExtractor().extract_items(root, base_url)
    return [_from_microdata(item, 0) for item in items]


def _from_microdata(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [_from_microdata(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    node: dict[str, Any] = {}
    kind = value.get("type")
    if kind is not None:
        node["@type"] = kind
    if isinstance(value.get("id"), str):
        node["@id"] = value["id"]
    properties = value.get("properties")
    if isinstance(properties, dict):
        for key, prop in properties.items():
            node.setdefault(str(key), _from_microdata(prop, depth + 1))
    elif "value" in value:  # an itemprop that is both a value and an item
        return value["value"]
    return node


def rdfa_nodes(html: str | bytes, base_url: str) -> list[dict[str, Any]]:
    """The page's RDFa Review nodes, compacted, with the nodes they refer to embedded.

    pyRdfa needs a DOM-like tree of its own, so the page is parsed again here; callers
    run this only on pages where ``detect_markups`` found RDFa.
    """
    from extruct.rdfa import RDFaExtractor
    from extruct.utils import parse_xmldom_html

    tree = parse_xmldom_html(html, encoding="utf-8")
    expanded = RDFaExtractor().extract_items(tree, base_url=base_url, expanded=True)
    graph = {
        node["@id"]: node
        for node in expanded
        if isinstance(node, dict) and isinstance(node.get("@id"), str)
    }
    return [_compact(node, graph, 0) for node in graph.values() if _is_review_node(node)]


def _is_review_node(node: dict[str, Any]) -> bool:
    kinds = node.get("@type")
    return isinstance(kinds, list) and any(
        isinstance(k, str) and _short(k).endswith("Review") for k in kinds
    )


def _short(iri: str) -> str:
    match = _LAST_SEGMENT.search(iri)
    return match.group(0) if match else iri


def _compact(node: dict[str, Any], graph: dict[str, Any], depth: int) -> dict[str, Any]:
    """``{"https://schema.org/name": [{"@value": "x"}]}`` becomes ``{"name": "x"}``."""
    out: dict[str, Any] = {"@id": node.get("@id")}
    kinds = node.get("@type")
    if isinstance(kinds, list):
        out["@type"] = [_short(k) for k in kinds if isinstance(k, str)]
    for key, values in node.items():
        if key.startswith("@") or not isinstance(values, list):
            continue
        converted = [_value(v, graph, depth) for v in values]
        out[_short(key)] = converted[0] if len(converted) == 1 else converted
    return out


def _value(value: Any, graph: dict[str, Any], depth: int) -> Any:
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    ref = value.get("@id")
    if isinstance(ref, str) and ref in graph and depth < MAX_DEPTH:
        return _compact(graph[ref], graph, depth + 1)
    return ref
