"""The dashboard's page logic through Streamlit's AppTest, on a seeded database."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

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
    escape_markdown,
    is_web_url,
    markdown_link,
    stars_label,
    time_left,
)
from repwatch.config import DATABASE_URL_ENV
from repwatch.records import ActionRow, QueueRow
from repwatch.store import open_database, queries, session_scope
from tests.conftest import write_config
from tests.seed import HOSTILE_TEXT, NEGATIVE_TEXT, SeedInfo, seed_demo_data

APP_TIMEOUT = 30


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """AppTest runs in this process: forget cached reads and engines between tests."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()  # disposes the engines (on_release)


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> SeedInfo:
    config = write_config(tmp_path / "conf")
    monkeypatch.setenv(CONFIG_ENV, str(config.path))
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    engine = open_database(url)
    try:
        return seed_demo_data(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, SeedInfo]:
    url = f"sqlite:///{tmp_path / 'repwatch.db'}"
    return url, _setup(tmp_path, monkeypatch, url)


@pytest.fixture
def any_seed(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, SeedInfo]:
    return db_url, _setup(tmp_path, monkeypatch, db_url)


def _app() -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown_items(at: AppTest) -> list[int]:
    """Item ids in page order, read from the stable keys of their buttons."""
    keys = [b.key or "" for b in at.button]
    return [int(key.split("-")[1]) for key in keys if key.startswith("responded-")]


def _item(url: str, item_id: int) -> tuple[QueueRow, list[ActionRow]]:
    engine = open_database(url)
    try:
        with session_scope(engine) as s:
            return queries.triage_item(s, item_id), queries.item_actions(s, item_id)
    finally:
        engine.dispose()


def test_queue_lists_open_items_by_priority(sqlite_seed):
    _, seed = sqlite_seed
    at = _app()
    assert at.title[0].value == "Triage queue"
    assert _shown_items(at) == list(seed.item_ids)  # all seeded items are open, by priority
    texts = [t.value for t in at.text]
    assert NEGATIVE_TEXT in texts
    assert HOSTILE_TEXT in texts  # shown verbatim with st.text, which parses nothing
    assert "6 open" in at.caption[0].value


def test_scraped_text_never_reaches_markdown_unescaped(sqlite_seed):
    at = _app()
    markdown = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    assert "<script>" not in markdown
    assert "<b>" not in markdown
    assert "javascript:" not in markdown  # the hostile URL is escaped, never a link
    assert escape_markdown("Worst <b>ever</b> :red[fake] $x^2$ _really_") in markdown
    # A web URL becomes a link, with its parentheses percent-encoded.
    assert "(https://shop.example/kestrel/reviews/k1?ref=a%28b%29)" in markdown


def test_item_shows_rating_sentiment_and_reason(sqlite_seed):
    at = _app()
    captions = "\n".join(c.value for c in at.caption)
    markdown = "\n".join(m.value for m in at.markdown)
    assert "★☆☆☆☆ 1/5" in markdown
    assert "Sentiment: negative" in captions
    assert escape_markdown("model: negative 0.97; rating 1/5") in captions
    assert "overdue by" in markdown  # the items flagged five days ago


def test_mark_responded_persists_and_leaves_the_open_view(any_seed):
    url, seed = any_seed
    at = _app()
    at.text_input(key="actor").input("dana").run()
    at.button(key=f"responded-{seed.negative_item_id}").click().run()
    assert not at.exception

    item, actions = _item(url, seed.negative_item_id)
    assert item.status == "responded"
    assert item.version == 2
    assert (actions[-1].action, actions[-1].actor) == ("responded", "dana")
    assert (actions[-1].from_status, actions[-1].to_status) == ("new", "responded")
    assert seed.negative_item_id not in _shown_items(at)
    assert NEGATIVE_TEXT not in [t.value for t in at.text]

    at.selectbox(key="queue-status").select("Responded").run()
    assert _shown_items(at) == [seed.negative_item_id]
    assert at.button(key=f"responded-{seed.negative_item_id}").disabled


def test_dismiss_persists(sqlite_seed):
    url, seed = sqlite_seed
    at = _app()
    at.button(key=f"dismissed-{seed.hostile_item_id}").click().run()
    item, actions = _item(url, seed.hostile_item_id)
    assert item.status == "dismissed"
    assert (actions[-1].actor, actions[-1].to_status) == ("agent", "dismissed")
    assert seed.hostile_item_id not in _shown_items(at)
    at.selectbox(key="queue-status").select("Dismissed").run()
    assert _shown_items(at) == [seed.hostile_item_id]


def test_conflicting_change_warns_and_does_not_overwrite(sqlite_seed):
    url, seed = sqlite_seed
    at = _app()
    engine = open_database(url)  # somebody else, behind the app's back
    with session_scope(engine) as s:
        queries.change_status(
            s, seed.negative_item_id, expected_version=1, to_status="dismissed", actor="bob"
        )
    engine.dispose()

    at.button(key=f"responded-{seed.negative_item_id}").click().run()
    assert not at.exception
    assert len(at.warning) == 1
    assert "was changed by bob" in at.warning[0].value
    item, actions = _item(url, seed.negative_item_id)
    assert item.status == "dismissed"  # bob's change stands
    assert [a.actor for a in actions] == ["repwatch", "bob"]
    assert seed.negative_item_id not in _shown_items(at)  # reloaded: it is dismissed now


def test_brand_filter(sqlite_seed):
    url, _ = sqlite_seed
    at = _app()
    at.selectbox(key="queue-brand").select("nimbus").run()
    engine = open_database(url)
    with session_scope(engine) as s:
        nimbus = [r.item_id for r in queries.triage_queue(s, brand="nimbus")]
    engine.dispose()
    assert nimbus
    assert _shown_items(at) == nimbus


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
