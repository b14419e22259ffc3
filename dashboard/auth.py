"""The sign-in screen, single sign-on, and the account box in the sidebar.

``gate()`` runs before the navigation: it returns the signed-in user, or shows the
sign-in screen (the password form, the single sign-on button, or how to create the
first admin) and returns None.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import session
from dashboard.data import DashboardContext
from dashboard.render import escape_markdown
from repwatch.auth import (
    AccountLocked,
    SignedInUser,
    SignInRefused,
    get_account,
    has_users,
    sign_in,
    signed_in_user,
)
from repwatch.oidc import sign_in_with_oidc

FLASH_KEY = "sign-in-flash"
FORM_KEY = "sign-in"


def gate(context: DashboardContext) -> SignedInUser | None:
    """The signed-in user, else None after showing the sign-in screen."""
    user = session.current_user()
    if user is not None:
        user = _still_allowed(context, user)
        if user is not None:
            return user
    oidc = context.config.settings.auth.oidc
    claims = _identity_claims() if oidc.enabled else {}
    if claims:
        try:
            user = sign_in_with_oidc(context.engine, claims, oidc)
        except SignInRefused as exc:
            _refused_sso(str(exc))
            return None
        session.remember(user, "oidc")
        return user
    sign_in_screen(context)
    return None


def _still_allowed(context: DashboardContext, user: SignedInUser) -> SignedInUser | None:
    """``user`` as stored now: a changed role applies at once, a disabled user is signed out."""
    account = get_account(context.engine, user.username)
    if account is None:
        if session.signed_in_via() is None:
            return user  # put into the session by code, not by signing in (tests)
        session.forget()
        st.session_state[FLASH_KEY] = "Your account was removed. Ask an admin."
        return None
    fresh = signed_in_user(account)
    if fresh is None:
        session.forget()
        st.session_state[FLASH_KEY] = "Your account was disabled. Ask an admin."
        return None
    if fresh != user:
        session.remember(fresh, session.signed_in_via() or "password")
    return fresh


def _identity_claims() -> dict[str, Any]:
    """The claims of the single sign-on identity in ``st.user``; empty when signed out."""
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") is True else {}


def sign_in_screen(context: DashboardContext) -> None:
    """The password form and the single sign-on button; the first-admin hint without users."""
    st.title("Sign in to repwatch")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.info(escape_markdown(flash), icon=":material/info:")
    oidc = context.config.settings.auth.oidc
    if not has_users(context.engine):
        st.info(
            "Nobody can sign in yet: there are no users. Create the first admin on the "
            "server where repwatch runs, then reload this page:",
            icon=":material/person_add:",
        )
        st.code(
            f"repwatch users add NAME --role admin --config {context.config.path.resolve()}",
            language="bash",
        )
        if not oidc.enabled:
            return
    else:
        _password_form(context)
    if oidc.enabled:
        _sso_button(oidc.provider_name)


def _sso_button(provider_name: str) -> None:
    if not _sso_configured():
        st.warning(
            "Single sign-on is enabled in the configuration, but this dashboard was started "
            "without its settings. Start it with `repwatch dashboard`, which passes them to "
            "Streamlit.",
            icon=":material/warning:",
        )
        return
    label = f"Sign in with {provider_name}"
    if st.button(label, key="sign-in-sso", icon=":material/badge:"):
        st.login()


def _sso_configured() -> bool:
    """Whether Streamlit has the ``[auth]`` secrets ``st.login`` needs."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all (Streamlit's error subclasses it)
        return False


def _password_form(context: DashboardContext) -> None:
    with st.form(FORM_KEY, enter_to_submit=True):
        username = st.text_input("Username", key="sign-in-username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="sign-in-password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if not submitted:
        return
    try:
        user = sign_in(context.engine, username, password, context.config.settings.auth)
    except AccountLocked as exc:
        st.error(escape_markdown(str(exc)), icon=":material/lock_clock:")
    except SignInRefused as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
    else:
        session.remember(user, "password")
        st.rerun()


def _refused_sso(message: str) -> None:
    st.title("Sign in to repwatch")
    st.warning(escape_markdown(message), icon=":material/person_off:")
    if st.button("Sign out of single sign-on", key="sign-out-sso", icon=":material/logout:"):
        st.logout()


def account_box(user: SignedInUser) -> None:
    """Who is signed in, with their role, and the sign-out button (in the sidebar)."""
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(user.label)}** · {user.role}")
        if st.button("Sign out", key="sign-out", icon=":material/logout:"):
            via = session.signed_in_via()
            session.forget()
            st.session_state[FLASH_KEY] = "You signed out."
            if via == "oidc":
                st.logout()
            else:
                st.rerun()
