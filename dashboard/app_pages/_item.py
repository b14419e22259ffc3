"""A triage item as a card, and its action buttons and forms (queue and item page).

Everything a review author wrote is shown with ``st.text`` or escaped Markdown; see
``dashboard.render``. The forms submit with Enter (single-line fields) or the button.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import data
from dashboard.app_pages import _act
from dashboard.app_pages._common import link_to_item
from dashboard.render import (
    ago,
    brand_label,
    escape_markdown,
    is_web_url,
    markdown_link,
    plain,
    reach_label,
    sentiment_badge,
    stars_label,
    time_left,
    topic_label,
)
from repwatch.auth import SignedInUser
from repwatch.store.actions import TOPIC_POLARITIES
from repwatch.store.views import SENTIMENTS, MentionBrief, QueueItem
from repwatch.triage import disagreement

STATUS_BADGES = {"new": "blue", "assigned": "violet", "responded": "green", "dismissed": "gray"}
DISMISS_REASONS = ("Spam or a bot", "Duplicate", "Not about us", "Already answered elsewhere")


def headline(item: QueueItem, context: data.DashboardContext, now: datetime) -> str:
    """Priority, deadline, status, brand, source and link: our values, escaped theirs."""
    deadlines = context.config.settings.deadlines
    colour = (
        "red"
        if item.priority >= deadlines.urgent_priority
        else "orange"
        if item.priority >= deadlines.high_priority
        else "blue"
    )
    parts = [f":{colour}-badge[Priority {item.priority:.0f}]"]
    if item.status in ("new", "assigned"):
        due, overdue = time_left(item.deadline_at, now)
        parts.append(f":red-badge[:material/alarm: {due}]" if overdue else f":gray-badge[{due}]")
    status: str = item.status
    if item.assignee:
        status += f" · {escape_markdown(item.assignee)}"
    parts.append(f":{STATUS_BADGES.get(item.status, 'gray')}-badge[{status}]")
    if item.escalated:
        parts.append(":orange-badge[:material/priority_high: escalated]")
    brand = brand_label(item.brand, context.brand_names, context.competitors)
    where = [f"**{escape_markdown(brand)}**", escape_markdown(item.source)]
    if is_web_url(item.url):
        where.append(markdown_link("open original ↗", item.url))
    else:
        where.append(f"not a web link: {escape_markdown(item.url)}")
    return " ".join(parts) + " " + " · ".join(where)


def details(item: QueueItem, now: datetime) -> str:
    """Language, sentiment, topics, why it was flagged, author, reach and age, escaped."""
    parts = [f"Language: {escape_markdown(item.language or 'unknown')}"]
    if item.sentiment is not None and item.sentiment_score is not None:
        score = f"score {item.sentiment_score:+.2f}"
        if item.confidence is not None:
            score += f", confidence {item.confidence:.0%}"
        parts.append(f"Sentiment: {item.sentiment} ({escape_markdown(score)})")
    else:
        parts.append("Sentiment: not analysed yet")
    if item.topics:
        topics = ", ".join(
            escape_markdown(topic_label(t.key) + (f" ({t.polarity})" if t.polarity else ""))
            for t in item.topics
        )
        parts.append(f"Topics: {topics}")
    conflict = disagreement(item.rating, item.sentiment_score)
    if conflict is not None and conflict not in item.reason:
        parts.append(f":orange-badge[{escape_markdown(conflict)}]")
    parts.append(f"Flagged for: {escape_markdown(item.reason)}")
    byline = escape_markdown(item.author) if item.author else "unknown author"
    byline += f" ({reach_label(item.author_reach)})" if item.author_reach is not None else ""
    if item.published_at is not None:
        byline += f", {ago(item.published_at, now)}"
    parts.append(f"By {byline}")
    return " · ".join(parts)


def body(
    item: QueueItem, context: data.DashboardContext, now: datetime, *, link: bool = False
) -> None:
    """Headline (with a link to the item page), title with stars, the text (verbatim)
    and the details line."""
    if link:
        head, right = st.columns([0.86, 0.14], vertical_alignment="top")
        head.markdown(headline(item, context, now))
        with right:
            link_to_item(item.item_id, "Details")
    else:
        st.markdown(headline(item, context, now))
    title = f" **{escape_markdown(item.title)}**" if item.title else ""
    colour = "gray" if item.rating is None else "orange"
    st.markdown(f":{colour}[{stars_label(item.rating)}] {sentiment_badge(item.sentiment)}{title}")
    st.text(item.text)
    st.caption(details(item, now))


def brief_card(brief: MentionBrief, context: data.DashboardContext, now: datetime) -> None:
    """A mention in a list (same author, near-duplicates, topic items), with its links."""
    with st.container(border=True, key=f"brief-{brief.mention_id}"):
        parts = []
        if brief.similarity is not None:
            parts.append(f":violet-badge[{brief.similarity:.0%} similar]")
        brand = brand_label(brief.brand, context.brand_names, context.competitors)
        parts += [
            stars_label(brief.rating),
            sentiment_badge(brief.sentiment),
            f"**{escape_markdown(brand)}**",
            escape_markdown(brief.source),
        ]
        if brief.published_at is not None:
            parts.append(ago(brief.published_at, now))
        if is_web_url(brief.url):
            parts.append(markdown_link("open original ↗", brief.url))
        st.markdown(" · ".join(parts))
        if brief.title:
            st.markdown(f"**{escape_markdown(brief.title)}**")
        st.text(plain(brief.text, 600))
        if brief.item_id is not None:
            link_to_item(brief.item_id, f"Item {brief.item_id}")


def card(
    item: QueueItem,
    context: data.DashboardContext,
    user: SignedInUser,
    now: datetime,
    assignees: tuple[str, ...],
    topics: tuple[str, ...],
) -> None:
    """One bordered box per item: a tick box, the item, its actions and a details link."""
    with st.container(border=True, key=f"item-{item.item_id}"):
        pick, main = st.columns([0.04, 0.96], vertical_alignment="top")
        key = f"pick-{item.item_id}"
        if key not in st.session_state:  # first drawn, or back from another page
            st.session_state[key] = item.item_id in _act.selection()
        pick.checkbox(
            f"Select item {item.item_id}",
            key=key,
            label_visibility="collapsed",
            on_change=_act.toggle,
            args=(item.item_id, item.version),
        )
        with main:
            body(item, context, now, link=True)
            if user.can_act:
                with st.container(horizontal=True, gap="small", key=f"actions-{item.item_id}"):
                    action_bar(item, context.database_url, user, assignees, topics)


def action_bar(
    item: QueueItem,
    database_url: str,
    user: SignedInUser,
    assignees: tuple[str, ...],
    topics: tuple[str, ...],
) -> None:
    """The buttons and small forms that act on one item (agents and admins only)."""
    i, v = item.item_id, item.version
    closed = item.status in ("responded", "dismissed")

    def args(kind: str) -> tuple[str, str, int, int]:
        return (database_url, kind, i, v)

    st.button(
        "Assign to me",
        key=f"assign_me-{i}",
        disabled=item.assignee == user.username and item.status == "assigned",
        on_click=_act.act,
        args=args("assign_me"),
    )
    with st.popover("Assign", key=f"assign-pop-{i}"):
        with st.form(f"assign-form-{i}", border=False, enter_to_submit=True):
            others = tuple(a for a in assignees if a != user.username) or (user.username,)
            st.selectbox("Assign to", others, key=f"assignee-{i}", accept_new_options=True)
            st.form_submit_button(
                "Assign", key=f"assign-{i}", on_click=_act.act, args=args("assign")
            )
        if item.assignee:
            st.button("Unassign", key=f"unassign-{i}", on_click=_act.act, args=args("unassign"))
    with (
        st.popover("Respond", icon=":material/reply:", key=f"respond-pop-{i}"),
        st.form(f"respond-form-{i}", border=False, clear_on_submit=True),
    ):
        st.text_area("Your reply, or a link to it", key=f"reply-{i}", height=100)
        st.form_submit_button(
            "Mark responded",
            key=f"respond-{i}",
            type="primary",
            icon=":material/check:",
            on_click=_act.act,
            args=args("respond"),
        )
    with (
        st.popover("Dismiss", key=f"dismiss-pop-{i}"),
        st.form(f"dismiss-form-{i}", border=False, clear_on_submit=True),
    ):
        st.selectbox(
            "Reason",
            DISMISS_REASONS,
            key=f"reason-{i}",
            accept_new_options=True,
            help="Pick one or type your own, then press Enter.",
        )
        st.form_submit_button(
            "Dismiss", key=f"dismiss-{i}", on_click=_act.act, args=args("dismiss")
        )
    if item.escalated:
        st.button("De-escalate", key=f"deescalate-{i}", on_click=_act.act, args=args("deescalate"))
    else:
        st.button(
            "Escalate",
            key=f"escalate-{i}",
            on_click=_act.act,
            args=args("escalate"),
        )
    with (
        st.popover("Note", key=f"note-pop-{i}"),
        st.form(f"note-form-{i}", border=False, clear_on_submit=True, enter_to_submit=True),
    ):
        st.text_input("Note for colleagues", key=f"note-{i}")
        st.form_submit_button("Add note", key=f"note-{i}-add", on_click=_act.act, args=args("note"))
    with (
        st.popover("Correct", key=f"correct-pop-{i}"),
        st.form(f"correct-form-{i}", border=False, clear_on_submit=True),
    ):
        st.selectbox(
            "Right sentiment",
            SENTIMENTS,
            index=None,
            key=f"fix-sentiment-{i}",
            placeholder="Leave as it is",
        )
        st.selectbox(
            "Topic",
            topics,
            index=None,
            key=f"fix-topic-{i}",
            accept_new_options=True,
            format_func=topic_label,
            placeholder="Pick or type a topic",
        )
        st.radio("Topic is", TOPIC_POLARITIES, key=f"fix-polarity-{i}", horizontal=True)
        st.form_submit_button(
            "Save correction",
            key=f"correct-{i}",
            on_click=_act.act,
            args=args("correct"),
            help="Kept as a label for training the model.",
        )
    if closed:
        st.button(
            "Reopen",
            key=f"reopen-{i}",
            icon=":material/undo:",
            on_click=_act.act,
            args=args("reopen"),
        )
