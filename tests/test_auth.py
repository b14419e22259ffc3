"""Passwords, sign-in, lockout and user management, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from repwatch import auth
from repwatch.auth import (
    WRONG_CREDENTIALS,
    AccountLocked,
    InvalidCredentials,
    LastAdmin,
    SignedInUser,
    SignInRefused,
    UnknownUser,
    UserExists,
    locked_until,
)
from repwatch.config import Auth
from repwatch.store import session_scope
from repwatch.store import users as store
from repwatch.store.schema import UserRow

PASSWORD = "correct horse battery"
SETTINGS = Auth(max_failed_sign_ins=3, lockout_minutes=15)
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _attempts(engine, username):
    with session_scope(engine) as s:
        return list(reversed(store.sign_in_attempts(s, username)))


def _stored_hash(engine, username):
    with session_scope(engine) as s:
        return store.password_hash(s, username)


def test_sign_in_with_the_right_password(engine):
    auth.add_user(engine, "Ana", PASSWORD, role="agent", display_name="Ana Lima")
    user = auth.sign_in(engine, " ana ", PASSWORD, SETTINGS)
    assert user == SignedInUser("ana", "Ana Lima", "agent")
    assert _stored_hash(engine, "ana").startswith("$argon2id$")
    [attempt] = _attempts(engine, "ana")
    assert (attempt.success, attempt.detail) == (True, "signed in with password")


def test_wrong_password_and_unknown_user_get_the_same_message(engine, caplog):
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    caplog.set_level(logging.INFO, logger="repwatch.auth")
    with pytest.raises(SignInRefused) as wrong:
        auth.sign_in(engine, "ana", "not the password", SETTINGS)
    with pytest.raises(SignInRefused) as unknown:
        auth.sign_in(engine, "nobody", "not the password", SETTINGS)
    assert str(wrong.value) == str(unknown.value) == WRONG_CREDENTIALS
    assert [(a.success, a.detail) for a in _attempts(engine, "ana")] == [(False, "wrong password")]
    assert [(a.success, a.detail) for a in _attempts(engine, "nobody")] == [(False, "unknown user")]
    assert "sign-in of 'ana' failed: wrong password" in caplog.text
    assert "not the password" not in caplog.text  # passwords are never logged


def test_unknown_users_cost_a_password_verification_too(sqlite_engine):
    """Timing must not tell which usernames exist: unknown ones verify a dummy hash."""
    auth.add_user(sqlite_engine, "ana", PASSWORD, role="agent")

    def seconds(username: str) -> float:
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            with pytest.raises(SignInRefused):
                auth.sign_in(sqlite_engine, username, "not the password", SETTINGS)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    seconds("warm-up")
    wrong, unknown = seconds("ana"), seconds("nobody")
    assert unknown > 0.5 * wrong, (unknown, wrong)


def test_lockout_after_too_many_failures_then_expiry(engine):
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    for minute in range(3):
        with pytest.raises(SignInRefused) as failed:
            auth.sign_in(engine, "ana", "guess", SETTINGS, now=T0 + timedelta(minutes=minute))
        assert not isinstance(failed.value, AccountLocked)

    # The right password does not help while the account is locked.
    with pytest.raises(AccountLocked) as locked:
        auth.sign_in(engine, "ana", PASSWORD, SETTINGS, now=T0 + timedelta(minutes=5))
    assert str(locked.value) == (
        "Too many failed sign-ins for 'ana'. Sign-in is locked until 09:17 UTC: "
        "try again in 12 min."
    )
    assert locked.value.retry_at == T0 + timedelta(minutes=17)
    assert _attempts(engine, "ana")[-1].detail == store.LOCKED_OUT_DETAIL

    # Refusals while locked do not extend it: at 09:17 the right password works.
    with pytest.raises(AccountLocked):
        auth.sign_in(engine, "ana", PASSWORD, SETTINGS, now=T0 + timedelta(minutes=16))
    user = auth.sign_in(engine, "ana", PASSWORD, SETTINGS, now=T0 + timedelta(minutes=17))
    assert user.username == "ana"
    assert [a.success for a in _attempts(engine, "ana")] == [False] * 5 + [True]


def test_one_failure_fewer_does_not_lock_and_success_resets(sqlite_engine):
    auth.add_user(sqlite_engine, "ana", PASSWORD, role="agent")
    for minute in range(2):
        with pytest.raises(SignInRefused):
            auth.sign_in(
                sqlite_engine, "ana", "guess", SETTINGS, now=T0 + timedelta(minutes=minute)
            )
    auth.sign_in(sqlite_engine, "ana", PASSWORD, SETTINGS, now=T0 + timedelta(minutes=2))
    for minute in range(3, 5):  # two more failures: the earlier two no longer count
        with pytest.raises(SignInRefused):
            auth.sign_in(
                sqlite_engine, "ana", "guess", SETTINGS, now=T0 + timedelta(minutes=minute)
            )
    auth.sign_in(sqlite_engine, "ana", PASSWORD, SETTINGS, now=T0 + timedelta(minutes=5))


def test_unknown_usernames_are_locked_out_too(sqlite_engine):
    """Otherwise the lockout itself would tell which usernames exist."""
    for minute in range(3):
        with pytest.raises(SignInRefused):
            auth.sign_in(
                sqlite_engine, "ghost", "x" * 9, SETTINGS, now=T0 + timedelta(minutes=minute)
            )
    with pytest.raises(AccountLocked):
        auth.sign_in(sqlite_engine, "ghost", "x" * 9, SETTINGS, now=T0 + timedelta(minutes=3))


def test_locked_until_needs_the_failures_within_the_window():
    window = timedelta(minutes=15)
    minutes = [T0 + timedelta(minutes=m) for m in (0, 10, 20)]
    assert locked_until(minutes, 3, window) is None  # 0 → 20 is longer than the window
    close = [T0 + timedelta(minutes=m) for m in (0, 10, 20, 21)]
    assert locked_until(close, 3, window) == T0 + timedelta(minutes=36)  # 10, 20, 21
    assert locked_until(close[:2], 3, window) is None


def test_rehash_on_sign_in_when_the_parameters_changed(engine):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with session_scope(engine) as s:
        store.insert_user(
            s,
            username="old",
            role="viewer",
            display_name=None,
            password_hash=weak,
            oidc_subject=None,
            now=T0,
        )
    auth.sign_in(engine, "old", PASSWORD, SETTINGS)
    rehashed = _stored_hash(engine, "old")
    assert rehashed != weak
    assert not PasswordHasher().check_needs_rehash(rehashed)
    assert auth.sign_in(engine, "old", PASSWORD, SETTINGS).role == "viewer"


def test_disabled_user_with_the_right_password_is_told(engine):
    auth.add_user(engine, "root", PASSWORD, role="admin")
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    auth.set_disabled(engine, "ana", True, actor="root")
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in(engine, "ana", PASSWORD, SETTINGS)
    assert str(refused.value) == "The account 'ana' is disabled. Ask an admin to enable it."
    with pytest.raises(SignInRefused) as wrong:  # a wrong password says nothing about it
        auth.sign_in(engine, "ana", "not the password", SETTINGS)
    assert str(wrong.value) == WRONG_CREDENTIALS
    auth.set_disabled(engine, "ana", False, actor="root")
    assert auth.sign_in(engine, "ana", PASSWORD, SETTINGS).username == "ana"


def test_add_user_rules(engine):
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    with pytest.raises(UserExists) as exists:
        auth.add_user(engine, "ANA", PASSWORD, role="viewer")
    assert str(exists.value) == (
        "User 'ana' already exists. Use 'repwatch users passwd ana' to change the password."
    )
    with pytest.raises(InvalidCredentials, match="too short: use at least 8 characters"):
        auth.add_user(engine, "bob", "short", role="viewer")
    with pytest.raises(InvalidCredentials, match="cannot be a username"):
        auth.add_user(engine, "bob smith", PASSWORD, role="viewer")
    assert [a.username for a in auth.list_accounts(engine)] == ["ana"]


def test_the_last_admin_stays(engine):
    auth.add_user(engine, "root", PASSWORD, role="admin")
    message = (
        "'root' is the only admin who can sign in. Make another user an admin first: "
        "repwatch users role NAME admin"
    )
    for change in (
        lambda: auth.set_role(engine, "root", "agent", actor="x"),
        lambda: auth.set_disabled(engine, "root", True, actor="x"),
        lambda: auth.remove_user(engine, "root", actor="x"),
    ):
        with pytest.raises(LastAdmin) as refused:
            change()
        assert str(refused.value) == message
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    auth.set_role(engine, "ana", "admin", actor="root")
    assert auth.set_role(engine, "root", "viewer", actor="ana").role == "viewer"
    with pytest.raises(UnknownUser, match="No user 'bob'"):
        auth.remove_user(engine, "bob", actor="ana")


def test_set_password_replaces_the_old_one(engine):
    auth.add_user(engine, "ana", PASSWORD, role="agent")
    auth.set_password(engine, "ana", "a new password")
    with pytest.raises(SignInRefused):
        auth.sign_in(engine, "ana", PASSWORD, SETTINGS)
    assert auth.sign_in(engine, "ana", "a new password", SETTINGS).username == "ana"


def test_ensure_demo_user_creates_an_admin_with_a_fresh_password(engine):
    assert not auth.has_users(engine)
    username, password = auth.ensure_demo_user(engine)
    assert auth.sign_in(engine, username, password, SETTINGS) == SignedInUser(
        "demo", "Demo admin", "admin"
    )
    again, new_password = auth.ensure_demo_user(engine)
    assert again == "demo"
    assert new_password != password
    with pytest.raises(SignInRefused):
        auth.sign_in(engine, "demo", password, SETTINGS)
    assert auth.sign_in(engine, "demo", new_password, SETTINGS).is_admin
    with session_scope(engine) as s:
        assert s.scalar(select(UserRow.password_hash).where(UserRow.username == "demo")) != (
            new_password
        )
