"""Dashboard pages. ``PAGES`` lists them; ``dashboard.app`` turns each into an ``st.Page``.

Pages hold no SQL: they read through ``dashboard.data`` (``repwatch.store.views``) and
write through ``dashboard.data.act`` (``repwatch.store.actions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard.app_pages import detail, overview, queue, sources, topics
from repwatch.config import Role


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page: what ``st.Page`` needs, and who may see it (``None``: everyone)."""

    key: str
    title: str
    icon: str
    render: Callable[[], None]
    url_path: str
    default: bool = False
    min_role: Role | None = None


PAGES: list[PageSpec] = [
    PageSpec("queue", "Triage queue", ":material/inbox:", queue.render, "queue", default=True),
    PageSpec("detail", "Item detail", ":material/article:", detail.render, "item"),
    PageSpec("overview", "Overview", ":material/monitoring:", overview.render, "overview"),
    PageSpec("topics", "Topics", ":material/category:", topics.render, "topics"),
    PageSpec("sources", "Sources", ":material/travel_explore:", sources.render, "sources"),
]


def page(key: str) -> StreamlitPage:
    """The ``st.Page`` of ``PAGES[key]``, equal to the one in the navigation (for links)."""
    spec = next(p for p in PAGES if p.key == key)
    return st.Page(
        spec.render, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.default
    )
