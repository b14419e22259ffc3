"""The Streamlit entry point: ``streamlit run dashboard/app.py`` with ``REPWATCH_CONFIG`` set.

``repwatch dashboard`` (see ``dashboard.launch``) sets the variable and starts it.
Configuration and database problems are shown as the ``RepwatchError`` message, which
says what to fix, never as a traceback.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.app_pages import queue
from dashboard.launch import CONFIG_ENV
from dashboard.render import escape_markdown
from repwatch.errors import RepwatchError


def run() -> None:
    """Build the navigation and run the page the user asked for."""
    st.set_page_config(page_title="repwatch", page_icon=":material/rate_review:")
    page = st.navigation(
        [
            st.Page(
                queue.render,
                title="Triage queue",
                icon=":material/inbox:",
                url_path="queue",
                default=True,
            )
        ]
    )
    try:
        data.load_context()
        page.run()
    except RepwatchError as exc:
        show_error(exc)


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
