"""The digest's figures as CSV for spreadsheets: one block per section, a header per block.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, after any spaces) get a leading ``'``, as the OWASP
"CSV Injection" guidance says; a review saying ``=HYPERLINK(...)`` stays text. Numbers
are written as numbers (a computed ``-12.5`` is a value, not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from repwatch.digest import text
from repwatch.digest.figures import BrandWeek, Digest, TopicWeek
from repwatch.store.views import QueueItem

Cell = str | int | float | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_LIMIT = 2000  # characters of a mention's text per cell


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.lstrip(" ").startswith(FORMULA_STARTS) else value


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, int):
        return value
    return neutralise(value)


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="minutes")


Row = Sequence[Cell]


def _block(
    out: list[list[str | int | float]], title: str, header: Row, rows: Iterable[Row]
) -> None:
    out.append([f"# {title}"])
    out.append([_cell(h) for h in header])
    out.extend([_cell(v) for v in row] for row in rows)
    out.append([])


def _brand(r: BrandWeek) -> list[Cell]:
    return [
        r.key,
        r.name,
        r.competitor,
        r.week.mentions,
        r.previous.mentions,
        r.volume_change,
        r.week.negative,
        r.week.neutral,
        r.week.positive,
        _pct(r.week.net_sentiment),
        _pct(r.previous.net_sentiment),
        r.net_change,
    ]


def _topic(direction: str, t: TopicWeek) -> list[Cell]:
    examples = [text.excerpt(m.text, TEXT_LIMIT) for m in t.examples]
    return [
        direction,
        t.topic,
        t.mentions,
        _pct(t.negative_share),
        t.previous_mentions,
        _pct(t.previous_negative_share),
        t.change,
        *[*examples, "", ""][:2],
    ]


ITEM_HEADER = (
    "Item",
    "Priority",
    "Brand",
    "Source",
    "Status",
    "Answered",
    "Responded at",
    "Deadline",
    "Assignee",
    "Published",
    "Author",
    "Stars",
    "Title",
    "Text",
    "URL",
)


def _item(i: QueueItem) -> list[Cell]:
    return [
        i.item_id,
        i.priority,
        i.brand,
        i.source,
        i.status,
        i.responded_at is not None,
        _iso(i.responded_at),
        _iso(i.deadline_at),
        i.assignee,
        _iso(i.published_at),
        i.author,
        None if i.rating is None else round(1 + 4 * i.rating),
        i.title,
        text.excerpt(i.text, TEXT_LIMIT),
        i.url,
    ]


def digest_csv(d: Digest) -> str:
    """Every figure of the digest as CSV text (UTF-8 when written; blocks of rows)."""
    w: list[list[str | int | float]] = []
    _block(
        w,
        "Digest",
        ("Field", "Value"),
        [
            ("Week", str(d.week)),
            ("From", _iso(d.since)),
            ("Until", _iso(d.until)),
            ("Brand", d.brand or "all"),
            ("Lists cover", d.scope_label),
            ("Generated", _iso(d.generated_at)),
        ],
    )
    _block(
        w,
        "Brands",
        (
            "Brand key",
            "Brand",
            "Competitor",
            "Mentions",
            "Mentions week before",
            "Mentions change %",
            "Negative",
            "Neutral",
            "Positive",
            "Net sentiment %",
            "Net sentiment week before %",
            "Net change pp",
        ),
        [_brand(r) for r in (*d.brands, *d.groups)],
    )
    _block(
        w,
        "Share of voice",
        ("Week from", "Own mentions", "Competitor mentions", "Own share %"),
        [(v.period.isoformat(), v.own, v.competitors, _pct(v.own_share)) for v in d.voice],
    )
    _block(
        w,
        "Ratings this week",
        ("Brand key", "Stars", "Mentions"),
        [(r.brand, r.stars if r.stars is not None else "unrated", r.mentions) for r in d.ratings],
    )
    _block(
        w,
        "Mentions per day",
        ("Day", "Brand key", "Mentions", "Negative", "Neutral", "Positive"),
        [
            (p.period.isoformat(), p.brand, p.mentions, p.negative, p.neutral, p.positive)
            for p in d.daily
        ],
    )
    _block(
        w,
        "Topics",
        (
            "Direction",
            "Topic",
            "Mentions",
            "Negative %",
            "Mentions week before",
            "Negative % week before",
            "Change pp",
            "Example 1",
            "Example 2",
        ),
        [
            *(_topic("worse", t) for t in d.topics_worse),
            *(_topic("better", t) for t in d.topics_better),
        ],
    )
    f = d.flagged
    _block(
        w,
        "Flagged this week",
        ("Flagged", "Answered", "Dismissed", "Open"),
        [(f.flagged, f.responded, f.dismissed, f.open)],
    )
    _block(w, "Most serious items", ITEM_HEADER, [_item(i) for i in f.items])
    _block(w, "Past their deadline", ("Count",), [(d.overdue.count,)])
    _block(w, "Overdue items", ITEM_HEADER, [_item(i) for i in d.overdue.items])
    rs = d.responses
    hours = [None if t is None else t.total_seconds() / 3600 for t in (rs.median, rs.p90)]
    _block(
        w,
        "Response times",
        ("Team member", "Answered", "Median hours", "90th percentile hours", "By the deadline"),
        [
            ("(everyone)", rs.responded, hours[0], hours[1], rs.on_time),
            *(
                (a.assignee, a.responded, a.median.total_seconds() / 3600, None, a.on_time)
                for a in rs.by_assignee
            ),
        ],
    )
    _block(
        w,
        "New sources of negative mentions",
        ("Site", "Sources", "Negative mentions", "Example URL", "Example text"),
        [
            (
                s.host,
                " ".join(s.sources),
                s.mentions,
                s.example.url if s.example else None,
                text.excerpt(s.example.text, TEXT_LIMIT) if s.example else None,
            )
            for s in d.new_sources
        ],
    )
    ov = d.overview
    _block(
        w,
        "Whole queue (all brands)",
        ("Open", "Overdue", "Escalated"),
        [(ov.open_items, ov.overdue_items, ov.escalated_items)],
    )
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(w)
    return buf.getvalue()
