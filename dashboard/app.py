"""The Streamlit entry point: ``streamlit run dashboard/app.py`` with ``REPWATCH_CONFIG`` set.

``repwatch dashboard`` (see ``dashboard.launch``) sets the variable and starts it.
Configuration and database problems are shown as the ``RepwatchError`` message, which
says what to fix, never as a traceback. Nobody sees a page before signing in
(``dashboard.auth.gate``); admins also get the Users page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard import auth, data
from dashboard.app_pages import PAGES, PageSpec
from dashboard.launch import CONFIG_ENV
from dashboard.render import escape_markdown
from repwatch.auth import SignedInUser, role_rank
from repwatch.errors import RepwatchError

ADMIN_SECTION = "Admin"
# A file page (it calls render_users when run), so AppTest can switch to it.
USERS_PAGE = Path(__file__).resolve().parent / "auth_pages.py"


def run() -> None:
    """Sign the user in, build the navigation they may see, and run the page they asked for."""
    st.set_page_config(page_title="repwatch", page_icon=":material/rate_review:")
    try:
        context = data.load_context()
        user = auth.gate(context)
        if user is None:  # the sign-in screen is shown; keep the sidebar free of pages
            st.navigation(signed_out_pages(), position="hidden")
            return
        page = st.navigation(pages_for(user))
        auth.account_box(user)
        page.run()
    except RepwatchError as exc:
        show_error(exc)


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One page in the navigation: what ``st.Page`` gets."""

    title: str
    icon: str | None
    url_path: str
    default: bool
    target: Callable[[], None] | Path


def _may_see(spec: PageSpec, user: SignedInUser) -> bool:
    return spec.min_role is None or role_rank(user.role) >= role_rank(spec.min_role)


def navigation_for(user: SignedInUser) -> dict[str, list[NavEntry]]:
    """The pages ``user`` may see, by section: what their role allows, and Users for admins."""
    entries = [
        NavEntry(spec.title, spec.icon, spec.url_path, bool(spec.default), spec.render)
        for spec in PAGES
        if _may_see(spec, user)
    ]
    sections = {"": entries}
    if user.is_admin:
        sections[ADMIN_SECTION] = [
            NavEntry("Users", ":material/group:", "users", False, USERS_PAGE)
        ]
    return sections


def pages_for(user: SignedInUser) -> dict[str, list[StreamlitPage]]:
    """``navigation_for`` as ``st.Page`` objects for ``st.navigation``."""
    return {
        section: [
            st.Page(e.target, title=e.title, icon=e.icon, url_path=e.url_path, default=e.default)
            for e in entries
        ]
        for section, entries in navigation_for(user).items()
    }


def _sign_in_first() -> None:
    """What every page is before signing in: nothing (``auth.gate`` drew the sign-in screen)."""


def signed_out_pages() -> list[StreamlitPage]:
    """Every page's URL, showing only the sign-in screen, so a link survives signing in."""
    everyone = navigation_for(SignedInUser("", None, "admin"))
    return [
        st.Page(_sign_in_first, title=e.title, icon=e.icon, url_path=e.url_path, default=e.default)
        for entries in everyone.values()
        for e in entries
    ]


def show_error(exc: RepwatchError) -> None:
    """The exact message of ``exc`` and how to get the dashboard going again."""
    st.title("repwatch cannot show the dashboard")
    st.error(escape_markdown(str(exc), single_line=False), icon=":material/error:")
    st.caption(
        f"Fix the problem above, then reload this page. The dashboard reads the "
        f"configuration file named by the `{CONFIG_ENV}` environment variable, which "
        "`repwatch dashboard --config PATH` sets."
    )


if __name__ == "__main__":
    run()
