"""Every dashboard page and action through Streamlit's AppTest, on a seeded database.

Each test runs one page module (``dashboard.app_pages.<page>.render``) as a signed-in
user, the way ``dashboard.app`` runs it after sign-in, and checks what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.launch import CONFIG_ENV
from dashboard.render import escape_markdown
from repwatch import auth
from repwatch.auth import SESSION_KEY, SignedInUser
from repwatch.config import DATABASE_URL_ENV
from repwatch.config_template import SourceEntry
from repwatch.records import ActionRow
from repwatch.store import open_database, queries, session_scope, views
from repwatch.store.schema import LabelRow
from tests.conftest import write_config
from tests.seed import (
    HOSTILE_CRAWL_REASON,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    NEGATIVE_TEXT,
    SeedInfo,
    seed_demo_data,
    source_entries,
)

APP_TIMEOUT = 30
AGENT = SignedInUser("dana", "Dana Agent", "agent")
VIEWER = SignedInUser("val", None, "viewer")


@dataclass
class Site:
    url: str
    seed: SeedInfo

    def item(self, item_id: int) -> tuple[views.QueueItem, list[ActionRow]]:
        engine = open_database(self.url)
        try:
            with session_scope(engine) as s:
                return views.queue_item(s, item_id), queries.item_actions(s, item_id)
        finally:
            engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """AppTest runs in this process: forget cached reads and engines between tests."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def make_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, now: datetime | None = None
) -> Site:
    """Write a config (with one source never crawled), point the app at it, seed the database."""
    never = SourceEntry("kestrel-blog", "kestrel", "https://blog.example/kestrel")
    config = write_config(tmp_path / "conf", sources=(*source_entries(), never))
    monkeypatch.setenv(CONFIG_ENV, str(config.path))
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    engine = open_database(url)
    try:
        return Site(url, seed_demo_data(engine, now=now))
    finally:
        engine.dispose()


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:
    return make_site(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'repwatch.db'}")


@pytest.fixture
def any_site(db_url, tmp_path, monkeypatch) -> Site:
    return make_site(tmp_path, monkeypatch, db_url)


def page_app(page: str, user: SignedInUser | None = AGENT, **query: str) -> AppTest:
    """Run ``dashboard.app_pages.<page>`` as ``user`` with these query parameters."""
    at = AppTest.from_string(
        f"from dashboard.app_pages import {page}\n{page}.render()\n", default_timeout=APP_TIMEOUT
    )
    if user is not None:
        at.session_state[SESSION_KEY] = user
    for key, value in query.items():
        at.query_params[key] = value
    return ran(at)


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_items(at: AppTest) -> list[int]:
    """Item ids in page order, from the keys of their tick boxes."""
    return [int(c.key.split("-")[1]) for c in at.checkbox if (c.key or "").startswith("pick-")]


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The one dataframe on the page with ``column`` (AppTest does not expose their keys)."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def markdown_of(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.warning, *at.error])


# --- the triage queue ----------------------------------------------------------------------


def test_queue_lists_open_items_by_priority_with_totals(site):
    at = page_app("queue")
    assert at.title[0].value == "Triage queue"
    assert shown_items(at) == list(site.seed.item_ids)
    assert "**6 open** · :red[2 overdue] · 0 escalated · 6 unassigned" in markdown_of(at)
    assert "Keyboard:" in at.caption[0].value
    texts = [t.value for t in at.text]
    assert NEGATIVE_TEXT in texts
    assert HOSTILE_TEXT in texts  # verbatim through st.text, which parses nothing


def test_scraped_text_never_reaches_markdown_unescaped(site):
    markdown = markdown_of(page_app("queue"))
    assert "<script>" not in markdown
    assert "<b>" not in markdown
    assert "javascript:" not in markdown  # the hostile URL is escaped, never a link
    assert escape_markdown(HOSTILE_TITLE) in markdown
    assert "(https://shop.example/kestrel/reviews/k1?ref=a%28b%29)" in markdown
    assert "★☆☆☆☆ 1/5" in markdown
    assert escape_markdown("model: negative 0.97; rating 1/5") in markdown
    assert "Topics: Customer service \\(negative\\), Delivery \\(negative\\)" in markdown
    assert "overdue by" in markdown


