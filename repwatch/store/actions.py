"""What staff do to triage items: assign, respond, dismiss, escalate, note, correct.

Every action is one transaction with its line in the action log, and is optimistic:
the caller passes the ``version`` it saw, and when somebody changed the item since,
``ItemConflict`` says who and carries the item as it is now. Nothing is overwritten
silently. Bulk actions apply the same action to a selection and report the items that
changed under the user instead of touching them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from repwatch.errors import ConflictError, NotFoundError, RepwatchError
from repwatch.records import STATUSES, SentimentLabel, Status
from repwatch.store.schema import LabelRow, TriageActionRow, TriageItemRow, utcnow
from repwatch.store.views.queue import queue_item
from repwatch.store.views.records import SENTIMENTS, QueueItem

TOPIC_POLARITIES = ("negative", "neutral", "positive", "absent")  # absent: not about it
BulkAction = Literal["assign", "unassign", "respond", "dismiss", "escalate", "note", "reopen"]
BULK_ACTIONS: tuple[BulkAction, ...] = (
    "assign",
    "unassign",
    "respond",
    "dismiss",
    "escalate",
    "note",
    "reopen",
)
MAX_TEXT = 10_000  # characters of a reply, reason or note


class ItemConflict(ConflictError):
    """Somebody changed the item since the caller read it; ``current`` is how it is now."""

    def __init__(self, message: str, item_id: int, current: QueueItem | None) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.current = current


class ActionRejected(RepwatchError):
    """The action needs input it did not get (an empty reply, an unknown label)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """An item as the user saw it: its id and version."""

    item_id: int
    version: int


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk action changed, and what it left alone because it had changed."""

    done: tuple[QueueItem, ...]
    conflicts: tuple[ItemConflict, ...]
    missing: tuple[int, ...]  # item ids that no longer exist
    skipped: tuple[str, ...] = ()  # why an item was left as it is (reopening an open item)


def _when(moment: datetime, now: datetime) -> str:
    """``at 14:03:12 UTC, a moment ago`` (the clock time, then how long ago)."""
    seconds = (now - moment).total_seconds()
    if seconds >= 86_400:
        return f"at {moment:%Y-%m-%d %H:%M} UTC"
    if seconds < 90:
        ago = "a moment ago"
    elif seconds < 3600:
        ago = f"{round(seconds / 60)} min ago"
    else:
        ago = f"{seconds / 3600:.0f} h ago"
    return f"at {moment:%H:%M:%S} UTC, {ago}"


def _conflict(session: Session, item_id: int) -> ItemConflict:
    """The conflict for ``item_id``: who changed it last, when, and its state now."""
    last = session.execute(
        select(TriageActionRow.actor, TriageActionRow.action, TriageActionRow.at)
        .where(TriageActionRow.item_id == item_id)
        .order_by(TriageActionRow.id.desc())
        .limit(1)
    ).first()
    current = queue_item(session, item_id)
    if last is None:
        who = "someone else"
    else:
        actor, action, at = last
        who = f"{actor} {_when(at, utcnow())} ({action})"
    return ItemConflict(
        f"Item {item_id} was changed by {who}. It is shown as it is now "
        f"({current.status}); try again if it still needs you.",
        item_id,
        current,
    )


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise ActionRejected(f"Write the {what} first: it is kept in the item's log.")
    if len(text) > MAX_TEXT:
        raise ActionRejected(
            f"The {what} has {len(text)} characters; shorten it to {MAX_TEXT} or fewer."
        )
    return text


def _act(
    session: Session,
    item_id: int,
    expected_version: int,
    actor: str,
    action: str,
    values: Callable[[Any], dict[str, Any]] | dict[str, Any] | None = None,
    detail: str | None = None,
) -> QueueItem:
    """Change one item if it is still at ``expected_version``, and log it, or raise."""
    row = session.execute(
        select(TriageItemRow.status, TriageItemRow.version, TriageItemRow.assignee).where(
            TriageItemRow.id == item_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"There is no triage item {item_id}; reload the queue.")
    if row.version != expected_version:
        raise _conflict(session, item_id)
    changes = (values(row) if callable(values) else values) or {}
    changes["version"] = TriageItemRow.version + 1
    result = session.execute(
        update(TriageItemRow)
        .where(TriageItemRow.id == item_id, TriageItemRow.version == expected_version)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # changed since we read it
        raise _conflict(session, item_id)
    to_status = changes.get("status")
    session.add(
        TriageActionRow(
            item_id=item_id,
            action=action,
            actor=actor,
            at=utcnow(),
            from_status=row.status,
            to_status=to_status if isinstance(to_status, str) else row.status,
            detail=detail,
        )
    )
    session.flush()
    return queue_item(session, item_id)


def set_status(
    session: Session,
    item_id: int,
    *,
    expected_version: int,
    to_status: Status,
    actor: str,
    detail: str | None = None,
    assignee: str | None = None,
) -> QueueItem:
    """Move an item to ``to_status`` (the plain status change ``queries.change_status`` uses)."""
    if to_status not in STATUSES:
        raise ValueError(f"unknown status {to_status!r}; expected one of {', '.join(STATUSES)}")
    values: dict[str, Any] = {"status": to_status}
    if assignee is not None:
        values["assignee"] = assignee
    if to_status == "responded":
        values["responded_at"] = _first_response()
    return _act(session, item_id, expected_version, actor, to_status, values, detail)


def _first_response() -> Any:
    """``responded_at`` keeps the first response, so response times are not reset."""
    return func.coalesce(TriageItemRow.responded_at, utcnow())


def assign(
    session: Session, item_id: int, *, expected_version: int, actor: str, assignee: str | None
) -> QueueItem:
    """Give the item to ``assignee`` (``None``: to nobody). A closed item is reopened."""
    who = None if assignee is None else assignee.strip()
    if who == "":
        raise ActionRejected("Choose whom to assign the item to.")

    def values(row: Any) -> dict[str, Any]:
        if who is None:
            return {"assignee": None, "status": "new" if row.status == "assigned" else row.status}
        return {"assignee": who, "status": "assigned"}

    action = "unassigned" if who is None else "assigned"
    return _act(session, item_id, expected_version, actor, action, values, who)


def respond(
    session: Session, item_id: int, *, expected_version: int, actor: str, reply: str
) -> QueueItem:
    """Mark the item responded with the reply's text or link; the first response is timed."""
    text = _text(reply, "reply (its text or a link to it)")
    values = {"status": "responded", "responded_at": _first_response()}
    return _act(session, item_id, expected_version, actor, "responded", values, text)


