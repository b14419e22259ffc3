"""Two people act on the same item at once: the second is refused, told who was faster,
and shown the item as it is now. Nothing is overwritten silently, on either backend."""

from __future__ import annotations

import threading
import time

import pytest
import streamlit as st

from dashboard.render import escape_markdown
from repwatch.auth import SESSION_KEY, SignedInUser
from repwatch.store import actions, queries, session_scope
from repwatch.store.actions import ItemConflict
from repwatch.store.views import QueueItem
from tests.seed import NEGATIVE_TEXT, seed_demo_data
from tests.test_dashboard_pages import make_site, page_app, ran, shown_items

HOLD_SECONDS = 0.5  # how long the first agent keeps its transaction open


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_two_sessions_race_for_one_item(engine):
    """Ana's transaction holds the item while Bob tries; Bob waits, then gets the conflict."""
    item_id = seed_demo_data(engine).negative_item_id
    ana_wrote = threading.Event()
    outcome: dict[str, QueueItem | ItemConflict | float] = {}

    def ana() -> None:
        with session_scope(engine) as s:
            reply = "Sorry, refund sent"
            outcome["ana"] = actions.respond(
                s, item_id, expected_version=1, actor="ana", reply=reply
            )
            ana_wrote.set()
            time.sleep(HOLD_SECONDS)  # still uncommitted: Bob's update has to wait for it

    def bob() -> None:
        ana_wrote.wait(10)
        started = time.monotonic()
        try:
            with session_scope(engine) as s:
                actions.dismiss(s, item_id, expected_version=1, actor="bob", reason="Spam")
        except ItemConflict as exc:
            outcome["bob"] = exc
        outcome["bob_waited"] = time.monotonic() - started

    threads = [threading.Thread(target=ana), threading.Thread(target=bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    winner, conflict = outcome["ana"], outcome["bob"]
    assert isinstance(winner, QueueItem)
    assert isinstance(conflict, ItemConflict)
    assert (winner.status, winner.version) == ("responded", 2)
    assert str(conflict).startswith(f"Item {item_id} was changed by ana at ")
    assert "a moment ago (responded)" in str(conflict)
    assert conflict.current is not None  # the fresh state, for the page to show
    assert (conflict.current.status, conflict.current.version) == ("responded", 2)
    assert float(outcome["bob_waited"]) >= HOLD_SECONDS / 2  # blocked until Ana committed
    with session_scope(engine) as s:
        log = [(a.actor, a.action) for a in queries.item_actions(s, item_id)]
    assert log == [("repwatch", "flagged"), ("ana", "responded")]


def test_two_dashboard_sessions_on_one_item(db_url, tmp_path, monkeypatch):
    """Two browsers (AppTest sessions): Ana responds, Bob's stale dismiss is refused."""
    site = make_site(tmp_path, monkeypatch, db_url)
    item_id = site.seed.negative_item_id
    ana = page_app("queue", user=SignedInUser("ana", "Ana", "agent"))
    bob = page_app("queue", user=SignedInUser("bob", "Bob", "agent"))
    assert item_id in shown_items(ana)
    assert item_id in shown_items(bob)

    ana.text_area(key=f"reply-{item_id}").input("Sorry, refund sent")
    ana.button(key=f"respond-{item_id}").click()
    ran(ana)
    bob.get_by_key(f"reason-{item_id}").set_value("Spam or a bot")  # type: ignore[attr-defined]
    bob.button(key=f"dismiss-{item_id}").click()
    ran(bob)

    (warning,) = bob.warning
    assert escape_markdown(f"Item {item_id} was changed by ana at") in warning.value
    assert escape_markdown("a moment ago (responded)") in warning.value
    assert item_id not in shown_items(bob)  # Bob's page now shows the queue as it is
    assert NEGATIVE_TEXT not in [t.value for t in bob.text]
    item, log = site.item(item_id)
    assert item.status == "responded"
    assert [(a.actor, a.action) for a in log] == [("repwatch", "flagged"), ("ana", "responded")]
    assert bob.session_state[SESSION_KEY].username == "bob"