def _filter(at: AppTest, **values: object) -> AppTest:
    for name, value in values.items():
        widget = at.get_by_key(f"qf-{name}")
        widget.set_value(value)  # type: ignore[attr-defined]
    at.button(key="qf-apply").click()
    return ran(at)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"search": "COURIER"}, [NEGATIVE_TEXT]),
        ({"scope": "Competitors"}, ["Nimbus lost my order and never answered emails.",
                                    "Checkout kept failing on my phone."]),
        ({"brands": ["kestrel"], "languages": ["de"]}, ["Die Lieferung kam beschädigt an."]),
        ({"sources": ["nimbus-reviews"], "topic": "website"},
         ["Checkout kept failing on my phone."]),
        ({"status": "Responded"}, []),
    ],
)  # fmt: skip
def test_filters_apply_on_submit(site, values, expected):
    at = _filter(page_app("queue"), **values)
    shown = [t.value for t in at.text]
    assert shown == expected
    if not expected:
        assert at.info[0].value == "Nothing here: no flagged mentions match these filters."


def test_filters_survive_reload_and_reset(site):
    at = _filter(page_app("queue"), search="courier")
    at.button(key="reload").click()
    assert [t.value for t in ran(at).text] == [NEGATIVE_TEXT]
    at.button(key="qf-reset").click()
    assert shown_items(ran(at)) == list(site.seed.item_ids)


def test_published_date_range(site):
    today = datetime.now(UTC).date()
    at = _filter(page_app("queue"), dates=(today - timedelta(days=7), today - timedelta(days=4)))
    assert [t.value for t in at.text] == ["Refund still missing after three weeks."]


def _respond(at: AppTest, item_id: int, reply: str) -> AppTest:
    at.text_area(key=f"reply-{item_id}").input(reply)
    at.button(key=f"respond-{item_id}").click()
    return ran(at)


def test_mark_responded_with_the_reply_persists(any_site):
    item_id = any_site.seed.negative_item_id
    at = _respond(page_app("queue"), item_id, "https://shop.example/reply/1")
    item, log = any_site.item(item_id)
    assert (item.status, item.version) == ("responded", 2)
    assert item.responded_at is not None
    assert (log[-1].actor, log[-1].action, log[-1].detail) == (
        "dana",
        "responded",
        "https://shop.example/reply/1",
    )
    assert item_id not in shown_items(at)
    assert [t.value for t in at.toast] == [escape_markdown(f"Item {item_id} marked responded.")]


def test_respond_without_a_reply_is_refused(site):
    item_id = site.seed.negative_item_id
    at = _respond(page_app("queue"), item_id, "   ")
    assert "Write the reply" in at.error[0].value
    assert site.item(item_id)[0].status == "new"


@pytest.mark.parametrize(
    ("fill", "button", "expected"),
    [
        ({}, "assign_me-{i}", ("assigned", "dana", "assigned", "dana")),
        ({"assignee-{i}": "zoe"}, "assign-{i}", ("assigned", "zoe", "assigned", "zoe")),
        ({"reason-{i}": "Duplicate"}, "dismiss-{i}", ("dismissed", None, "dismissed", "Duplicate")),
        ({}, "escalate-{i}", ("new", None, "escalated", None)),
        ({"note-{i}": "Called the courier"}, "note-{i}-add", ("new", None, "note",
                                                             "Called the courier")),
    ],
)  # fmt: skip
def test_item_actions_persist(site, fill, button, expected):
    i = site.seed.negative_item_id
    engine = open_database(site.url)
    auth.add_user(engine, "zoe", "correct horse battery", role="agent")  # someone to assign to
    engine.dispose()
    at = page_app("queue")
    for key, value in fill.items():
        at.get_by_key(key.format(i=i)).set_value(value)  # type: ignore[attr-defined]
    at.button(key=button.format(i=i)).click()
    ran(at)
    item, log = site.item(i)
    assert (item.status, item.assignee, log[-1].action, log[-1].detail) == expected
    assert log[-1].actor == "dana"
    assert not at.error


def test_escalate_shows_badge_and_de_escalates(site):
    i = site.seed.negative_item_id
    at = page_app("queue")
    at.button(key=f"escalate-{i}").click()
    assert "escalated]" in markdown_of(ran(at))
    at.button(key=f"deescalate-{i}").click()
    ran(at)
    assert site.item(i)[0].escalated is False


