"""The triage queue: flagged mentions, most urgent first, each with buttons to close it.

Everything a review author wrote is shown with ``st.text`` or escaped Markdown; see
``dashboard.render``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import data
from dashboard.render import (
    ago,
    escape_markdown,
    is_web_url,
    markdown_link,
    stars_label,
    time_left,
)
from repwatch.config import Deadlines
from repwatch.errors import ConflictError, NotFoundError, RepwatchError
from repwatch.records import STATUSES, QueueRow, Status

STATUS_VIEWS: dict[str, tuple[Status, ...]] = {
    "Open (new + assigned)": ("new", "assigned"),
    "Responded": ("responded",),
    "Dismissed": ("dismissed",),
    "All": STATUSES,
}
QUEUE_LIMIT = 100
ALL_BRANDS = ""  # the brand filter's "All brands" option (None would make it clearable)
DEFAULT_ACTOR = "agent"
ACTOR_KEY = "actor"
FLASH_KEY = "queue-flash"
STATUS_BADGES: dict[str, str] = {
    "new": "blue",
    "assigned": "violet",
    "responded": "green",
    "dismissed": "gray",
}


def render() -> None:
    """The page: filters, a counts line and one bordered box per item."""
    context = data.load_context()
    _sidebar(context)
    st.title("Triage queue")
    _show_flash()

    totals = data.counts(context.database_url)
    st.caption(
        f"**{totals.open_items} open** · {totals.flagged} flagged in total · "
        f"{totals.mentions} mentions, {totals.analysed} analysed"
    )
    brands = context.config.settings.brands
    status_col, brand_col = st.columns(2)
    view = status_col.selectbox("Status", list(STATUS_VIEWS), key="queue-status")
    brand = brand_col.selectbox(
        "Brand",
        [ALL_BRANDS, *sorted(brands)],
        format_func=lambda key: "All brands" if key == ALL_BRANDS else brands[key].name,
        key="queue-brand",
    )
    rows = data.queue_rows(context.database_url, STATUS_VIEWS[view], brand or None, QUEUE_LIMIT)
    if not rows:
        st.info("Nothing here: no flagged mentions match these filters.")
        return
    if len(rows) == QUEUE_LIMIT:
        st.caption(f"Showing the {QUEUE_LIMIT} most urgent items.")
    now = datetime.now(UTC)
    deadlines = context.config.settings.deadlines
    names = {key: brand.name for key, brand in brands.items()}
    for row in rows:
        _item(row, context.database_url, deadlines, names, now)


def _sidebar(context: data.DashboardContext) -> None:
    with st.sidebar:
        st.text_input(
            "Your name",
            value=DEFAULT_ACTOR,
            key=ACTOR_KEY,
            help="Written to the log of every item you change. Sign-in comes later.",
        )
        st.button("Reload", key="reload", icon=":material/refresh:", on_click=data.clear_reads)
        st.caption(f"Database: {escape_markdown(context.database_label)}")


def _actor() -> str:
    name = str(st.session_state.get(ACTOR_KEY, "")).strip()
    return name or DEFAULT_ACTOR


def _show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is None:
        return
    kind, message = flash
    body = escape_markdown(message)
    if kind == "success":
        st.toast(body, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(body, icon=":material/sync_problem:")
    else:
        st.error(body)


def _item(
    row: QueueRow, database_url: str, deadlines: Deadlines, names: dict[str, str], now: datetime
) -> None:
    with st.container(border=True, key=f"item-{row.item_id}"):
        st.markdown(_headline(row, deadlines, names, now))
        title = f" **{escape_markdown(row.title)}**" if row.title else ""
        rating = stars_label(row.rating)
        colour = "gray" if row.rating is None else "orange"
        st.markdown(f":{colour}[{rating}]{title}")
        st.text(row.text)
        st.caption(_details(row, now))
        with st.container(horizontal=True):
            for label, to_status, icon in (
                ("Mark responded", "responded", ":material/check:"),
                ("Dismiss", "dismissed", ":material/close:"),
            ):
                st.button(
                    label,
                    key=f"{to_status}-{row.item_id}",
                    icon=icon,
                    disabled=row.status == to_status,
                    on_click=_change,
                    args=(database_url, row.item_id, row.version, to_status),
                )


def _headline(row: QueueRow, deadlines: Deadlines, names: dict[str, str], now: datetime) -> str:
    """Priority, deadline, status, brand, source and link: our values, escaped theirs."""
    colour = (
        "red"
        if row.priority >= deadlines.urgent_priority
        else "orange"
        if row.priority >= deadlines.high_priority
        else "blue"
    )
    parts = [f":{colour}-badge[Priority {row.priority:.0f}]"]
    if row.status in ("new", "assigned"):
        due, overdue = time_left(row.deadline_at, now)
        parts.append(f":red-badge[:material/alarm: {due}]" if overdue else f":gray-badge[{due}]")
    if row.status != "new":
        status: str = row.status
        if row.assignee:
            status += f" · {escape_markdown(row.assignee)}"
        parts.append(f":{STATUS_BADGES.get(row.status, 'gray')}-badge[{status}]")
    brand = escape_markdown(names.get(row.brand, row.brand))
    where = [f"**{brand}**", escape_markdown(row.source)]
    if is_web_url(row.url):
        where.append(markdown_link("open original ↗", row.url))
    else:
        where.append(f"not a web link: {escape_markdown(row.url)}")
    return " ".join(parts) + " " + " · ".join(where)


def _details(row: QueueRow, now: datetime) -> str:
    """Language, sentiment, why it was flagged, author and age, all escaped."""
    parts = [f"Language: {escape_markdown(row.language or 'unknown')}"]
    if row.sentiment is not None and row.sentiment_score is not None:
        score = f"score {row.sentiment_score:+.2f}"
        if row.confidence is not None:
            score += f", confidence {row.confidence:.0%}"
        parts.append(f"Sentiment: {row.sentiment} ({escape_markdown(score)})")
    else:
        parts.append("Sentiment: not analysed yet")
    parts.append(f"Flagged for: {escape_markdown(row.reason)}")
    byline = escape_markdown(row.author) if row.author else "unknown author"
    if row.published_at is not None:
        byline += f", {ago(row.published_at, now)}"
    parts.append(f"By {byline}")
    return " · ".join(parts)


def _change(database_url: str, item_id: int, version: int, to_status: Status) -> None:
    """Button callback: change the item as of the version the user saw."""
    actor = _actor()
    try:
        data.change_status(
            database_url, item_id, expected_version=version, to_status=to_status, actor=actor
        )
    except (ConflictError, NotFoundError) as exc:
        st.session_state[FLASH_KEY] = ("warning", str(exc))
    except RepwatchError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
    else:
        st.session_state[FLASH_KEY] = ("success", f"Item {item_id} marked {to_status}.")
