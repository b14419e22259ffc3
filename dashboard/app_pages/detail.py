"""One triage item in full: the text, the model's scores, the action log, the author's
other mentions and near-duplicates of the text. ``?item=N`` in the URL picks the item.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.app_pages import _item
from dashboard.app_pages._common import page_start
from dashboard.render import escape_markdown, plain, topic_label
from repwatch.errors import NotFoundError
from repwatch.store.views import ItemDetail, MentionBrief

ITEM_PARAM = "item"


def _requested_item() -> int | None:
    raw = st.query_params.get(ITEM_PARAM)
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _open() -> None:
    number = st.session_state.get("detail-open")
    if number:
        st.query_params[ITEM_PARAM] = str(int(number))


def render() -> None:
    """The page for the item in ``?item=``, or a box to type an item number."""
    context, user = page_start("Item detail")
    item_id = _requested_item()
    with st.form("detail-open-form", enter_to_submit=True, border=False):
        a, b = st.columns([1, 4], vertical_alignment="bottom")
        a.number_input("Item number", min_value=1, step=1, value=item_id, key="detail-open")
        b.form_submit_button("Open", on_click=_open)
    if item_id is None:
        st.info("Open an item from the triage queue (its Details link), or type its number.")
        return
    try:
        detail = data.item_detail(context.database_url, item_id)
    except NotFoundError as exc:
        st.warning(escape_markdown(str(exc)), icon=":material/search_off:")
        return
    item = detail.item
    now = datetime.now(UTC)
    with st.container(border=True, key=f"item-{item.item_id}"):
        _item.body(item, context, now)
        if user.can_act:
            options = data.filter_options(context.database_url)
            with st.container(horizontal=True, gap="small", key=f"actions-{item.item_id}"):
                _item.action_bar(
                    item, context.database_url, user, options.assignees, options.topics
                )
    authored, duplicates = data.related(context.database_url, item.mention_id)
    scores, log, author, dupes = st.tabs(
        [
            "Scores",
            f"Action log ({len(detail.actions)})",
            f"Same author ({len(authored)})",
            f"Near-duplicates ({len(duplicates)})",
        ]
    )
    with scores:
        _scores(detail)
    with log:
        _log(detail)
    with author:
        _briefs(authored, context, now, "No other mentions by this author on this source.")
    with dupes:
        _briefs(duplicates, context, now, "No near-duplicates of this text within a week of it.")


def _scores(detail: ItemDetail) -> None:
    if not detail.analyses:
        st.info("Not analysed yet: run `repwatch score`.")
    else:
        newest = detail.analyses[0]
        a, b, c, chart = st.columns([1, 1, 1, 3])
        a.metric("Sentiment", newest.label)
        b.metric("Score (-1 to 1)", f"{newest.score:+.2f}")
        c.metric("Confidence", f"{newest.confidence:.0%}")
        if newest.probabilities:
            probs = pd.DataFrame(
                {"probability": list(newest.probabilities.values())},
                index=pd.Index(list(newest.probabilities), name="label"),
            )
            chart.bar_chart(probs, horizontal=True, height=140)
        if newest.topics:
            st.dataframe(
                pd.DataFrame(
                    {
                        "Topic": [topic_label(t.key) for t in newest.topics],
                        "Score": [t.score for t in newest.topics],
                        "Polarity": [t.polarity or "" for t in newest.topics],
                    }
                ),
                hide_index=True,
            )
        st.caption(
            escape_markdown(
                f"Model {newest.model_name} (revision {newest.model_revision}), "
                f"scored {newest.created_at:%Y-%m-%d %H:%M} UTC. "
                f"{len(detail.analyses)} analysis(es) in all."
            )
        )
    if detail.labels:
        st.subheader("Corrections (kept for training)")
        st.dataframe(
            pd.DataFrame(
                {
                    "When (UTC)": [f"{label.at:%Y-%m-%d %H:%M}" for label in detail.labels],
                    "Who": [label.actor for label in detail.labels],
                    "Kind": [label.kind for label in detail.labels],
                    "Value": [label.value for label in detail.labels],
                    "Polarity": [label.polarity or "" for label in detail.labels],
                }
            ),
            hide_index=True,
        )
    for at, text in detail.revisions:
        with st.expander(f"Earlier text, replaced {at:%Y-%m-%d %H:%M} UTC"):
            st.text(text)


def _log(detail: ItemDetail) -> None:
    """Who did what, when: a table parses nothing, so notes and replies stay plain text."""
    st.dataframe(
        pd.DataFrame(
            {
                "When (UTC)": [f"{a.at:%Y-%m-%d %H:%M:%S}" for a in detail.actions],
                "Who": [a.actor for a in detail.actions],
                "Action": [a.action for a in detail.actions],
                "From": [a.from_status or "" for a in detail.actions],
                "To": [a.to_status or "" for a in detail.actions],
                "Detail": [plain(a.detail) for a in detail.actions],
            }
        ),
        hide_index=True,
        key="action-log",
    )


def _briefs(
    briefs: list[MentionBrief], context: data.DashboardContext, now: datetime, empty: str
) -> None:
    if not briefs:
        st.caption(empty)
    for brief in briefs:
        _item.brief_card(brief, context, now)
