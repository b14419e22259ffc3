"""Coerce loose schema.org values (ratings, dates, authors, URLs) into typed ones.

Every function here takes whatever a web page put in its JSON-LD and returns a clean value
or ``None``; none of them raises on odd input, so one strange review never stops a crawl.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

DEFAULT_BEST_RATING = 5.0
DEFAULT_WORST_RATING = 1.0
# Query parameters that say how a visitor arrived, not what the page shows.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "ref",
     "ref_src", "ref_url", "_hsenc", "_hsmi", "mkt_tok"}
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "mc_")
# Host prefixes of the same site's mobile and "www" variants, folded in review identities.
HOST_VARIANTS = ("www.", "m.", "mobile.")
MAX_LANGUAGE_LENGTH = 16  # the mentions.language column
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# scheme://host[:port]/path?query#fragment with a plain DNS or IPv4 host and nothing that
# urllib would strip or treat specially; anything else takes the urllib path.
_SIMPLE_URL = re.compile(
    r"(?ai)(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::([0-9]{1,5}))?"
    r"(/[^?#\s\\\x00-\x1f\x7f]*)?(?:\?([^#\s\\\x00-\x1f\x7f]*))?(?:#([^\s\x00-\x1f\x7f]*))?\Z"
)


def clean_text(value: Any) -> str | None:
    """A string in NFC with whitespace collapsed; ``None`` for empty and non-string values.

    What it returns is already what ``crawler.pipelines.normalise_text`` would make of it.
    """
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("@value")
    if not isinstance(value, str):
        return None
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (from "\ud800" escapes) cannot be stored in PostgreSQL text.
            value = value.encode("utf-8", "replace").decode("utf-8")
        value = unicodedata.normalize("NFC", value)
    # split() and join: the same whitespace as \s+, several times faster than re.sub.
    text = " ".join(value.split())
    return text or None


def to_number(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string ("4", "4.5", "4,5")."""
    if isinstance(value, bool):
        return None  # bool is an int subclass; True is not a rating of 1
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def normalise_rating(rating: Any) -> float | None:
    """``reviewRating`` as 0..1: (value - worst) / (best - worst), clamped.

    ``bestRating`` defaults to 5 and ``worstRating`` to 1, as schema.org says. Returns
    ``None`` when there is no usable value or the scale is empty or inverted.
    """
    if isinstance(rating, list) and rating:
        rating = rating[0]
    if isinstance(rating, dict):
        value = to_number(rating.get("ratingValue"))
        best = to_number(rating.get("bestRating"))
        worst = to_number(rating.get("worstRating"))
    else:
        value, best, worst = to_number(rating), None, None
    if value is None:
        return None
    best = DEFAULT_BEST_RATING if best is None else best
    worst = DEFAULT_WORST_RATING if worst is None else worst
    if best <= worst:
        return None
    return min(1.0, max(0.0, (value - worst) / (best - worst)))


def parse_published(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 date or date-time; dates mean midnight UTC."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        if _DATE_ONLY.match(text):
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)  # no offset given: read it as UTC
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def author_name(value: Any) -> str | None:
    """The author's name: a plain string, or the ``name`` of a Person/Organization."""
    if isinstance(value, list):
        for entry in value:
            name = author_name(entry)
            if name:
                return name
        return None
    if isinstance(value, dict):
        return clean_text(value.get("name"))
    return clean_text(value)


def language_tag(value: Any) -> str | None:
    """``inLanguage`` as a tag such as "de" or "pt-BR" (also from a Language object)."""
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    text = clean_text(value)
    if text is None or len(text) > MAX_LANGUAGE_LENGTH or " " in text:
        return None
    return text


def canonical_url(value: str, page_url: str, *, keep_fragment: bool = False) -> str | None:
    """``value`` resolved against the page, in one canonical spelling.

    Scheme and host lower case, default port dropped, tracking parameters (``utm_*``,
    ``mc_*``, ``fbclid``, ``gclid``, ``ref``, ...) removed, the other parameters sorted,
    the fragment dropped unless ``keep_fragment``. Returns ``None`` unless the result is
    an http(s) URL with a host. The host is kept as it is (``www.`` and ``m.`` too), so
    the URL still opens; ``identity_url`` also folds host variants.
    """
    joined = _join(page_url, value.strip())
    fast = _canonical_simple(joined, keep_fragment)
    return fast if fast is not None else _canonical_urllib(joined, keep_fragment)


def _canonical_simple(url: str, keep_fragment: bool) -> str | None:
    """``_canonical_urllib`` for the common simple URL, a few times faster; else ``None``."""
    simple = _SIMPLE_URL.match(url)
    if simple is None:
        return None
    scheme, host, port_text, path, query, fragment = simple.groups()
    scheme, host = scheme.lower(), host.lower()
    if port_text:
        port = int(port_text)
        if port > 65535:
            return None
        if port != (443 if scheme == "https" else 80):
            host = f"{host}:{port}"
    return _assemble(scheme, host, path, query, fragment if keep_fragment else "")


def _canonical_urllib(url: str, keep_fragment: bool) -> str | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in ("http", "https") or not host:
            return None
        port = parts.port
    except ValueError:  # e.g. an invalid IPv6 host or port
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc = f"{netloc}:{port}"
    fragment = parts.fragment if keep_fragment else ""
    return _assemble(scheme, netloc, parts.path, parts.query, fragment)


def _assemble(
    scheme: str, netloc: str, path: str | None, query: str | None, fragment: str | None
) -> str:
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(sorted((k, v) for k, v in pairs if not _tracking(k)))
    # What urlunsplit gives for an http(s) URL with a host, without its generality.
    url = f"{scheme}://{netloc}{path or '/'}"
    if query:
        url = f"{url}?{query}"
    return f"{url}#{fragment}" if fragment else url


def _join(base: str, value: str) -> str:
    """``urljoin`` with fast paths for absolute URLs and absolute paths (most review ids)."""
    if value[:8].lower().startswith(("https://", "http://")):
        return value
    if value.startswith("/") and not value.startswith("//") and "/." not in value:
        scheme, _, rest = base.partition("://")
        if rest and scheme.lower() in ("http", "https"):
            host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            return f"{scheme}://{host}{value}"
    return urljoin(base, value)


def identity_url(value: str, page_url: str, *, keep_fragment: bool = True) -> str | None:
    """``canonical_url`` with ``www.``, ``m.`` and ``mobile.`` host variants folded.

    Used for review identities, so a review reached through the mobile or the desktop
    site is stored once. The fragment is kept by default: ``/reviews#r-12`` names one
    review of a page.
    """
    url = canonical_url(value, page_url, keep_fragment=keep_fragment)
    return None if url is None else fold_host(url)


def fold_host(url: str) -> str:
    """A canonical URL with a leading ``www.``, ``m.`` or ``mobile.`` dropped from its host.

    At least two host labels stay: "m.shop.example" becomes "shop.example", "m.example"
    stays.
    """
    scheme, sep, rest = url.partition("://")
    for prefix in HOST_VARIANTS:
        if rest.startswith(prefix):
            host = rest.split("/", 1)[0]
            if host.count(".") >= 2:
                return f"{scheme}{sep}{rest.removeprefix(prefix)}"
            break
    return url


def _tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)
