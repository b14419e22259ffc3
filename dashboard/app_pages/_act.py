"""Button and form callbacks that act on triage items, one at a time or in bulk.

Each callback reads its form fields from ``st.session_state``, runs one
``repwatch.store.actions`` call through ``data.act`` as the signed-in user, and leaves a
message for the next run: a toast on success, a warning naming who changed the item
when somebody was faster (the page then shows the item as it is now).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlalchemy.orm import Session

from dashboard import data, session
from dashboard.app_pages._common import flash
from repwatch.errors import NotFoundError, RepwatchError
from repwatch.store import actions
from repwatch.store.actions import BulkAction, ItemConflict, Seen
from repwatch.store.views import QueueItem

SELECTION_KEY = "queue-selection"  # item id -> version the user saw when ticking it
SUCCESS = {
    "assign_me": "assigned to you",
    "assign": "assigned",
    "unassign": "unassigned",
    "respond": "marked responded",
    "dismiss": "dismissed",
    "escalate": "escalated",
    "deescalate": "no longer escalated",
    "note": "noted",
    "correct": "corrected",
    "reopen": "reopened",
}


def selection() -> dict[int, int]:
    """The ticked items of this session (kept across reruns, refreshes and pages)."""
    picked = st.session_state.setdefault(SELECTION_KEY, {})
    assert isinstance(picked, dict)
    return picked


def toggle(item_id: int, version: int) -> None:
    """Checkbox callback: tick or untick ``item_id`` as seen at ``version``."""
    if st.session_state.get(f"pick-{item_id}"):
        selection()[item_id] = version
    else:
        selection().pop(item_id, None)


def select_all(items: list[tuple[int, int]]) -> None:
    """Tick every item on the page."""
    selection().update(dict(items))
    for item_id, _ in items:
        st.session_state[f"pick-{item_id}"] = True


def clear_selection() -> None:
    """Untick everything."""
    for item_id in list(selection()):
        st.session_state.pop(f"pick-{item_id}", None)
    selection().clear()


def _actor() -> str:
    user = session.current_user()
    if user is None or not user.can_act:
        raise actions.ActionRejected("Only agents and admins can act on items; sign in as one.")
    return user.username


def _field(key: str) -> Any:
    return st.session_state.get(key)


def _one(kind: str, item_id: int, version: int, actor: str) -> Callable[[Session], QueueItem]:
    """The ``actions`` call for ``kind``, with the item's form fields filled in."""
    seen: dict[str, Any] = {"expected_version": version, "actor": actor}
    if kind == "assign_me":
        return lambda s: actions.assign(s, item_id, assignee=actor, **seen)
    if kind == "assign":
        who = _field(f"assignee-{item_id}") or ""
        return lambda s: actions.assign(s, item_id, assignee=who, **seen)
    if kind == "unassign":
        return lambda s: actions.assign(s, item_id, assignee=None, **seen)
    if kind == "respond":
        reply = _field(f"reply-{item_id}") or ""
        return lambda s: actions.respond(s, item_id, reply=reply, **seen)
    if kind == "dismiss":
        reason = _field(f"reason-{item_id}") or ""
        return lambda s: actions.dismiss(s, item_id, reason=reason, **seen)
    if kind in ("escalate", "deescalate"):
        up = kind == "escalate"
        return lambda s: actions.escalate(s, item_id, escalated=up, **seen)
    if kind == "note":
        note = _field(f"note-{item_id}") or ""
        return lambda s: actions.add_note(s, item_id, note=note, **seen)
    if kind == "reopen":
        return lambda s: actions.reopen(s, item_id, **seen)
    if kind == "correct":
        return _correction(item_id, seen)
    raise ValueError(f"unknown action {kind!r}")


def _correction(item_id: int, seen: dict[str, Any]) -> Callable[[Session], QueueItem]:
    label = _field(f"fix-sentiment-{item_id}")
    topic = (_field(f"fix-topic-{item_id}") or "").strip()
    polarity = _field(f"fix-polarity-{item_id}") or "negative"
    if not label and not topic:
        raise actions.ActionRejected("Choose the right sentiment or a topic to correct.")

    def run(s: Session) -> QueueItem:
        item: QueueItem | None = None
        if label:
            item = actions.correct_sentiment(s, item_id, label=label, **seen)
            seen["expected_version"] = item.version
        if topic:
            item = actions.correct_topic(s, item_id, topic=topic, polarity=polarity, **seen)
        assert item is not None
        return item

    return run


def act(database_url: str, kind: str, item_id: int, version: int) -> None:
    """Callback of an item's button or form: do ``kind`` to the item as seen at ``version``."""
    try:
        actor = _actor()
        item = data.act(database_url, _one(kind, item_id, version, actor))
    except ItemConflict as exc:
        if exc.current is not None and item_id in selection():
            selection()[item_id] = exc.current.version  # ticked as it is now
        flash("warning", str(exc))
    except NotFoundError as exc:
        selection().pop(item_id, None)
        flash("warning", str(exc))
    except RepwatchError as exc:
        flash("error", str(exc))
    else:
        if item_id in selection():
            selection()[item_id] = item.version
        flash("success", f"Item {item_id} {SUCCESS[kind]}.")


BULK_LABELS: dict[str, BulkAction] = {
    "Assign to me": "assign",
    "Assign to…": "assign",
    "Unassign": "unassign",
    "Mark responded": "respond",
    "Dismiss": "dismiss",
    "Escalate": "escalate",
    "Add a note": "note",
    "Reopen": "reopen",
}


def act_on_selection(database_url: str) -> None:
    """Callback of the bulk form: apply its action to every ticked item."""
    picked = selection()
    label = _field("bulk-action") or "Assign to me"
    kind = BULK_LABELS[label]
    try:
        actor = _actor()
        assignee = actor if label == "Assign to me" else _field("bulk-assignee")
        seen = [Seen(i, v) for i, v in sorted(picked.items())]
        text = _field("bulk-text") or ""
        result = data.act(
            database_url,
            lambda s: actions.bulk(s, seen, kind, actor=actor, text=text, assignee=assignee),
        )
    except RepwatchError as exc:
        flash("error", str(exc))
        return
    for item in result.done:
        picked.pop(item.item_id, None)
        st.session_state.pop(f"pick-{item.item_id}", None)
    for missing in result.missing:
        picked.pop(missing, None)
    for conflict in result.conflicts:
        if conflict.current is not None:
            picked[conflict.item_id] = conflict.current.version
    parts = [f"{label}: {len(result.done)} item(s) done."]
    if result.conflicts:
        parts.append(
            f"{len(result.conflicts)} changed meanwhile and were left alone (still ticked, "
            "shown as they are now): " + " ".join(str(c) for c in result.conflicts)
        )
    if result.missing:
        parts.append(f"{len(result.missing)} no longer exist.")
    parts.extend(result.skipped)
    flash("warning" if result.conflicts or result.skipped else "success", " ".join(parts))
