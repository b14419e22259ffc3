"""Dashboard users and roles: passwords, sign-in with lockout, user management.

The dashboard keeps the signed-in user in ``st.session_state[SESSION_KEY]`` as a ``SignedInUser``.
Passwords are hashed with argon2id (``argon2-cffi``) and rehashed on sign-in when the
parameters change. Every sign-in attempt is stored in ``sign_in_attempts`` and logged with
the username only; after ``[auth] max_failed_sign_ins`` failures within ``lockout_minutes``
a username is locked for ``lockout_minutes``. Single sign-on lives in ``repwatch.oidc``.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repwatch.config import Auth, Role
from repwatch.errors import NotFoundError, RepwatchError
from repwatch.store import session_scope
from repwatch.store import users as store
from repwatch.store.schema import utcnow
from repwatch.store.users import SignInAttempt, UserAccount

log = logging.getLogger(__name__)

SESSION_KEY = "repwatch_user"
ROLES: tuple[Role, ...] = ("viewer", "agent", "admin")
MIN_PASSWORD_LENGTH = 8
DEMO_USERNAME = "demo"
WRONG_CREDENTIALS = "Wrong username or password."
_USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,255}$")
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who is using the dashboard, and what they may do."""

    username: str
    display_name: str | None
    role: Role

    @property
    def can_act(self) -> bool:
        """Agents and admins act on triage items; viewers only look."""
        return self.role in ("agent", "admin")

    @property
    def is_admin(self) -> bool:
        """Admins manage users and sources."""
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.username


class SignInRefused(RepwatchError):
    """A sign-in did not succeed; the message is safe to show to the person signing in."""


class AccountLocked(SignInRefused):
    """Too many failed sign-ins for a username; ``retry_at`` says when it may try again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class UserExists(RepwatchError):
    """A user with that username already exists."""


class UnknownUser(NotFoundError):
    """No user has that username."""


class LastAdmin(RepwatchError):
    """The change would leave nobody who can manage users."""


class InvalidCredentials(RepwatchError):
    """A username or password that repwatch does not accept (too short, spaces...)."""


def role_rank(role: Role) -> int:
    """0 for viewer, 1 for agent, 2 for admin: compare roles with it."""
    return ROLES.index(role)


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case, trimmed."""
    return username.strip().lower()


def valid_username(username: str) -> str:
    """``username`` normalised, or ``InvalidCredentials`` saying what a username may be."""
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise InvalidCredentials(
            f"{username!r} cannot be a username: use 1 to 255 characters without spaces, "
            "e.g. ana or ana@example.com."
        )
    return name


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; ``InvalidCredentials`` when it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidCredentials(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters."
        )
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # Unknown users cost one verification too, so timing does not tell who exists.
    return _HASHER.hash(secrets.token_urlsafe(16))


def locked_until(
    failures: Sequence[datetime], max_failures: int, window: timedelta
) -> datetime | None:
    """The end of the lockout that ``failures`` (oldest first) cause, or None.

    ``max_failures`` failures less than ``window`` apart lock the username for ``window``
    from the last of them. Attempts refused during a lockout are not failures, so after
    it ends the earlier failures cannot combine with new ones.
    """
    until: datetime | None = None
    for last in range(max_failures - 1, len(failures)):
        first = last - max_failures + 1
        if failures[last] - failures[first] < window:
            end = failures[last] + window
            until = end if until is None or end > until else until
    return until


def _record(engine: Engine, username: str, success: bool, detail: str, now: datetime) -> None:
    with session_scope(engine) as s:
        store.record_sign_in_attempt(s, username, success=success, detail=detail, at=now)
    if success:
        log.info("sign-in of %r succeeded", username)
    else:
        log.warning("sign-in of %r failed: %s", username, detail)


