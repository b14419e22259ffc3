"""What every page shares: the signed-in user, messages that survive a rerun, links."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from dashboard import data, session
from dashboard.render import escape_markdown
from repwatch.auth import SignedInUser

FLASH_KEY = "repwatch-flash"
FlashKind = Literal["success", "warning", "error"]


def page_start(
    title: str, caption: str | None = None
) -> tuple[data.DashboardContext, SignedInUser]:
    """The context and the signed-in user (or a sign-in notice and stop), then the title."""
    st.set_page_config(layout="wide")  # queues and charts need the width
    context = data.load_context()
    user = session.require_role("viewer")
    st.title(title)
    if caption:
        st.caption(caption)
    show_flash()
    return context, user


def flash(kind: FlashKind, message: str) -> None:
    """Show ``message`` at the top of the next run (callbacks run before the page draws)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    """The message a callback left, escaped; successes as a toast, problems in the page."""
    pending = st.session_state.pop(FLASH_KEY, None)
    if pending is None:
        return
    kind, message = pending
    body = escape_markdown(message)
    if kind == "success":
        st.toast(body, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(body, icon=":material/sync_problem:")
    else:
        st.error(body, icon=":material/error:")


def link_to_item(item_id: int, label: str = "Details", *, icon: str = ":material/article:") -> None:
    """A link to the item page for ``item_id`` (the label is ours, not scraped)."""
    from dashboard.app_pages import page  # the package imports this module

    st.page_link(page("detail"), label=label, icon=icon, query_params={"item": str(item_id)})
