"""Who is signed in to this browser session, for pages to ask.

``dashboard.auth`` signs people in and keeps the ``SignedInUser`` in
``st.session_state[SESSION_KEY]``; pages call ``current_user()`` or ``require_role()``.
"""

from __future__ import annotations

from typing import Literal, NoReturn

import streamlit as st

from dashboard.render import escape_markdown
from repwatch.auth import SESSION_KEY, SignedInUser, role_rank
from repwatch.config import Role

# How this session signed in, set only by dashboard.auth. A SignedInUser put into the
# session state by other code (tests) has none, and is not checked against the database.
VIA_KEY = "repwatch_user_via"
SignInMethod = Literal["password", "oidc"]


def current_user() -> SignedInUser | None:
    """The signed-in user of this session, or None."""
    user = st.session_state.get(SESSION_KEY)
    return user if isinstance(user, SignedInUser) else None


def signed_in_via() -> SignInMethod | None:
    """``"password"`` or ``"oidc"`` when ``dashboard.auth`` signed this session in."""
    via = st.session_state.get(VIA_KEY)
    return via if via in ("password", "oidc") else None


def require_role(role: Role = "viewer") -> SignedInUser:
    """The signed-in user if their role is ``role`` or higher; else say so and stop the page."""
    user = current_user()
    if user is None:
        _stop("Sign in to see this page.")
    if role_rank(user.role) < role_rank(role):
        _stop(
            f"This page is for {role}s. You are signed in as "
            f"{escape_markdown(user.label)} ({user.role}); ask an admin if you need more."
        )
    return user


def _stop(message: str) -> NoReturn:
    st.warning(message, icon=":material/lock:")
    st.stop()


def remember(user: SignedInUser, via: SignInMethod) -> None:
    """Sign this session in as ``user``."""
    st.session_state[SESSION_KEY] = user
    st.session_state[VIA_KEY] = via


def forget() -> None:
    """Sign this session out (the single sign-on cookie is ``st.logout``'s business)."""
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(VIA_KEY, None)
