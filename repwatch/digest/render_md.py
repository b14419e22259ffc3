"""The digest as Markdown (CommonMark with pipe tables), for chat, wikis and e-mail.

Stored text (names, titles, review texts, sources, sites, people) goes through
``escape``: each ASCII punctuation character is backslash-escaped, which CommonMark
renders as the character itself, so scraped text can neither format, link, nor inject
HTML, nor break a table cell. Figures are our own text and stay readable. Links are
made only from http(s) URLs, percent-encoded inside ``<...>``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from repwatch.digest import text
from repwatch.digest.figures import BrandWeek, Digest, TopicWeek
from repwatch.store.views import QueueItem

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_URL_SAFE = ":/?#@&+,;=%~-._!*'"
BRAND_HEADER = ("Brand", "Mentions", "vs week before", "Negative", "Positive", "Net sentiment",
                "Week before", "Change")  # fmt: skip


def escape(value: object) -> str:
    """``value`` as Markdown that renders as exactly its characters, on one line."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def link(label: str, url: str) -> str:
    """A Markdown link to an http(s) ``url``; otherwise the escaped label alone."""
    safe = text.web_url(url)
    if safe is None:
        return escape(label)
    return f"[{escape(label)}](<{quote(safe, safe=_URL_SAFE)}>)"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A pipe table; cells are already escaped (``escape`` turns ``|`` into ``\\|``)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _headline(d: Digest) -> list[str]:
    t, f = d.total, d.flagged
    mentions = f"{t.week.mentions} ({text.count_change(t.volume_change)})" if t else "0"
    net = f"{text.net(t.week.net_sentiment)} ({text.points(t.net_change)})" if t else text.NONE
    voice = text.share(d.voice[-1].own_share) if d.voice else text.NONE
    so_far = "" if d.complete else f" \u00b7 so far, until {text.when(d.until)} UTC"
    return [
        f"# Reputation digest: {escape(d.scope_label)}",
        "",
        f"**{d.week.label}**{so_far} \u00b7 generated {text.when(d.generated_at)} UTC",
        "",
        *_table(
            ("Mentions", "Net sentiment", "Flagged", "Past deadline", "Median response", "Voice"),
            [
                (
                    mentions,
                    net,
                    f"{f.flagged} ({f.responded} answered, {f.open} open)",
                    str(d.overdue.count),
                    text.duration(d.responses.median),
                    voice,
                )
            ],
        ),
    ]


def _brand(r: BrandWeek, bold: bool = False) -> list[str]:
    name = escape(r.name) + (" (competitor)" if r.competitor and not bold else "")
    return [
        f"**{name}**" if bold else name,
        str(r.week.mentions),
        text.count_change(r.volume_change),
        str(r.week.negative),
        str(r.week.positive),
        text.net(r.week.net_sentiment),
        text.net(r.previous.net_sentiment),
        text.points(r.net_change),
    ]


def _brands(d: Digest) -> list[str]:
    rows = [*(_brand(r) for r in d.brands), *(_brand(r, bold=True) for r in d.groups)]
    return [
        "## Volume and sentiment by brand",
        "",
        *_table(BRAND_HEADER, rows),
        "Net sentiment = (positive \u2212 negative) / analysed mentions.",
        "",
    ]


def _topics(title: str, topics: Sequence[TopicWeek], d: Digest) -> list[str]:
    out = [f"### {title}", ""]
    if not topics:
        return [*out, "None this week.", ""]
    for t in topics:
        change = text.points(t.change) if t.change is not None else "new this week"
        out.append(
            f"- **{escape(text.topic_name(t.topic))}**: {t.mentions} mentions, "
            f"{text.share(t.negative_share)} negative (week before "
            f"{text.share(t.previous_negative_share)}, {change})"
        )
        out += [
            f"  - \u201c{escape(text.excerpt(m.text, 160))}\u201d \u2014 "
            f"{escape(d.name(m.brand))}, {escape(m.source)}"
            for m in t.examples
        ]
    return [*out, ""]


def _mention(i: QueueItem) -> str:
    """The linked title (or start of the text), then the text when there is a title."""
    if i.title:
        head = link(text.excerpt(i.title, 90), i.url)
        return f"**{head}** \u2014 {escape(text.excerpt(i.text, 200))}"
    return link(text.excerpt(i.text, 200), i.url)


def _state(i: QueueItem, d: Digest, overdue: bool) -> str:
    state = escape(text.item_state(i))
    if not overdue:
        return state
    return f"{text.when(i.deadline_at)}, {text.overdue_by(i.deadline_at, d.until)}, {state}"


def _items(items: Sequence[QueueItem], d: Digest, overdue: bool) -> list[str]:
    if not items:
        return ["None.", ""]
    rows = [
        (
            f"{i.priority:.0f}",
            f"{escape(d.name(i.brand))} \u00b7 {escape(i.source)}",
            _mention(i),
            _state(i, d, overdue),
        )
        for i in items
    ]
    last = "Deadline" if overdue else "Answered?"
    return _table(("Priority", "Brand \u00b7 source", "Mention", last), rows)


def _queue(d: Digest) -> list[str]:
    f, rs = d.flagged, d.responses
    return [
        "## Most serious negative items",
        "",
        f"{f.flagged} items flagged this week: {f.responded} answered, {f.dismissed} dismissed, "
        f"{f.open} still open.",
        "",
        *_items(f.items, d, overdue=False),
        "## Past their response deadline",
        "",
        f"{d.overdue.count} open items were past their deadline at the end of the week.",
        "",
        *_items(d.overdue.items, d, overdue=True),
        "## Response times",
        "",
        f"{rs.responded} items answered this week: median {text.duration(rs.median)}, "
        f"90th percentile {text.duration(rs.p90)}, {rs.on_time} by their deadline.",
        "",
        *_table(
            ("Team member", "Answered", "Median", "By the deadline"),
            [
                (escape(a.assignee), str(a.responded), text.duration(a.median), str(a.on_time))
                for a in rs.by_assignee
            ],
        ),
    ]


def _sources(d: Digest) -> list[str]:
    out = ["## New sources of negative mentions", ""]
    if not d.new_sources:
        return [*out, "No site brought negative mentions that was quiet the 12 weeks before.", ""]
    rows = [
        (
            escape(s.host),
            escape(", ".join(s.sources)),
            str(s.mentions),
            link(text.excerpt(s.example.title or s.example.text, 120), s.example.url)
            if s.example
            else "",
        )
        for s in d.new_sources
    ]
    return [*out, *_table(("Site", "Crawled through", "Negative", "Most negative"), rows)]


def digest_markdown(d: Digest) -> str:
    """The digest as a Markdown document (no charts: the numbers behind them are here)."""
    ov = d.overview
    out = [
        *_headline(d),
        *_brands(d),
        "## Topics that changed",
        "",
        *_topics("Got worse", d.topics_worse, d),
        *_topics("Got better", d.topics_better, d),
        *_queue(d),
        *_sources(d),
        "## The whole queue",
        "",
        f"All brands, at the end of the week: {ov.open_items} open items, "
        f"{ov.overdue_items} overdue, {ov.escalated_items} escalated.",
        "",
    ]
    return "\n".join(out)