def test_correction_is_kept_as_labels(site):
    i = site.seed.negative_item_id
    at = page_app("queue")
    at.selectbox(key=f"fix-sentiment-{i}").select("neutral")
    at.selectbox(key=f"fix-topic-{i}").select("delivery")
    at.radio(key=f"fix-polarity-{i}").set_value("positive")
    at.button(key=f"correct-{i}").click()
    ran(at)
    engine = open_database(site.url)
    with session_scope(engine) as s:
        labels = s.execute(select(LabelRow.kind, LabelRow.value, LabelRow.polarity)).all()
    engine.dispose()
    assert sorted(labels) == [("sentiment", "neutral", None), ("topic", "delivery", "positive")]
    assert [a.detail for a in site.item(i)[1][1:]] == [
        "sentiment: neutral",
        "topic delivery: positive",
    ]


def test_reopen_a_dismissed_item(site):
    i = site.seed.hostile_item_id
    at = page_app("queue")
    at.get_by_key(f"reason-{i}").set_value("Spam or a bot")  # type: ignore[attr-defined]
    at.button(key=f"dismiss-{i}").click()
    at = _filter(ran(at), status="Dismissed")
    assert shown_items(at) == [i]
    at.button(key=f"reopen-{i}").click()
    ran(at)
    assert site.item(i)[0].status == "new"


def test_conflicting_change_warns_and_shows_the_fresh_state(site):
    i = site.seed.negative_item_id
    at = page_app("queue")
    engine = open_database(site.url)  # somebody else, behind the page's back
    with session_scope(engine) as s:
        queries.change_status(s, i, expected_version=1, to_status="dismissed", actor="bob")
    engine.dispose()
    at = _respond(at, i, "Sorry")
    assert len(at.warning) == 1
    assert f"Item {i} was changed by bob at" in at.warning[0].value
    assert "a moment ago \\(dismissed\\)" in at.warning[0].value
    item, log = site.item(i)
    assert item.status == "dismissed"  # bob's change stands
    assert [a.actor for a in log] == ["repwatch", "bob"]
    assert i not in shown_items(at)  # reloaded: it is dismissed now


def test_bulk_action_on_ticked_items_survives_a_refresh(site):
    first, second = site.seed.item_ids[:2]
    at = page_app("queue")
    at.checkbox(key=f"pick-{first}").check()
    at.checkbox(key=f"pick-{second}").check()
    ran(at)
    at.button(key="reload").click()  # a refresh keeps the ticks
    ran(at)
    assert at.checkbox(key=f"pick-{first}").value
    assert "**2 selected**" in markdown_of(at)
    at.selectbox(key="bulk-action").select("Mark responded")
    at.text_input(key="bulk-text").input("Answered on the review site")
    at.button(key="bulk-apply").click()
    ran(at)
    assert {site.item(first)[0].status, site.item(second)[0].status} == {"responded"}
    assert at.toast[0].value == escape_markdown("Mark responded: 2 item(s) done.")
    assert "**0 selected**" in markdown_of(at)


def test_bulk_reports_items_changed_meanwhile(site):
    first, second = site.seed.item_ids[:2]
    at = page_app("queue")
    at.button(key="select-all").click()
    ran(at)
    engine = open_database(site.url)
    with session_scope(engine) as s:
        queries.change_status(s, second, expected_version=1, to_status="dismissed", actor="bob")
    engine.dispose()
    at.selectbox(key="bulk-action").select("Assign to me")
    at.button(key="bulk-apply").click()
    ran(at)
    assert site.item(first)[0].assignee == "dana"
    assert site.item(second)[0].assignee is None
    warning = at.warning[0].value
    assert escape_markdown("Assign to me: 5 item(s) done. 1 changed meanwhile") in warning
    assert f"Item {second} was changed by bob" in warning


def test_viewers_see_the_queue_but_cannot_act(site):
    at = page_app("queue", user=VIEWER)
    assert shown_items(at) == list(site.seed.item_ids)
    assert not [b for b in at.button if (b.key or "").startswith(("assign", "respond", "bulk"))]
    assert "You are a viewer" in markdown_of(at)


def test_pages_need_a_signed_in_user(site):
    at = page_app("queue", user=None)
    assert at.warning[0].value == "Sign in to see this page."
    assert not at.checkbox


# --- the item page -------------------------------------------------------------------------


