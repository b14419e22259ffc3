"""Figures as short text, the same in every format: percentages, durations, excerpts.

These return plain text; each renderer escapes it for its own format (HTML, Markdown,
CSV), because scraped text can hold anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from repwatch.store.views import QueueItem

NONE = "\u2013"  # en dash: no figure
ELLIPSIS = "\u2026"


def count_change(value: float | None) -> str:
    """``+12%`` / ``-3%`` against the week before; a dash without a previous week."""
    return NONE if value is None else f"{value:+.0f}%"


def share(value: float | None, digits: int = 0) -> str:
    """A 0..1 share as ``42%``."""
    return NONE if value is None else f"{100 * value:.{digits}f}%"


def net(value: float | None) -> str:
    """Net sentiment (-1..1) as ``+35%``."""
    return NONE if value is None else f"{100 * value:+.0f}%"


def points(value: float | None) -> str:
    """A change in percentage points: ``+4.5 pp``."""
    return NONE if value is None else f"{value:+.1f} pp"


def duration(span: timedelta | None, *, short: bool = False) -> str:
    """A time span as people read it: ``2 d 3 h``, ``5 h 10 min``, ``7 min``.

    ``short`` keeps the larger unit only (``2 d``, ``5 h``, ``7 min``), for headlines.
    """
    if span is None:
        return NONE
    minutes = int(abs(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours and not short else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes and not short else f"{hours} h"
    return f"{minutes} min"


def when(moment: datetime | None) -> str:
    """``Mon 16 Nov 14:05`` (UTC)."""
    return NONE if moment is None else f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def excerpt(text: str | None, limit: int = 220) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] or flat[: limit - 1]
    return cut + ELLIPSIS


def web_url(url: str) -> str | None:
    """``url`` when it is an absolute http(s) URL (the only kind linked), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    ok = parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return url.strip() if ok else None


def stars(rating: float | None) -> str:
    """A 0..1 rating as ``2/5``."""
    return NONE if rating is None else f"{round(1 + 4 * rating)}/5"


def topic_name(key: str) -> str:
    """``order_tracking`` as ``Order tracking``."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def item_state(item: QueueItem) -> str:
    """What became of an item: ``answered`` (with when), ``dismissed`` or ``open``."""
    if item.responded_at is not None or item.status == "responded":
        return f"answered {when(item.responded_at)}" if item.responded_at else "answered"
    if item.status == "dismissed":
        return "dismissed"
    who = f", assigned to {item.assignee}" if item.assignee else ", unassigned"
    return f"open{who}"


def overdue_by(deadline: datetime, now: datetime) -> str:
    """``overdue by 2 d 3 h`` (or ``due in ...`` when the deadline is still ahead)."""
    late = now - deadline
    if late.total_seconds() < 0:
        return f"due in {duration(-late)}"
    return f"overdue by {duration(late)}"
