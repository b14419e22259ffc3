"""The digest as a PDF: the HTML page laid out by WeasyPrint on A4.

WeasyPrint would fetch every ``src`` and ``url()`` it meets; here it fetches nothing.
``DataOnlyFetcher`` answers ``data:`` URIs (the charts) and refuses every other URL, so
scraped text that slipped through as markup could not reach the network or local files.
"""

from __future__ import annotations

import logging
from typing import Any

from repwatch.digest.figures import Digest
from repwatch.digest.render_html import digest_html

log = logging.getLogger(__name__)


def _fetcher() -> Any:
    """A ``weasyprint.URLFetcher`` that serves ``data:`` URIs only."""
    from weasyprint import URLFetcher

    class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("data:"):
                log.warning("digest PDF: refused to fetch %.80s", url)
                raise ValueError(f"the digest fetches nothing but data: URIs, not {url[:80]!r}")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols=("data",), allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """Lay out ``html`` (self-contained) as a PDF, fetching only ``data:`` URIs."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=None, url_fetcher=_fetcher()).write_pdf()
    return pdf


def digest_pdf(digest: Digest) -> bytes:
    """The digest as PDF bytes."""
    return html_to_pdf(digest_html(digest))
