"""How reputation moves: volume and net sentiment per brand, share of voice against
competitors, ratings, and the state of the queue."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.app_pages._common import page_start
from dashboard.render import duration
from repwatch.store.views import BrandPeriod, Bucket, Overview, share_of_voice

PERIODS: dict[str, tuple[int, Bucket]] = {
    "Last 4 weeks": (28, "day"),
    "Last 12 weeks": (84, "week"),
    "Last 26 weeks": (182, "week"),
    "Last 12 months": (365, "month"),
}
DEFAULT_PERIOD = "Last 12 weeks"
STARS = [f"{n}★" for n in range(1, 6)]


def render() -> None:
    """The page: the period, four figures about the queue, then the charts."""
    context, _user = page_start(
        "Overview", "Mentions by the date they were published; sentiment from the newest analysis."
    )
    period = st.segmented_control(
        "Period", list(PERIODS), default=DEFAULT_PERIOD, key="overview-period"
    )
    days, bucket = PERIODS[period or DEFAULT_PERIOD]
    until = data.hour_ceiling()
    ov = data.overview(context.database_url, until, days, bucket, ())
    names = context.brand_names
    _figures(ov)
    if not ov.periods:
        st.info("No mentions were published in this period.")
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Mentions per brand")
        st.line_chart(_pivot(ov, names, lambda p: p.mentions), height=260)
    with right:
        st.subheader("Net sentiment per brand")
        st.caption("(positive - negative) / analysed mentions, in percent")
        st.line_chart(_pivot(ov, names, _net), height=260)
    left, right = st.columns(2)
    with left:
        st.subheader("Share of voice")
        shares = share_of_voice(ov.periods, context.competitors)
        own = sum(s.own for s in shares)
        total = own + sum(s.competitors for s in shares)
        st.caption(f"Own brands: {own / total:.0%} of all mentions in the period.")
        voice = pd.DataFrame(
            {"Own brands": [s.own for s in shares], "Competitors": [s.competitors for s in shares]},
            index=pd.Index([s.period.isoformat() for s in shares], name=bucket),
        )
        st.bar_chart(
            voice, height=260, color=["#1f77b4", "#ff7f0e"], x_label="", y_label="mentions"
        )
    with right:
        st.subheader("Ratings")
        st.caption("Share of each brand's rated mentions, in percent.")
        st.altair_chart(_ratings_chart(ov, names))


def _figures(ov: Overview) -> None:
    a, b, c, d = st.columns(4, border=True)
    a.metric("Open items", ov.open_items)
    b.metric("Overdue", ov.overdue_items)
    c.metric("Escalated", ov.escalated_items)
    median = (
        "none yet" if ov.median_response is None else duration(ov.median_response.total_seconds())
    )
    d.metric(
        "Median time to respond",
        median,
        help=f"Over the {ov.responded} items responded to in the period, from flagging.",
    )


def _net(p: BrandPeriod) -> float | None:
    return None if p.net_sentiment is None else round(100 * p.net_sentiment, 1)


def _pivot(
    ov: Overview, names: dict[str, str], value: Callable[[BrandPeriod], float | None]
) -> pd.DataFrame:
    """Periods down, brand names across."""
    frame = pd.DataFrame(
        [(p.period, names.get(p.brand, p.brand), value(p)) for p in ov.periods],
        columns=["period", "brand", "value"],
    )
    return frame.pivot_table(index="period", columns="brand", values="value", aggfunc="sum")


def _ratings_chart(ov: Overview, names: dict[str, str]) -> alt.Chart:
    """Stars across (1 to 5), one bar per brand: the share of its rated mentions."""
    rated = [r for r in ov.ratings if r.stars is not None]
    totals: dict[str, int] = {}
    for r in rated:
        totals[r.brand] = totals.get(r.brand, 0) + r.mentions
    frame = pd.DataFrame(
        [
            (
                f"{r.stars}★",
                names.get(r.brand, r.brand),
                round(100 * r.mentions / totals[r.brand], 1),
            )
            for r in rated
        ],
        columns=["stars", "brand", "percent"],
    )
    chart: alt.Chart = (
        alt.Chart(frame, height=260)
        .mark_bar()
        .encode(
            x=alt.X(
                "stars:N",
                sort=STARS,
                scale=alt.Scale(domain=STARS),
                title=None,
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset="brand:N",
            y=alt.Y("percent:Q", title="percent"),
            color=alt.Color("brand:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["brand", "stars", "percent"],
        )
    )
    return chart
