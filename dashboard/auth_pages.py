"""The admins' Users page: who may sign in, with which role, and recent sign-ins.

Adding users and setting passwords stays on the command line (``repwatch users``), where
the password never passes through a browser form of somebody else.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.render import escape_markdown
from dashboard.session import require_role
from repwatch.auth import (
    ROLES,
    SignedInUser,
    list_accounts,
    recent_sign_in_attempts,
    set_disabled,
    set_role,
)
from repwatch.config import Role
from repwatch.errors import RepwatchError
from repwatch.store.users import UserAccount

FLASH_KEY = "users-flash"
NO_ROLE_LABEL = "no role yet"
RECENT_ATTEMPTS = 50


def render_users() -> None:
    """The page: one row per user with role and enable/disable, then recent sign-ins."""
    admin = require_role("admin")
    context = data.load_context()
    st.title("Users")
    _show_flash()
    st.caption(
        "Add users and set passwords on the server: `repwatch users add NAME --role agent`, "
        "`repwatch users passwd NAME`. Single sign-on users appear here after their first "
        "sign-in."
    )
    for account in list_accounts(context.engine):
        _user_row(context, account, admin)
    st.subheader("Recent sign-ins")
    attempts = recent_sign_in_attempts(context.engine, RECENT_ATTEMPTS)
    st.dataframe(
        [
            {
                "When (UTC)": a.at.strftime("%Y-%m-%d %H:%M:%S"),
                "Username": a.username,
                "Result": "signed in" if a.success else "refused",
                "Detail": a.detail or "",
            }
            for a in attempts
        ],
        hide_index=True,
        key="sign-in-attempts",
    )


def _user_row(context: data.DashboardContext, account: UserAccount, admin: SignedInUser) -> None:
    name = account.username
    yourself = name == admin.username
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        who = f"**{escape_markdown(name)}**"
        if account.display_name:
            who += f" · {escape_markdown(account.display_name)}"
        kind = "single sign-on" if account.oidc_subject else "password"
        state = " · :red-badge[disabled]" if account.disabled else ""
        st.markdown(f"{who}  \n:gray[{kind}]{state}")
        st.selectbox(
            "Role",
            ROLES,
            index=ROLES.index(account.role) if account.role else None,
            placeholder=NO_ROLE_LABEL,
            key=f"user-role-{name}",
            disabled=yourself,
            help="You cannot change your own role." if yourself else None,
            on_change=_change_role,
            args=(context.database_url, name, account.role, admin.username),
            width=160,
        )
        st.button(
            "Enable" if account.disabled else "Disable",
            key=f"user-disable-{name}",
            icon=":material/person_check:" if account.disabled else ":material/person_off:",
            disabled=yourself,
            help="You cannot disable your own account." if yourself else None,
            on_click=_toggle_disabled,
            args=(context.database_url, name, not account.disabled, admin.username),
        )


def _show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is None:
        return
    kind, message = flash
    if kind == "success":
        st.success(escape_markdown(message), icon=":material/check_circle:")
    else:
        st.warning(escape_markdown(message), icon=":material/warning:")


def _change_role(database_url: str, username: str, was: Role | None, actor: str) -> None:
    key = f"user-role-{username}"
    role = st.session_state.get(key)
    if role is None or role == was:
        return
    try:
        set_role(data.engine_for(database_url), username, role, actor=actor)
    except RepwatchError as exc:
        st.session_state[key] = was  # show the role that is still stored
        st.session_state[FLASH_KEY] = ("warning", str(exc))
    else:
        st.session_state[FLASH_KEY] = ("success", f"{username} is now {role}.")


def _toggle_disabled(database_url: str, username: str, disabled: bool, actor: str) -> None:
    try:
        set_disabled(data.engine_for(database_url), username, disabled, actor=actor)
    except RepwatchError as exc:
        st.session_state[FLASH_KEY] = ("warning", str(exc))
    else:
        done = "disabled: they cannot sign in" if disabled else "enabled again"
        st.session_state[FLASH_KEY] = ("success", f"{username} is {done}.")


if __name__ == "__main__":  # run as the Users page by st.navigation (see dashboard.app)
    render_users()
