"""Coerce loose schema.org values (ratings, dates, authors, URLs) into typed ones.

Every function here takes whatever a web page put in its JSON-LD and returns a clean value
or ``None``; none of them raises on odd input, so one strange review never stops a crawl.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

DEFAULT_BEST_RATING = 5.0
DEFAULT_WORST_RATING = 1.0
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid"})
MAX_LANGUAGE_LENGTH = 16  # the mentions.language column
_WHITESPACE = re.compile(r"\s+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def clean_text(value: Any) -> str | None:
    """A string with whitespace collapsed, or ``None`` for empty and non-string values."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("@value")
    if not isinstance(value, str):
        return None
    # Lone surrogates (from "\ud800" escapes) and NUL cannot be stored in PostgreSQL text.
    value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    text = _WHITESPACE.sub(" ", value).strip()
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
    """``value`` resolved against the page, without tracking parameters (and fragment).

    Returns ``None`` unless the result is an http(s) URL with a host.
    """
    try:
        parts = urlsplit(urljoin(page_url, value.strip()))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
        ]
        fragment = parts.fragment if keep_fragment else ""
        return urlunsplit(
            (parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), fragment)
        )
    except ValueError:  # e.g. an invalid IPv6 host or port
        return None
