"""Actions on triage items (``repwatch.store.actions``): each one transaction with its log,
each refused when somebody changed the item since it was read."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from repwatch.errors import NotFoundError
from repwatch.records import ActionRow
from repwatch.store import actions, queries, session_scope, views
from repwatch.store.actions import ActionRejected, ItemConflict, Seen
from repwatch.store.schema import LabelRow, TriageActionRow
from tests.seed import SeedInfo, seed_demo_data


@pytest.fixture
def seeded(engine) -> SeedInfo:
    return seed_demo_data(engine)


def _log(engine, item_id: int) -> list[ActionRow]:
    with session_scope(engine) as s:
        return queries.item_actions(s, item_id)


def _item(engine, item_id: int) -> views.QueueItem:
    with session_scope(engine) as s:
        return views.queue_item(s, item_id)


def test_each_action_changes_the_item_and_logs_it(engine, seeded):
    i = seeded.negative_item_id
    steps = [
        (lambda s, v: actions.assign(s, i, expected_version=v, actor="ana", assignee="bo"),
         ("assigned", "ana", "new", "assigned", "bo")),
        (lambda s, v: actions.escalate(s, i, expected_version=v, actor="bo", reason="Press"),
         ("escalated", "bo", "assigned", "assigned", "Press")),
        (lambda s, v: actions.add_note(s, i, expected_version=v, actor="bo", note=" Called "),
         ("note", "bo", "assigned", "assigned", "Called")),
        (lambda s, v: actions.respond(s, i, expected_version=v, actor="bo", reply="https://r/1"),
         ("responded", "bo", "assigned", "responded", "https://r/1")),
        (lambda s, v: actions.reopen(s, i, expected_version=v, actor="cy"),
         ("reopened", "cy", "responded", "assigned", None)),
        (lambda s, v: actions.assign(s, i, expected_version=v, actor="cy", assignee=None),
         ("unassigned", "cy", "assigned", "new", None)),
        (lambda s, v: actions.dismiss(s, i, expected_version=v, actor="cy", reason="Duplicate"),
         ("dismissed", "cy", "new", "dismissed", "Duplicate")),
    ]  # fmt: skip
    for version, (step, expected) in enumerate(steps, start=1):
        with session_scope(engine) as s:
            item = step(s, version)
        assert item.version == version + 1
        last = _log(engine, i)[-1]
        assert (last.action, last.actor, last.from_status, last.to_status, last.detail) == expected
    item = _item(engine, i)
    assert (item.status, item.assignee, item.escalated) == ("dismissed", None, True)
    assert item.responded_at is not None
    assert len(_log(engine, i)) == 1 + len(steps)


def test_first_response_time_is_kept(engine, seeded):
    i = seeded.negative_item_id
    with session_scope(engine) as s:
        first = actions.respond(s, i, expected_version=1, actor="ana", reply="Sorry").responded_at
        again = actions.respond(s, i, expected_version=2, actor="ana", reply="Follow-up")
    assert first is not None
    assert again.responded_at == first


def test_corrections_are_kept_as_labels(engine, seeded):
    i = seeded.negative_item_id
    with session_scope(engine) as s:
        actions.correct_sentiment(s, i, expected_version=1, actor="ana", label="neutral")
        actions.correct_topic(
            s, i, expected_version=2, actor="ana", topic="Order Tracking", polarity="absent"
        )
        labels = s.execute(select(LabelRow.kind, LabelRow.value, LabelRow.polarity)).all()
    assert sorted(labels) == [("sentiment", "neutral", None), ("topic", "order_tracking", "absent")]
    assert [a.detail for a in _log(engine, i)[1:]] == [
        "sentiment: neutral",
        "topic order_tracking: absent",
    ]


REJECTED = [
    (
        lambda s, i: actions.respond(s, i, expected_version=1, actor="a", reply="  "),
        "Write the reply (its text or a link to it) first: it is kept in the item's log.",
    ),
    (
        lambda s, i: actions.dismiss(s, i, expected_version=1, actor="a", reason=""),
        "Write the reason for dismissing first: it is kept in the item's log.",
    ),
    (
        lambda s, i: actions.add_note(s, i, expected_version=1, actor="a", note="x" * 10_001),
        "The note has 10001 characters; shorten it to 10000 or fewer.",
    ),
    (
        lambda s, i: actions.assign(s, i, expected_version=1, actor="a", assignee=" "),
        "Choose whom to assign the item to.",
    ),
    (
        lambda s, i: actions.correct_sentiment(s, i, expected_version=1, actor="a", label="angry"),  # type: ignore[arg-type]
        "Unknown sentiment 'angry'; expected one of negative, neutral, positive",
    ),
    (
        lambda s, i: actions.correct_topic(
            s, i, expected_version=1, actor="a", topic="x", polarity="meh"
        ),
        "Unknown polarity 'meh'; expected one of negative, neutral, positive, absent",
    ),
    (
        lambda s, i: actions.reopen(s, i, expected_version=1, actor="a"),
        "is new, not closed: nothing to reopen.",
    ),
]


def test_rejected_actions_say_what_to_do_and_write_nothing(engine, seeded):
    i = seeded.negative_item_id
    for act, message in REJECTED:
        with pytest.raises(ActionRejected, match=re.escape(message)), session_scope(engine) as s:
            act(s, i)
    assert len(_log(engine, i)) == 1
    assert _item(engine, i).version == 1


def test_stale_version_is_refused_with_who_and_the_fresh_state(engine, seeded):
    i = seeded.negative_item_id
    with session_scope(engine) as s:
        actions.dismiss(s, i, expected_version=1, actor="bob", reason="Spam")
    with pytest.raises(ItemConflict) as caught, session_scope(engine) as s:
        actions.respond(s, i, expected_version=1, actor="ana", reply="Sorry")
    conflict = caught.value
    assert re.fullmatch(
        rf"Item {i} was changed by bob at \d\d:\d\d:\d\d UTC, a moment ago \(dismissed\)\. "
        r"It is shown as it is now \(dismissed\); try again if it still needs you\.",
        str(conflict),
    )
    assert conflict.current is not None
    assert (conflict.current.status, conflict.current.version) == ("dismissed", 2)
    assert [a.actor for a in _log(engine, i)] == ["repwatch", "bob"]


def test_unknown_item(engine, seeded):
    message = re.escape("There is no triage item 999; reload the queue.")
    missing = pytest.raises(NotFoundError, match=message)
    with missing, session_scope(engine) as s:
        actions.escalate(s, 999, expected_version=1, actor="a")


def test_bulk_acts_on_fresh_items_and_reports_the_rest(engine, seeded):
    fresh, stale, gone = seeded.item_ids[0], seeded.item_ids[1], 999
    with session_scope(engine) as s:
        actions.add_note(s, stale, expected_version=1, actor="bob", note="Mine")
    selection = [Seen(fresh, 1), Seen(stale, 1), Seen(gone, 1)]
    with session_scope(engine) as s:
        result = actions.bulk(s, selection, "assign", actor="ana", assignee="ana")
    assert [i.item_id for i in result.done] == [fresh]
    assert [c.item_id for c in result.conflicts] == [stale]
    assert "was changed by bob" in str(result.conflicts[0])
    assert result.missing == (gone,)
    assert _item(engine, fresh).assignee == "ana"
    assert _item(engine, stale).assignee is None


def test_bulk_checks_input_before_writing(engine, seeded):
    selection = [Seen(i, 1) for i in seeded.item_ids]
    with pytest.raises(ActionRejected, match="Write the reply first"), session_scope(engine) as s:
        actions.bulk(s, selection, "respond", actor="ana")
    with session_scope(engine) as s:
        logged = s.scalar(select(func.count()).select_from(TriageActionRow))
        result = actions.bulk(s, selection[:2], "reopen", actor="ana")
    assert logged == len(seeded.item_ids)  # only the "flagged" lines
    assert result.done == ()
    assert len(result.skipped) == 2


def test_change_status_keeps_its_contract(engine, seeded):
    i = seeded.negative_item_id
    with session_scope(engine) as s:
        row = queries.change_status(s, i, expected_version=1, to_status="responded", actor="a")
    assert (row.status, row.version) == ("responded", 2)
    assert _item(engine, i).responded_at is not None
    with pytest.raises(ValueError, match="unknown status 'closed'"), session_scope(engine) as s:
        queries.change_status(s, i, expected_version=2, to_status="closed", actor="a")  # type: ignore[arg-type]
