"""The triage queue: flagged mentions, most urgent first, with filters and bulk actions.

The filters are one form (Enter applies them) and are kept in the session with the
ticked items, so neither a refresh nor a visit to another page loses them. The list
refreshes itself every minute (or with Reload) as a fragment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from dashboard import data
from dashboard.app_pages import _act, _item
from dashboard.app_pages._common import page_start, show_flash
from dashboard.render import escape_markdown, topic_label
from repwatch.auth import SignedInUser
from repwatch.records import STATUSES, Status
from repwatch.store.views import QueueFilter

STATUS_VIEWS: dict[str, tuple[Status, ...]] = {
    "Open": ("new", "assigned"),
    "New": ("new",),
    "Assigned": ("assigned",),
    "Responded": ("responded",),
    "Dismissed": ("dismissed",),
    "All": STATUSES,
}
SCOPES = ("All brands", "Own brands", "Competitors")
ANYONE, ME, NOBODY = "Anyone", "Me", "Nobody (unassigned)"
PAGE_SIZES = (25, 50, 100)
FILTER_KEY = "queue-filter"  # the applied filter's widget values, kept across pages
OFFSET_KEY = "queue-offset"
REFRESH_SECONDS = 60
KEYBOARD_HELP = (
    "Keyboard: Tab moves through filters, items and buttons; Space ticks an item; "
    "Enter applies the filters or sends the open form; Esc closes a form."
)
DEFAULTS: dict[str, Any] = {
    "search": "",
    "status": "Open",
    "scope": SCOPES[0],
    "brands": [],
    "sources": [],
    "languages": [],
    "topic": None,
    "assignee": ANYONE,
    "escalated": False,
    "dates": (),
    "page_size": PAGE_SIZES[0],
}


def render() -> None:
    """The page: filters, totals, the bulk form and one card per item."""
    context, user = page_start("Triage queue", KEYBOARD_HELP)
    options = data.filter_options(context.database_url)
    with st.sidebar:
        st.button("Reload", key="reload", icon=":material/refresh:", on_click=data.clear_reads)
        st.toggle("Refresh every minute", value=True, key="queue-auto-refresh")
        st.caption(f"Database: {escape_markdown(context.database_label)}")
    _filters(context, options)
    auto = bool(st.session_state.get("queue-auto-refresh", True))
    fragment = st.fragment(run_every=REFRESH_SECONDS if auto else None)(_queue)
    fragment(context, user, options)


def _applied() -> dict[str, Any]:
    return {**DEFAULTS, **st.session_state.get(FILTER_KEY, {})}


def _filters(context: data.DashboardContext, options: Any) -> None:
    """The filter form; its values are applied (and kept) when it is submitted."""
    f = _applied()
    brands = context.brand_names
    with st.form("queue-filters", enter_to_submit=True):
        a, b, c, d = st.columns([2.2, 1.4, 1.4, 2])
        a.text_input(
            "Search", f["search"], key="qf-search", placeholder="Words in title, text or author"
        )
        b.selectbox(
            "Status",
            list(STATUS_VIEWS),
            list(STATUS_VIEWS).index(f["status"]),
            key="qf-status",
            help="Open: new and assigned items.",
        )
        c.selectbox("Own or competitor", SCOPES, SCOPES.index(f["scope"]), key="qf-scope")
        d.multiselect(
            "Brand",
            sorted(brands),
            f["brands"],
            key="qf-brands",
            format_func=lambda k: brands.get(k, k),
            placeholder="All brands",
        )
        e, g, h, i, j = st.columns([1.6, 1.2, 1.5, 1.5, 1.8])
        e.multiselect(
            "Source",
            options.sources,
            [s for s in f["sources"] if s in options.sources],
            key="qf-sources",
            placeholder="All sources",
        )
        g.multiselect(
            "Language",
            options.languages,
            [x for x in f["languages"] if x in options.languages],
            key="qf-languages",
            placeholder="Any",
        )
        topics = options.topics
        h.selectbox(
            "Topic",
            topics,
            topics.index(f["topic"]) if f["topic"] in topics else None,
            key="qf-topic",
            format_func=topic_label,
            placeholder="Any topic",
        )
        people = [ANYONE, ME, NOBODY, *options.assignees]
        i.selectbox(
            "Assignee",
            people,
            people.index(f["assignee"]) if f["assignee"] in people else 0,
            key="qf-assignee",
        )
        j.date_input("Published between", f["dates"], key="qf-dates", format="YYYY-MM-DD")
        k, m, n = st.columns([1.2, 1.2, 5], vertical_alignment="bottom")
        k.selectbox("Per page", PAGE_SIZES, PAGE_SIZES.index(f["page_size"]), key="qf-page_size")
        m.checkbox("Escalated only", f["escalated"], key="qf-escalated")
        with n, st.container(horizontal=True):
            st.form_submit_button(
                "Apply filters",
                type="primary",
                icon=":material/filter_alt:",
                on_click=_apply,
                key="qf-apply",
            )
            st.form_submit_button("Reset", on_click=_reset, key="qf-reset")


def _apply() -> None:
    st.session_state[FILTER_KEY] = {
        name: st.session_state.get(f"qf-{name}", default) for name, default in DEFAULTS.items()
    }
    st.session_state[OFFSET_KEY] = 0


def _reset() -> None:
    st.session_state[FILTER_KEY] = dict(DEFAULTS)
    st.session_state[OFFSET_KEY] = 0
    for name in DEFAULTS:
        st.session_state.pop(f"qf-{name}", None)


def queue_filter(
    values: dict[str, Any],
    user: SignedInUser,
    competitors: tuple[str, ...],
    brand_keys: tuple[str, ...],
) -> QueueFilter:
    """The store's ``QueueFilter`` for the form's values."""
    brands = tuple(values["brands"]) or brand_keys
    if values["scope"] == "Own brands":
        brands = tuple(b for b in brands if b not in competitors)
    elif values["scope"] == "Competitors":
        brands = tuple(b for b in brands if b in competitors)
    if set(brands) == set(brand_keys) and not values["brands"]:
        brands = ()  # every brand: no condition
    elif not brands:
        brands = ("",)  # the choices exclude each other: nothing matches
    dates = tuple(values["dates"] or ())
    start = _midnight(dates[0]) if dates else None
    end = _midnight(dates[-1]) + timedelta(days=1) if dates else None
    who = values["assignee"]
    return QueueFilter(
        statuses=STATUS_VIEWS[values["status"]],
        brands=brands,
        sources=tuple(values["sources"]),
        languages=tuple(values["languages"]),
        topic=values["topic"],
        assignee=user.username if who == ME else None if who in (ANYONE, NOBODY) else who,
        unassigned=who == NOBODY,
        escalated=bool(values["escalated"]),
        published_from=start,
        published_to=end,
        search=str(values["search"]).strip(),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _queue(context: data.DashboardContext, user: SignedInUser, options: Any) -> None:
    """Totals, the bulk form and the cards: the part that refreshes.

    Actions in here rerun only this fragment, so it shows their messages itself.
    """
    show_flash()
    values = _applied()
    brand_keys = tuple(sorted(context.brand_names))
    qf = queue_filter(values, user, context.competitors, brand_keys)
    now = datetime.now(UTC)
    totals = data.queue_totals(context.database_url, data.minute_now())
    st.markdown(
        f"**{totals.open_items} open** · :red[{totals.overdue} overdue] · "
        f"{totals.escalated} escalated · {totals.unassigned} unassigned"
    )
    offset = int(st.session_state.get(OFFSET_KEY, 0))
    size = int(values["page_size"])
    page = data.queue_page(context.database_url, qf, size, offset)
    if user.can_act:
        _bulk_form(context.database_url, user, options.assignees, page)
    else:
        st.caption("You are a viewer: you can look at the queue, not act on it.")
    if not page.items:
        st.info("Nothing here: no flagged mentions match these filters.")
    for item in page.items:
        _item.card(item, context, user, now, options.assignees, options.topics)
    _pager(offset, size, page.has_more, len(page.items))


def _bulk_form(
    database_url: str, user: SignedInUser, assignees: tuple[str, ...], page: Any
) -> None:
    picked = _act.selection()
    with st.container(horizontal=True, vertical_alignment="center", key="selection-bar"):
        st.markdown(f"**{len(picked)} selected**")
        st.button(
            "Select all on this page",
            key="select-all",
            on_click=_act.select_all,
            args=([(i.item_id, i.version) for i in page.items],),
        )
        st.button(
            "Clear selection", key="select-none", on_click=_act.clear_selection, disabled=not picked
        )
    if not picked:
        return
    with st.form("bulk-form", enter_to_submit=True, border=True):
        a, b, c = st.columns([1.4, 1.4, 3])
        a.selectbox("Action", list(_act.BULK_LABELS), key="bulk-action")
        b.selectbox(
            "Assign to",
            assignees or (user.username,),
            key="bulk-assignee",
            accept_new_options=True,
            help="For “Assign to…”",
        )
        c.text_input(
            "Reply, reason or note",
            key="bulk-text",
            help="Needed to mark responded, dismiss or add a note.",
        )
        st.form_submit_button(
            f"Apply to {len(picked)} selected",
            type="primary",
            key="bulk-apply",
            on_click=_act.act_on_selection,
            args=(database_url,),
        )


def _pager(offset: int, size: int, has_more: bool, shown: int) -> None:
    if offset == 0 and not has_more:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Previous",
            key="page-prev",
            icon=":material/chevron_left:",
            disabled=offset == 0,
            on_click=_move,
            args=(max(0, offset - size),),
        )
        st.caption(f"Items {offset + 1} to {offset + shown}")
        st.button(
            "Next",
            key="page-next",
            icon=":material/chevron_right:",
            disabled=not has_more,
            on_click=_move,
            args=(offset + size,),
        )


def _move(offset: int) -> None:
    st.session_state[OFFSET_KEY] = offset