def dismiss(
    session: Session, item_id: int, *, expected_version: int, actor: str, reason: str
) -> QueueItem:
    """Close the item without a response, saying why (spam, duplicate, not about us)."""
    text = _text(reason, "reason for dismissing")
    values = {"status": "dismissed"}
    return _act(session, item_id, expected_version, actor, "dismissed", values, text)


def reopen(session: Session, item_id: int, *, expected_version: int, actor: str) -> QueueItem:
    """Put a responded or dismissed item back in the open queue."""

    def values(row: Any) -> dict[str, Any]:
        if row.status not in ("responded", "dismissed"):
            raise ActionRejected(f"Item {item_id} is {row.status}, not closed: nothing to reopen.")
        return {"status": "assigned" if row.assignee else "new"}

    return _act(session, item_id, expected_version, actor, "reopened", values)


def escalate(
    session: Session,
    item_id: int,
    *,
    expected_version: int,
    actor: str,
    reason: str = "",
    escalated: bool = True,
) -> QueueItem:
    """Flag the item for a manager's attention (``escalated=False`` takes the flag off)."""
    action = "escalated" if escalated else "de-escalated"
    values = {"escalated": escalated}
    return _act(session, item_id, expected_version, actor, action, values, reason.strip() or None)


def add_note(
    session: Session, item_id: int, *, expected_version: int, actor: str, note: str
) -> QueueItem:
    """Add a note to the item's log (for colleagues; never sent to the customer)."""
    text = _text(note, "note")
    return _act(session, item_id, expected_version, actor, "note", None, text)


