"""Turning stored values into safe, short text for the pages.

Scraped text is hostile: anything a review author wrote goes through ``escape_markdown``
before it reaches ``st.markdown``, or is shown with ``st.text``, which parses nothing.
Links are made only from http(s) URLs, percent-encoded so they cannot break out of the
Markdown link.
"""

from __future__ import annotations

import re
import string
from datetime import datetime
from urllib.parse import quote, urlsplit

from repwatch.triage import stars

# CommonMark lets a backslash escape any ASCII punctuation; Streamlit's extensions
# (:red[...] directives, :emoji: codes, $math$) start with punctuation as well.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# Characters kept as they are inside a link target; everything else is percent-encoded,
# notably ( ) < > [ ] spaces, backslashes, quotes and $.
_URL_SAFE = ":/?#@&+,;=%~-._"
LINK_SCHEMES = ("http", "https")


def escape_markdown(text: str, *, single_line: bool = True) -> str:
    """``text`` as Markdown that renders as exactly these characters.

    With ``single_line`` runs of whitespace (newlines too) become one space; otherwise
    lines become paragraphs.
    """
    if single_line:
        return _PUNCTUATION.sub(r"\\\1", " ".join(text.split()))
    lines = (_PUNCTUATION.sub(r"\\\1", " ".join(line.split())) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL, the only kind the pages link to."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.netloc)


def markdown_link(label: str, url: str) -> str:
    """A Markdown link to an http(s) ``url``; other URLs come back as escaped plain text."""
    if not is_web_url(url):
        return escape_markdown(url)
    return f"[{escape_markdown(label)}]({quote(url.strip(), safe=_URL_SAFE)})"


def stars_label(rating: float | None) -> str:
    """A 0..1 rating as stars out of five, e.g. ``★★☆☆☆ 2/5``."""
    if rating is None:
        return "no rating"
    count = min(5, max(1, round(stars(rating))))
    return f"{'★' * count}{'☆' * (5 - count)} {count}/5"


def duration(seconds: float) -> str:
    """A span of time, coarse as people read it: ``2 d 3 h``, ``5 h``, ``7 min``."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def time_left(deadline: datetime, now: datetime) -> tuple[str, bool]:
    """``("due in 3 h 20 min", False)`` or ``("overdue by 2 h", True)``."""
    seconds = (deadline - now).total_seconds()
    if seconds < 0:
        return f"overdue by {duration(seconds)}", True
    return f"due in {duration(seconds)}", False


def ago(moment: datetime, now: datetime) -> str:
    """How long ago ``moment`` was, e.g. ``3 d 2 h ago``."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{duration(seconds)} ago"


SENTIMENT_COLOURS = {"negative": "red", "neutral": "gray", "positive": "green"}


def topic_label(key: str) -> str:
    """A topic key as people read it: ``order_tracking`` -> ``Order tracking`` (not escaped)."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def sentiment_badge(label: str | None) -> str:
    """A coloured Markdown badge for a sentiment label (our own vocabulary, escaped anyway)."""
    if label is None:
        return ":gray-badge[not analysed]"
    colour = SENTIMENT_COLOURS.get(label, "gray")
    return f":{colour}-badge[{escape_markdown(label)}]"


def reach_label(reach: int | None) -> str:
    """Followers or audience, short: ``120k``, ``3.4M``, ``950``."""
    if reach is None:
        return "unknown reach"
    if reach >= 1_000_000:
        return f"{reach / 1_000_000:.1f}M reach"
    if reach >= 10_000:
        return f"{reach / 1000:.0f}k reach"
    if reach >= 1000:
        return f"{reach / 1000:.1f}k reach"
    return f"{reach} reach"


def brand_label(key: str, names: dict[str, str], competitors: tuple[str, ...] = ()) -> str:
    """The brand's configured name (unknown keys as they are), marked when a competitor."""
    name = names.get(key, key)
    return f"{name} (competitor)" if key in competitors else name


def plain(text: str | None, limit: int | None = None) -> str:
    """Scraped text for a table cell or ``st.text``: one line, optionally shortened.

    Tables and ``st.text`` parse nothing, so the text needs no escaping, only tidying.
    """
    if not text:
        return ""
    one_line = " ".join(text.split())
    if limit is not None and len(one_line) > limit:
        return one_line[: limit - 1].rstrip() + "…"
    return one_line
