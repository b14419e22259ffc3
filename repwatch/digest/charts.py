"""The digest's charts: matplotlib figures drawn on the Agg canvas, as PNG ``data:`` URIs.

Figures are made without ``pyplot`` (no figure manager, nothing left open); the style is
set with ``rc_context``, which changes matplotlib's global settings for the moment, so a
lock keeps two threads from drawing at once. Labels are never parsed as mathtext: a
``$`` in a brand or topic name stays a ``$``.
"""

from __future__ import annotations

import base64
import io
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from repwatch.digest.figures import Digest, TopicWeek

DPI = 150
SIZE = (4.4, 2.5)  # inches; two charts side by side on an A4 page
_DRAWING = threading.Lock()
THIS_WEEK, LAST_WEEK = "#1f5fa8", "#a9c4e4"
SENTIMENT = {"negative": "#c8312b", "neutral": "#b8b8b8", "positive": "#2e8b57"}
STAR_COLORS = ("#c8312b", "#e8853b", "#e9c46a", "#8cbf6a", "#2e8b57")


def data_uri(png: bytes) -> str:
    """``png`` as a ``data:`` URI for an ``<img src>``: nothing to fetch, nothing to leak."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png(draw: Callable[[Axes], None], size: tuple[float, float] = SIZE) -> bytes:
    with (
        _DRAWING,
        matplotlib.rc_context(
            {
                "text.parse_math": False,
                "font.family": "DejaVu Sans",
                "font.size": 8,
                "axes.titlesize": 9,
                "legend.fontsize": 7,
                "axes.spines.top": False,
                "axes.spines.right": False,
            }
        ),
    ):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _pairs(ax: Axes, labels: Sequence[str], now: Sequence[float], before: Sequence[float]) -> None:
    """Horizontal bars: this week (dark) over the week before (light), one pair per label."""
    ys = range(len(labels))
    height = 0.38
    ax.barh([y + height / 2 for y in ys], before, height, color=LAST_WEEK, label="Week before")
    ax.barh([y - height / 2 for y in ys], now, height, color=THIS_WEEK, label="This week")
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.legend(ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)


def volume_chart(d: Digest) -> bytes:
    """Mentions per brand, this week and the week before."""

    def draw(ax: Axes) -> None:
        rows = d.brands
        _pairs(
            ax,
            [r.name for r in rows],
            [r.week.mentions for r in rows],
            [r.previous.mentions for r in rows],
        )
        ax.set_title("Mentions per brand")

    return _png(draw)


def sentiment_chart(d: Digest) -> bytes:
    """Net sentiment per brand in percent, this week and the week before."""

    def draw(ax: Axes) -> None:
        rows = d.brands

        def net(value: float | None) -> float:
            return 0.0 if value is None else 100.0 * value

        _pairs(
            ax,
            [r.name for r in rows],
            [net(r.week.net_sentiment) for r in rows],
            [net(r.previous.net_sentiment) for r in rows],
        )
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_xlim(-100, 100)
        ax.xaxis.set_major_formatter(PercentFormatter())
        ax.set_title("Net sentiment: (positive \u2212 negative) / analysed")

    return _png(draw)


def ratings_chart(d: Digest) -> bytes | None:
    """Each brand's rated mentions by stars, as shares of 100 %."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    for r in d.ratings:
        if r.stars is not None:
            counts[r.brand][r.stars - 1] += r.mentions
    keys = [b.key for b in d.brands if sum(counts.get(b.key, ())) > 0]
    if not keys:
        return None

    def draw(ax: Axes) -> None:
        ys = list(range(len(keys)))
        left = [0.0] * len(keys)
        for star in range(5):
            shares = [100.0 * counts[k][star] / sum(counts[k]) for k in keys]
            ax.barh(ys, shares, left=left, color=STAR_COLORS[star], label=f"{star + 1}\u2605")
            left = [a + b for a, b in zip(left, shares, strict=True)]
        ax.set_yticks(ys, [d.name(k) for k in keys])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(PercentFormatter())
        ax.legend(ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
        ax.set_title("Ratings this week")

    return _png(draw)


def daily_chart(d: Digest) -> bytes | None:
    """The scope's mentions per day of the week, by sentiment."""
    if not d.daily:
        return None
    days = [d.week.monday + timedelta(days=n) for n in range(7)]
    per_day: dict[str, list[int]] = {s: [0] * 7 for s in SENTIMENT}
    for p in d.daily:
        index = (p.period - d.week.monday).days
        if 0 <= index < 7:
            for label in SENTIMENT:
                per_day[label][index] += getattr(p, label)

    def draw(ax: Axes) -> None:
        bottom = [0] * 7
        labels = [f"{day:%a} {day.day}" for day in days]
        for label, color in SENTIMENT.items():
            ax.bar(labels, per_day[label], bottom=bottom, color=color, label=label)
            bottom = [a + b for a, b in zip(bottom, per_day[label], strict=True)]
        ax.legend(frameon=False, ncols=3, loc="upper left")
        ax.set_ylim(0, max(bottom or [1]) * 1.25 or 1)
        ax.set_title(f"Mentions per day: {d.scope_label}")

    return _png(draw)


def topics_chart(d: Digest) -> bytes | None:
    """Change of each listed topic's negative share, in percentage points."""
    topics: list[TopicWeek] = [t for t in (*d.topics_worse, *d.topics_better) if t.change]
    if not topics:
        return None
    topics.sort(key=lambda t: -(t.change or 0))

    def draw(ax: Axes) -> None:
        changes = [t.change or 0.0 for t in topics]
        colors = [SENTIMENT["negative"] if c > 0 else SENTIMENT["positive"] for c in changes]
        ax.barh([t.topic.replace("_", " ") for t in topics], changes, color=colors)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_xlabel("percentage points (right: more negative)")
        ax.set_title("Negative share of topics against the week before")

    return _png(draw)


def chart_images(d: Digest) -> dict[str, str]:
    """Every chart the digest has data for, by name, as ``data:`` URIs."""
    if not d.brands:
        return {}
    charts = {
        "volume": volume_chart(d),
        "sentiment": sentiment_chart(d),
        "daily": daily_chart(d),
        "ratings": ratings_chart(d),
        "topics": topics_chart(d),
    }
    return {name: data_uri(png) for name, png in charts.items() if png is not None}