def test_item_page_shows_text_scores_log_author_and_duplicates(site):
    i = site.seed.negative_item_id
    at = page_app("detail", item=str(i))
    assert NEGATIVE_TEXT in [t.value for t in at.text]
    assert [tab.label for tab in at.tabs] == [
        "Scores",
        "Action log (1)",
        "Same author (1)",
        "Near-duplicates (1)",
    ]
    assert [m.value for m in at.metric] == ["negative", "-0.95", "97%"]
    log = table(at, "Action")
    assert list(log["Action"]) == ["flagged"]
    texts = [t.value for t in at.text]
    assert "Bought a toaster last year, still works well." in texts  # same author
    assert any("similar]" in m.value for m in at.markdown)  # the near-duplicate


def test_item_page_acts_and_logs(any_site):
    i = any_site.seed.negative_item_id
    at = page_app("detail", item=str(i))
    at.text_input(key=f"note-{i}").input("<script>alert(1)</script> **note**")
    at.button(key=f"note-{i}-add").click()
    ran(at)
    log = table(at, "Action")
    assert list(log["Detail"])[-1] == "<script>alert(1)</script> **note**"  # a table parses nothing
    assert any_site.item(i)[1][-1].action == "note"


def test_item_page_without_or_with_an_unknown_item(site):
    at = page_app("detail")
    assert at.info[0].value.startswith("Open an item from the triage queue")
    at.number_input(key="detail-open").set_value(999)
    at.button[0].click()
    at = ran(at)
    assert "There is no triage item 999" in at.warning[0].value


# --- overview, topics, sources --------------------------------------------------------------


def test_overview_figures_and_charts(site):
    at = page_app("overview")
    assert [m.value for m in at.metric][:3] == ["6", "2", "0"]
    assert at.metric[3].value == "none yet"
    assert len(at.get("vega_lite_chart")) == 4
    at.segmented_control(key="overview-period").set_value("Last 4 weeks")
    assert len(ran(at).get("vega_lite_chart")) == 4


def test_topics_page_shows_the_change_and_the_items_behind_it(tmp_path, monkeypatch):
    # Seeded on the 25th of last month, so this month, last month and the one before hold
    # the seeds, whatever today's date: the change is order tracking, last month.
    today = datetime.now(UTC)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=25, hour=12)
    make_site(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'repwatch.db'}", now=last_month)
    at = page_app("topics")
    changes = table(at, "Change (pp)")
    assert changes["Topic"].iloc[0] == "Order tracking"
    assert changes["Change (pp)"].iloc[0] == pytest.approx(80.0)
    assert at.pills(key="topics-pick").value == "order_tracking"
    assert [t.value for t in at.text] == ["Nimbus lost my order and never answered emails."]
    at.pills(key="topics-pick").set_value("refunds")
    assert [t.value for t in ran(at).text] == ["Refund still missing after three weeks."]


def test_sources_page_shows_health_runs_and_escaped_errors(site):
    at = page_app("sources")
    health = table(at, "Health")
    assert dict(zip(health["Source"], health["Health"], strict=True)) == {
        "kestrel-blog": "never crawled",
        "kestrel-shop": "errors",
        "nimbus-reviews": "failed",
    }
    errors = table(at, "Reason")
    assert HOSTILE_CRAWL_REASON in list(errors["Reason"])  # a table cell, not HTML
    assert len(table(at, "Unchanged")) == 6


ADMIN = SignedInUser("ada", "Ada Admin", "admin")


def test_admin_pauses_and_resumes_a_source(site):
    at = page_app("sources", user=ADMIN)
    at.selectbox(key="pause-source-key").select("kestrel-blog")
    next(b for b in at.button if b.label == "Pause crawling").click()
    ran(at)
    engine = open_database(site.url)
    with session_scope(engine) as s:
        paused = queries.paused_sources(s)
    assert list(paused) == ["kestrel-blog"]
    assert paused["kestrel-blog"].by == "ada"
    assert "paused by ada" in table(at, "Health").to_string()
    at.selectbox(key="pause-source-key").select("kestrel-blog")
    next(b for b in at.button if b.label == "Resume crawling").click()
    ran(at)
    with session_scope(engine) as s:
        assert queries.paused_sources(s) == {}
    engine.dispose()


def test_only_admins_can_pause_sources(site):
    for user in (AGENT, VIEWER):
        at = page_app("sources", user=user)
        assert not [b for b in at.button if b.label == "Pause crawling"]
