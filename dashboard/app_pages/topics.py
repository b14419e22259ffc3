"""What people talk about: topic x sentiment, each topic's change since last month, and
what customers said behind a change (one click on the topic)."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.app_pages import _item
from dashboard.app_pages._common import page_start
from dashboard.render import escape_markdown, topic_label
from repwatch.store.views import TopicChange, TopicSummary

POLARITIES = ("negative", "neutral", "positive")
MONTHS = {"3 months": 3, "6 months": 6, "12 months": 12}
DEFAULT_MONTHS = "3 months"
SCOPES = ("All brands", "Own brands", "Competitors")


def render() -> None:
    """The page: period and brands, the heat map, the changes, and the items behind one."""
    context, _user = page_start(
        "Topics", "Topics the model found in each mention, with the polarity it gave each topic."
    )
    a, b = st.columns(2)
    months = a.segmented_control(
        "Period", list(MONTHS), default=DEFAULT_MONTHS, key="topics-months"
    )
    scope = b.segmented_control("Brands", SCOPES, default=SCOPES[0], key="topics-scope")
    brands = _brands(scope or SCOPES[0], context)
    summary = data.topic_summary(
        context.database_url, data.hour_ceiling(), MONTHS[months or DEFAULT_MONTHS], brands
    )
    if not summary.cells:
        st.info("No topics in this period yet: the scorer adds them to new analyses.")
        return
    left, right = st.columns([1, 1])
    with left:
        st.subheader("Topics by sentiment")
        st.altair_chart(_heatmap(summary))
    with right:
        st.subheader("Negative share by month")
        st.caption("Topics seen in more than one month, in percent of their mentions.")
        st.altair_chart(_trend(summary))
    st.subheader(f"Change in {summary.changes[0].month:%B %Y}" if summary.changes else "Change")
    st.caption(
        "Negative share of each topic's mentions this month against last month, in "
        "percentage points; the topics that got worse come first. Click a topic to read "
        "what customers said."
    )
    st.dataframe(_changes_table(summary.changes), hide_index=True, key="topic-changes")
    _items_behind(summary, context, brands)


def _brands(scope: str, context: data.DashboardContext) -> tuple[str, ...]:
    if scope == "Own brands":
        return tuple(b for b in sorted(context.brand_names) if b not in context.competitors)
    if scope == "Competitors":
        return context.competitors or ("",)
    return ()


def _heatmap(summary: TopicSummary) -> alt.LayerChart:
    frame = pd.DataFrame(
        [(topic_label(c.topic), c.polarity, c.mentions) for c in summary.cells],
        columns=["topic", "polarity", "mentions"],
    )
    top = int(frame["mentions"].max())
    base = alt.Chart(frame).encode(
        x=alt.X(
            "polarity:N",
            sort=list(POLARITIES),
            scale=alt.Scale(domain=list(POLARITIES)),
            title=None,
            axis=alt.Axis(orient="top", labelAngle=0),
        ),
        y=alt.Y("topic:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("mentions:Q", scale=alt.Scale(scheme="orangered"), legend=None),
        tooltip=["topic", "polarity", "mentions"],
    )
    labels = base.mark_text(baseline="middle").encode(
        text="mentions:Q",
        color=alt.condition(alt.datum.mentions > top / 2, alt.value("white"), alt.value("black")),
    )
    chart: alt.LayerChart = (cells + labels).properties(
        height=max(160, 32 * frame["topic"].nunique())
    )
    return chart


def _trend(summary: TopicSummary) -> alt.Chart:
    """Each topic's negative share per calendar month, one line per topic with a trend."""
    months: dict[str, int] = {}
    for m in summary.months:
        months[m.topic] = months.get(m.topic, 0) + 1
    frame = pd.DataFrame(
        [
            (f"{m.month:%Y-%m}", topic_label(m.topic), round(100 * m.negative_share, 1), m.mentions)
            for m in summary.months
            if months[m.topic] > 1
        ],
        columns=["month", "topic", "negative %", "mentions"],
    )
    chart: alt.Chart = (
        alt.Chart(frame, height=320)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("negative %:Q", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("topic:N", legend=alt.Legend(orient="bottom", title=None, columns=2)),
            tooltip=["topic", "month", "negative %", "mentions"],
        )
    )
    return chart


def _changes_table(changes: tuple[TopicChange, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Topic": [topic_label(c.topic) for c in changes],
            "Mentions": [c.mentions for c in changes],
            "Last month": [c.previous_mentions for c in changes],
            "Negative %": [round(100 * c.negative_share, 1) for c in changes],
            "Last month %": [
                None
                if c.previous_negative_share is None
                else round(100 * c.previous_negative_share, 1)
                for c in changes
            ],
            "Change (pp)": [None if c.change is None else round(c.change, 1) for c in changes],
        }
    )


def _label(change: TopicChange) -> str:
    if change.change is None:
        return f"{topic_label(change.topic)} (new)"
    arrow = "▲" if change.change > 0 else "▼" if change.change < 0 else "="
    return f"{topic_label(change.topic)} {arrow} {change.change:+.0f} pp"


def _items_behind(
    summary: TopicSummary, context: data.DashboardContext, brands: tuple[str, ...]
) -> None:
    """Pills for the topics, worst change first; the chosen one's items of the month."""
    changes = {c.topic: c for c in summary.changes}
    if not changes:
        return
    topic = st.pills(
        "What customers said about",
        list(changes),
        default=summary.changes[0].topic,
        format_func=lambda key: _label(changes[key]),
        key="topics-pick",
    )
    if topic is None:
        return
    change = changes[topic]
    items = data.topic_items(context.database_url, topic, change.month, brands)
    st.caption(
        f"{len(items)} mention(s) about {escape_markdown(topic_label(topic))} in "
        f"{change.month:%B %Y}, the most negative first."
    )
    now = datetime.now(UTC)
    for brief in items:
        _item.brief_card(brief, context, now)
