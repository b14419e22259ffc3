"""Dashboard users and sign-in attempts: every query on ``users`` and ``sign_in_attempts``.

Functions take a ``Session`` inside a transaction (see ``session_scope``). Rules (who may
do what, password hashing, lockout) live in ``repwatch.auth``; this module only stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from repwatch.config import Role
from repwatch.store.schema import SignInAttemptRow, UserRow

# The stored role of a single sign-on user who signed in before anybody gave them a role.
NO_ROLE = ""
# Attempts refused because of a lockout are logged but do not extend the lockout.
LOCKED_OUT_DETAIL = "locked out"


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A dashboard user as stored, without the password hash."""

    username: str
    display_name: str | None
    role: Role | None  # None: a single sign-on user still waiting for a role
    disabled: bool
    has_password: bool
    oidc_subject: str | None  # "<issuer>|<sub>" for single sign-on users
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """One sign-in attempt, successful or not, and why."""

    username: str
    success: bool
    at: datetime
    detail: str | None


def _account(row: UserRow) -> UserAccount:
    return UserAccount(
        username=row.username,
        display_name=row.display_name,
        role=cast(Role, row.role) if row.role != NO_ROLE else None,
        disabled=row.disabled,
        has_password=row.password_hash is not None,
        oidc_subject=row.oidc_subject,
        created_at=row.created_at,
    )


def get_user(session: Session, username: str) -> UserAccount | None:
    """The user called ``username``, or None."""
    row = session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
    return None if row is None else _account(row)


def user_by_subject(session: Session, oidc_subject: str) -> UserAccount | None:
    """The single sign-on user with this ``<issuer>|<sub>``, or None."""
    row = session.scalars(select(UserRow).where(UserRow.oidc_subject == oidc_subject)).one_or_none()
    return None if row is None else _account(row)


def password_hash(session: Session, username: str) -> str | None:
    """The stored password hash of ``username``; None for unknown or password-less users."""
    return session.scalars(
        select(UserRow.password_hash).where(UserRow.username == username)
    ).one_or_none()


def list_users(session: Session) -> list[UserAccount]:
    """Every user, by username."""
    return [_account(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]


def count_users(session: Session) -> int:
    """How many users exist, disabled ones included."""
    return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)


def count_active_admins(session: Session) -> int:
    """How many admins can sign in (not disabled)."""
    stmt = (
        select(func.count())
        .select_from(UserRow)
        .where(UserRow.role == "admin", UserRow.disabled.is_(False))
    )
    return int(session.scalar(stmt) or 0)


def insert_user(
    session: Session,
    *,
    username: str,
    role: Role | None,
    display_name: str | None,
    password_hash: str | None,
    oidc_subject: str | None,
    now: datetime,
) -> UserAccount:
    """Add a user; the caller checks first that the username is free."""
    row = UserRow(
        username=username,
        role=role or NO_ROLE,
        display_name=display_name,
        password_hash=password_hash,
        oidc_subject=oidc_subject,
        disabled=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _account(row)


def set_password_hash(session: Session, username: str, password_hash: str) -> bool:
    """Store a new password hash; False when there is no such user."""
    return _update(session, username, password_hash=password_hash)


def set_role(session: Session, username: str, role: Role | None) -> bool:
    """Change a user's role (None: no role); False when there is no such user."""
    return _update(session, username, role=role or NO_ROLE)


def set_disabled(session: Session, username: str, disabled: bool) -> bool:
    """Disable or enable a user; False when there is no such user."""
    return _update(session, username, disabled=disabled)


def set_display_name(session: Session, username: str, display_name: str | None) -> bool:
    """Change the name shown for a user; False when there is no such user."""
    return _update(session, username, display_name=display_name)


def _update(session: Session, username: str, **values: object) -> bool:
    result = session.execute(update(UserRow).where(UserRow.username == username).values(values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_user(session: Session, username: str) -> bool:
    """Remove a user; False when there is no such user. Their actions stay in the logs."""
    result = session.execute(delete(UserRow).where(UserRow.username == username))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_sign_in_attempt(
    session: Session, username: str, *, success: bool, detail: str, at: datetime
) -> None:
    """Log one sign-in attempt (never the password)."""
    session.add(SignInAttemptRow(username=username, success=success, detail=detail, at=at))


def failures_since(session: Session, username: str, since: datetime) -> list[datetime]:
    """When ``username`` failed to sign in after ``since`` and after their last success.

    Refusals because of a lockout are not counted, so waiting out a lockout always works.
    Oldest first.
    """
    last_success = session.scalar(
        select(func.max(SignInAttemptRow.at)).where(
            SignInAttemptRow.username == username, SignInAttemptRow.success.is_(True)
        )
    )
    start = since if last_success is None else max(since, last_success)
    stmt = (
        select(SignInAttemptRow.at)
        .where(
            SignInAttemptRow.username == username,
            SignInAttemptRow.success.is_(False),
            SignInAttemptRow.at > start,
            (SignInAttemptRow.detail.is_(None)) | (SignInAttemptRow.detail != LOCKED_OUT_DETAIL),
        )
        .order_by(SignInAttemptRow.at)
    )
    return list(session.scalars(stmt))


def sign_in_attempts(
    session: Session, username: str | None = None, *, limit: int = 100
) -> list[SignInAttempt]:
    """The newest sign-in attempts (of ``username`` when given), newest first."""
    stmt = select(SignInAttemptRow).order_by(SignInAttemptRow.at.desc(), SignInAttemptRow.id.desc())
    if username is not None:
        stmt = stmt.where(SignInAttemptRow.username == username)
    return [
        SignInAttempt(username=r.username, success=r.success, at=r.at, detail=r.detail)
        for r in session.scalars(stmt.limit(limit))
    ]