def _lockout_message(username: str, retry_at: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((retry_at - now).total_seconds()) // 60))  # rounded up
    return (
        f"Too many failed sign-ins for {username!r}. Sign-in is locked until "
        f"{retry_at:%H:%M} UTC: try again in {minutes} min."
    )


def sign_in(
    engine: Engine, username: str, password: str, settings: Auth, *, now: datetime | None = None
) -> SignedInUser:
    """Check a username and password; the user on success.

    Raises ``AccountLocked`` while the username is locked, else ``SignInRefused`` with the
    same message for an unknown user and a wrong password. Every attempt is recorded.
    """
    now = now or utcnow()
    name = normalise_username(username)
    if not name or not password:
        raise SignInRefused("Enter your username and password.")
    name = name[:255]
    window = timedelta(minutes=settings.lockout_minutes)
    with session_scope(engine) as s:
        failures = store.failures_since(s, name, now - 2 * window)
        stored = store.password_hash(s, name)
        account = store.get_user(s, name)
    retry_at = locked_until(failures, settings.max_failed_sign_ins, window)
    if retry_at is not None and retry_at > now:
        _record(engine, name, False, store.LOCKED_OUT_DETAIL, now)
        raise AccountLocked(_lockout_message(name, retry_at, now), retry_at)

    matches = verify_password(stored or _dummy_hash(), password)
    if account is None or stored is None or not matches:
        reason = (
            "unknown user"
            if account is None
            else "no password (single sign-on user)"
            if stored is None
            else "wrong password"
        )
        _record(engine, name, False, reason, now)
        raise SignInRefused(WRONG_CREDENTIALS)
    if account.disabled:
        _record(engine, name, False, "account disabled", now)
        raise SignInRefused(f"The account {name!r} is disabled. Ask an admin to enable it.")
    if account.role is None:
        _record(engine, name, False, "no role", now)
        raise SignInRefused(f"The account {name!r} has no role yet. Ask an admin to give it one.")
    if _HASHER.check_needs_rehash(stored):
        with session_scope(engine) as s:
            store.set_password_hash(s, name, _HASHER.hash(password))
        log.info("rehashed the password of %r with the current argon2 parameters", name)
    _record(engine, name, True, "signed in with password", now)
    return SignedInUser(username=name, display_name=account.display_name, role=account.role)


def signed_in_user(account: UserAccount) -> SignedInUser | None:
    """The dashboard user for a stored account, or None when it may not sign in."""
    if account.disabled or account.role is None:
        return None
    return SignedInUser(account.username, account.display_name, account.role)


def get_account(engine: Engine, username: str) -> UserAccount | None:
    """The stored account of ``username``, or None."""
    with session_scope(engine) as s:
        return store.get_user(s, normalise_username(username))


def list_accounts(engine: Engine) -> list[UserAccount]:
    """Every user, by username."""
    with session_scope(engine) as s:
        return store.list_users(s)


def recent_sign_in_attempts(engine: Engine, limit: int = 50) -> list[SignInAttempt]:
    """The newest sign-in attempts of everybody, newest first."""
    with session_scope(engine) as s:
        return store.sign_in_attempts(s, limit=limit)


def has_users(engine: Engine) -> bool:
    """Whether anybody can be signed in yet."""
    with session_scope(engine) as s:
        return store.count_users(s) > 0


def add_user(
    engine: Engine,
    username: str,
    password: str,
    *,
    role: Role,
    display_name: str | None = None,
) -> UserAccount:
    """Create a user who signs in with ``password``; ``UserExists`` when the name is taken."""
    name = valid_username(username)
    password_hash = hash_password(password)
    exists = UserExists(
        f"User {name!r} already exists. Use 'repwatch users passwd {name}' to change the password."
    )
    try:
        with session_scope(engine) as s:
            if store.get_user(s, name) is not None:
                raise exists
            account = store.insert_user(
                s,
                username=name,
                role=role,
                display_name=display_name or None,
                password_hash=password_hash,
                oidc_subject=None,
                now=utcnow(),
            )
    except IntegrityError as exc:  # added by somebody else at the same moment
        raise exists from exc
    log.info("added user %r with role %s", name, role)
    return account


def _existing(s: Session, name: str) -> UserAccount:
    account = store.get_user(s, name)
    if account is None:
        raise UnknownUser(f"No user {name!r}. See the users with: repwatch users list")
    return account


def _keep_an_admin(s: Session, account: UserAccount) -> None:
    if account.role == "admin" and not account.disabled and store.count_active_admins(s) <= 1:
        raise LastAdmin(
            f"{account.username!r} is the only admin who can sign in. Make another user "
            "an admin first: repwatch users role NAME admin"
        )


def set_password(engine: Engine, username: str, password: str) -> None:
    """Give ``username`` a new password."""
    name = normalise_username(username)
    password_hash = hash_password(password)
    with session_scope(engine) as s:
        _existing(s, name)
        store.set_password_hash(s, name, password_hash)
    log.info("changed the password of %r", name)


def set_role(engine: Engine, username: str, role: Role, *, actor: str) -> UserAccount:
    """Change the role of ``username``; ``LastAdmin`` when no admin would remain."""
    name = normalise_username(username)
    with session_scope(engine) as s:
        account = _existing(s, name)
        if role != "admin":
            _keep_an_admin(s, account)
        store.set_role(s, name, role)
        updated = _existing(s, name)
    log.info("%s changed the role of %r from %s to %s", actor, name, account.role, role)
    return updated


def set_disabled(engine: Engine, username: str, disabled: bool, *, actor: str) -> UserAccount:
    """Disable (or enable again) ``username``; disabled users cannot sign in."""
    name = normalise_username(username)
    with session_scope(engine) as s:
        account = _existing(s, name)
        if disabled:
            _keep_an_admin(s, account)
        store.set_disabled(s, name, disabled)
        updated = _existing(s, name)
    log.info("%s %s user %r", actor, "disabled" if disabled else "enabled", name)
    return updated


def remove_user(engine: Engine, username: str, *, actor: str) -> None:
    """Delete ``username``; what they did stays in the item logs under their name."""
    name = normalise_username(username)
    with session_scope(engine) as s:
        _keep_an_admin(s, _existing(s, name))
        store.delete_user(s, name)
    log.info("%s removed user %r", actor, name)


def ensure_demo_user(engine: Engine) -> tuple[str, str]:
    """Make the demo admin ``demo`` with a fresh random password; returns (username, password).

    For ``repwatch demo`` only: re-running it gives the demo user a new password.
    """
    password = secrets.token_urlsafe(12)
    password_hash = _HASHER.hash(password)
    with session_scope(engine) as s:
        if store.get_user(s, DEMO_USERNAME) is None:
            store.insert_user(
                s,
                username=DEMO_USERNAME,
                role="admin",
                display_name="Demo admin",
                password_hash=password_hash,
                oidc_subject=None,
                now=utcnow(),
            )
        else:
            store.set_password_hash(s, DEMO_USERNAME, password_hash)
            store.set_role(s, DEMO_USERNAME, "admin")
            store.set_disabled(s, DEMO_USERNAME, False)
    log.info("the demo admin %r has a new password", DEMO_USERNAME)
    return DEMO_USERNAME, password
