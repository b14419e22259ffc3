"""Read one fetched review page, whatever shape it arrives in: ``read_page(response)``.

Pages lie about themselves. A page is read the way it really is and each lie is reported
as a ``PageProblem`` (kinds of ``crawler.reporting``):

- ``empty``: nothing but whitespace;
- ``content-type``: HTML served as JSON or JSON served as HTML (read as what it is), or
  a page that is not text at all;
- ``encoding``: a page declared in a single-byte charset that is really UTF-8 (read as
  UTF-8), or bytes that are not valid in the declared encoding (UTF-8 pages with stray
  Windows-1252 bytes, "mixed encodings", have those bytes read as Windows-1252);
- plus what ``crawler.extract`` reports about the structured data itself.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.extract import (
    PageExtract,
    PageLinks,
    PageProblem,
    extract_json,
    extract_page,
    page_links,
)
from crawler.markup import detect_markups

_FIRST_BYTE = re.compile(rb"\S")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_SINGLE_BYTE = re.compile(r"^(latin[-_]?1|iso8859|iso-8859|cp125|windows-125|ascii)")
_FALLBACK_ERRORS = "repwatch-cp1252"


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read each undecodable byte as Windows-1252 (or Latin-1)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", errors="replace").replace("\ufffd", "?"), error.end


codecs.register_error(_FALLBACK_ERRORS, _cp1252_bytes)


@dataclass(frozen=True, slots=True)
class PageRead:
    """What one page holds and what was wrong with it."""

    extract: PageExtract
    problems: tuple[PageProblem, ...]  # about the page itself; extract.problems has the rest
    links: PageLinks = field(default_factory=PageLinks)
    page_url: str = ""  # <link rel="canonical"> when the page names one, else its URL

    @property
    def all_problems(self) -> tuple[PageProblem, ...]:
        return self.problems + self.extract.problems


def read_page(response: Response) -> PageRead:
    """Decode a page robustly and read its reviews (JSON-LD, microdata, RDFa)."""
    body = response.body
    start = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    match = _FIRST_BYTE.search(body, start, start + 4096)
    if match is None:
        if body[start:].strip():  # only invisible bytes, or text after 4 KiB of space
            match = _FIRST_BYTE.search(body, start)
        if match is None:
            reason = f"empty page ({len(body)} bytes of whitespace)" if body else "empty page"
            return PageRead(PageExtract(), (PageProblem("empty", reason),), page_url=response.url)
    first = body[match.start() : match.start() + 1]
    declared = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    sniffed = "json" if first in (b"{", b"[") else "html" if first == b"<" else "text"
    problems: list[PageProblem] = []
    served_as_json = "json" in declared
    if not isinstance(response, TextResponse) and sniffed == "text":
        shown = declared or "no Content-Type"
        return PageRead(
            PageExtract(),
            (PageProblem("content-type", f"not a text page ({shown})"),),
            page_url=response.url,
        )
    if sniffed == "json" and not served_as_json:
        problems.append(
            PageProblem(
                "content-type",
                f"served as {declared or 'no type'} but the body is JSON; read as JSON",
            )
        )
    elif sniffed == "html" and served_as_json:
        problems.append(
            PageProblem("content-type", f"served as {declared} but the body is HTML; read as HTML")
        )
    if not isinstance(response, TextResponse) or (served_as_json and sniffed == "html"):
        response = HtmlResponse(response.url, headers=response.headers, body=body)
    assert isinstance(response, TextResponse)
    response, problem = _decoded(response)
    if problem is not None:
        problems.append(problem)
    if sniffed == "json":
        return PageRead(
            extract_json(response.text, response.url), tuple(problems), PageLinks(), response.url
        )
    return _read_html(response, problems)


def _read_html(response: TextResponse, problems: list[PageProblem]) -> PageRead:
    # The byte scan only works for ASCII-compatible encodings; others are scanned as text.
    wide = response.encoding.lower().startswith(("utf-16", "utf_16", "utf-32", "utf_32"))
    markups = detect_markups(response.text if wide else response.body)
    try:
        selector = response.selector
        links = page_links(selector, response.url)
    except (ValueError, UnicodeError) as exc:  # lxml refuses some byte soup outright
        problems.append(PageProblem("html", f"page is not parseable HTML: {exc}"))
        return PageRead(PageExtract(), tuple(problems), page_url=response.url)
    base = links.canonical or response.url
    return PageRead(extract_page(selector, base, markups), tuple(problems), links, base)


def _decoded(response: TextResponse) -> tuple[TextResponse, PageProblem | None]:
    """The response with a text that is right, and what was wrong with its encoding."""
    body = response.body
    if body.isascii():
        return response, None
    encoding = codecs.lookup(response.encoding).name
    if encoding == "utf-8":
        text = response.text
        if "\ufffd" not in text or text.count("\ufffd") == body.count(b"\xef\xbf\xbd"):
            return response, None
        fixed = body.decode("utf-8", errors=_FALLBACK_ERRORS)
        bad = text.count("\ufffd") - body.count(b"\xef\xbf\xbd")
        reason = f"{bad} bytes are not valid UTF-8 (mixed encodings?); read them as Windows-1252"
        return _with_text(response, fixed), PageProblem("encoding", reason)
    if _SINGLE_BYTE.match(encoding) and not body.startswith(_BOMS):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return response, None  # really single-byte; every byte decodes
        reason = f"declared as {response.encoding} but the page is UTF-8; read as UTF-8"
        return _with_text(response, text), PageProblem("encoding", reason)
    text = response.text
    if "\ufffd" in text:
        reason = f"bytes not valid in the declared encoding {response.encoding} were replaced"
        return response, PageProblem("encoding", reason)
    return response, None


def _with_text(response: TextResponse, text: str) -> TextResponse:
    replaced = response.replace(body=text.encode("utf-8"), encoding="utf-8")
    assert isinstance(replaced, TextResponse)
    return replaced
