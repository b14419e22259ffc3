"""The dashboard's page logic through Streamlit's AppTest, on a seeded database."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.app import navigation_for
from dashboard.app_pages import PAGES
from dashboard.launch import (
    APP_PATH,
    CONFIG_ENV,
    DashboardNotReady,
    dashboard_command,
    env_for,
    start_dashboard,
    stop_dashboard,
    wait_until_healthy,
)
from dashboard.render import (
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
from repwatch.auth import SESSION_KEY, SignedInUser
from repwatch.config import DATABASE_URL_ENV
from tests.conftest import write_config
from tests.test_dashboard_pages import make_site

APP_TIMEOUT = 30


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """AppTest runs in this process: forget cached reads and engines between tests."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()  # disposes the engines (on_release)


def _app(user: SignedInUser | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
    if user is not None:
        at.session_state[SESSION_KEY] = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_signed_in_user_lands_on_the_queue(tmp_path, monkeypatch):
    make_site(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'repwatch.db'}")
    at = _app(SignedInUser("dana", None, "agent"))
    assert at.title[0].value == "Triage queue"
    assert len([c for c in at.checkbox if (c.key or "").startswith("pick-")]) == 6  # open items


def test_navigation_lists_every_page_for_every_role():
    titles = ["Triage queue", "Item detail", "Overview", "Topics", "Sources"]
    for role in ("viewer", "agent", "admin"):
        entries = navigation_for(SignedInUser("x", None, role))[""]
        assert [e.title for e in entries] == titles
    assert [p.url_path for p in PAGES] == ["queue", "item", "overview", "topics", "sources"]
    assert [p.key for p in PAGES if p.default] == ["queue"]


def test_missing_config_shows_what_to_do(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "repwatch.toml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    at = _app()
    assert len(at.error) == 1
    expected = f"No config file at {missing}. Create one with: repwatch init --dir {missing.parent}"
    assert at.error[0].value == escape_markdown(expected, single_line=False)
    assert not at.button  # no queue


def test_unset_config_variable_shows_how_to_start(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    at = _app()
    assert escape_markdown("repwatch dashboard --config") in at.error[0].value


def test_unreachable_database_shows_the_database_error(tmp_path, monkeypatch):
    config = write_config(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(config.path))
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    at = _app()
    assert len(at.error) == 1
    assert escape_markdown("Cannot open database") in at.error[0].value
    assert escape_markdown("Check that the server runs") in at.error[0].value


def test_stars_from_ratings():
    assert stars_label(0.0) == "★☆☆☆☆ 1/5"
    assert stars_label(0.25) == "★★☆☆☆ 2/5"
    assert stars_label(1.0) == "★★★★★ 5/5"
    assert stars_label(None) == "no rating"


def test_time_left_marks_overdue():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert time_left(now + timedelta(hours=3, minutes=20), now) == ("due in 3 h 20 min", False)
    assert time_left(now - timedelta(days=2, hours=1), now) == ("overdue by 2 d 1 h", True)
    assert time_left(now - timedelta(hours=2), now) == ("overdue by 2 h", True)
    assert time_left(now + timedelta(minutes=5, seconds=30), now) == ("due in 5 min", False)


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://shop.example/r/1", True),
        ("HTTP://shop.example/r/1", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("/relative/path", False),
        ("https://", False),
    ],
)
def test_only_web_urls_become_links(url, linked):
    assert is_web_url(url) is linked
    assert markdown_link("open", url).startswith("[open](") is linked


def test_escape_markdown_escapes_every_ascii_punctuation():
    assert escape_markdown("**bold** [x](y)\n<b>") == r"\*\*bold\*\* \[x\]\(y\) \<b\>"
    assert escape_markdown("a\n\nb", single_line=False) == "a\n\nb"


def test_labels_for_topics_reach_brands_and_sentiment():
    assert topic_label("order_tracking") == "Order tracking"
    assert topic_label("after-sales") == "After sales"
    assert [reach_label(n) for n in (None, 950, 3400, 120_000, 2_500_000)] == [
        "unknown reach", "950 reach", "3.4k reach", "120k reach", "2.5M reach"
    ]  # fmt: skip
    names = {"acme": "Acme"}
    assert brand_label("acme", names) == "Acme"
    assert brand_label("rival", names, ("rival",)) == "rival (competitor)"
    assert sentiment_badge("negative") == ":red-badge[negative]"
    assert sentiment_badge(None) == ":gray-badge[not analysed]"
    assert sentiment_badge("x]<b>") == ":gray-badge[x\\]\\<b\\>]"


def test_plain_text_for_tables():
    assert plain(" two\n lines ") == "two lines"
    assert plain(None) == ""
    assert plain("abcdefghij", 5) == "abcd…"


def test_dashboard_command_and_environment(tmp_path):
    config = tmp_path / "repwatch.toml"
    command = dashboard_command(config, port=8765, host="0.0.0.0")
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_PATH)]
    options = dict(zip(command[5:-2:2], command[6:-2:2], strict=True))
    assert options["--server.port"] == "8765"
    assert options["--server.address"] == "0.0.0.0"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--global.developmentMode"] == "false"
    assert command[-2:] == ["--", str(config.resolve())]
    assert env_for(config)[CONFIG_ENV] == str(config.resolve())


@pytest.mark.slow
def test_wait_until_healthy_reports_a_dashboard_that_exits(tmp_path):
    config = write_config(tmp_path)
    log_path = tmp_path / "streamlit.log"
    with socket.socket() as busy, log_path.open("wb") as log:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = start_dashboard(config.path, port=port, output=log)
        try:
            with pytest.raises(DashboardNotReady, match="exited with code 1 before it answered"):
                wait_until_healthy(f"http://127.0.0.1:{port}", timeout=60, process=process)
        finally:
            stop_dashboard(process)
    assert f"Port {port} is not available" in log_path.read_text()