def correct_sentiment(
    session: Session, item_id: int, *, expected_version: int, actor: str, label: SentimentLabel
) -> QueueItem:
    """Record the right sentiment as a label for training, and log the correction."""
    if label not in SENTIMENTS:
        expected = ", ".join(SENTIMENTS)
        raise ActionRejected(f"Unknown sentiment {label!r}; expected one of {expected}")
    detail = f"sentiment: {label}"
    item = _act(session, item_id, expected_version, actor, "corrected", None, detail)
    _label(session, item, "sentiment", label, None, actor)
    return item


def correct_topic(
    session: Session,
    item_id: int,
    *,
    expected_version: int,
    actor: str,
    topic: str,
    polarity: str,
) -> QueueItem:
    """Record a topic label (``polarity`` ``absent``: the mention is not about it)."""
    key = topic.strip().lower().replace(" ", "_")[:100]
    if not key:
        raise ActionRejected("Choose or type the topic to correct.")
    if polarity not in TOPIC_POLARITIES:
        expected = ", ".join(TOPIC_POLARITIES)
        raise ActionRejected(f"Unknown polarity {polarity!r}; expected one of {expected}")
    detail = f"topic {key}: {polarity}"
    item = _act(session, item_id, expected_version, actor, "corrected", None, detail)
    _label(session, item, "topic", key, polarity, actor)
    return item


def _label(
    session: Session, item: QueueItem, kind: str, value: str, polarity: str | None, actor: str
) -> None:
    """A correction kept as a training label for the item's mention."""
    session.add(
        LabelRow(
            mention_id=item.mention_id,
            kind=kind,
            value=value,
            polarity=polarity,
            actor=actor,
            at=utcnow(),
        )
    )


def bulk(
    session: Session,
    selection: Sequence[Seen],
    action: BulkAction,
    *,
    actor: str,
    text: str = "",
    assignee: str | None = None,
) -> BulkResult:
    """Apply one action to every selected item, in one transaction.

    Items changed by somebody else since they were seen are left alone and reported in
    ``conflicts``; deleted ones in ``missing``. Input problems raise ``ActionRejected``
    before anything is written.
    """
    if action not in BULK_ACTIONS:
        raise ActionRejected(f"Unknown bulk action {action!r}; expected one of {BULK_ACTIONS}")
    if action in ("respond", "dismiss", "note"):
        _text(text, {"respond": "reply", "dismiss": "reason", "note": "note"}[action])
    if action == "assign" and not (assignee or "").strip():
        raise ActionRejected("Choose whom to assign the selected items to.")
    done: list[QueueItem] = []
    conflicts: list[ItemConflict] = []
    missing: list[int] = []
    skipped: list[str] = []
    for seen in selection:
        kwargs: dict[str, Any] = {"expected_version": seen.version, "actor": actor}
        try:
            if action in ("assign", "unassign"):
                who = assignee if action == "assign" else None
                item = assign(session, seen.item_id, assignee=who, **kwargs)
            elif action == "respond":
                item = respond(session, seen.item_id, reply=text, **kwargs)
            elif action == "dismiss":
                item = dismiss(session, seen.item_id, reason=text, **kwargs)
            elif action == "escalate":
                item = escalate(session, seen.item_id, reason=text, **kwargs)
            elif action == "reopen":
                item = reopen(session, seen.item_id, **kwargs)
            else:
                item = add_note(session, seen.item_id, note=text, **kwargs)
        except ItemConflict as exc:
            conflicts.append(exc)
        except NotFoundError:
            missing.append(seen.item_id)
        except ActionRejected as exc:  # checked per item, before anything was written
            skipped.append(str(exc))
        else:
            done.append(item)
    return BulkResult(tuple(done), tuple(conflicts), tuple(missing), tuple(skipped))
