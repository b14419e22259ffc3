"""Single sign-on through OpenID Connect, with Streamlit's ``st.login``.

Streamlit reads its OIDC settings from a ``secrets.toml`` ``[auth]`` table. repwatch
generates that table from ``repwatch.toml`` ``[auth.oidc]``, the client secret in the
environment variable named by ``client_secret_env`` and a cookie secret
(``REPWATCH_COOKIE_SECRET``, else one generated once into a file beside the config), and
``dashboard.launch`` hands the file to ``streamlit run --secrets.files``.

After ``st.login`` the dashboard passes the identity claims to ``sign_in_with_oidc``,
which finds the user by ``<issuer>|<sub>`` and decides the role: the ``role_claim``
through ``role_map``, else the role stored for the user (an admin may change it), else
``default_role``, else none yet (an admin has to give one).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repwatch.auth import ROLES, SignedInUser, SignInRefused, normalise_username, role_rank
from repwatch.config import Config, Oidc, Role
from repwatch.errors import ConfigError
from repwatch.store import session_scope
from repwatch.store import users as store
from repwatch.store.schema import utcnow

log = logging.getLogger(__name__)

COOKIE_SECRET_ENV = "REPWATCH_COOKIE_SECRET"
COOKIE_SECRET_FILENAME = ".repwatch-cookie-secret"
SECRETS_FILENAME = ".repwatch-streamlit-secrets.toml"
OIDC_DETAIL = "signed in with single sign-on"


class NoRoleYet(SignInRefused):
    """Signed in through the identity provider, but repwatch has no role for the user."""


def cookie_secret(config: Config) -> str:
    """``REPWATCH_COOKIE_SECRET``, else the secret in a 0600 file beside the config.

    The file is created on first use; keeping it keeps people signed in across restarts.
    """
    from_env = os.environ.get(COOKIE_SECRET_ENV, "").strip()
    if from_env:
        return from_env
    path = config.directory / COOKIE_SECRET_FILENAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
        if not secret:
            raise ConfigError(
                f"{path} is empty. Delete it to have repwatch generate a new cookie secret, "
                f"or set {COOKIE_SECRET_ENV}."
            ) from None
        return secret
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    log.info("generated a cookie secret in %s", path)
    return secret


def streamlit_auth_secrets(config: Config) -> dict[str, Any]:
    """The ``[auth]`` secrets ``st.login()`` needs, from ``[auth.oidc]`` and the environment.

    Raises ``ConfigError`` when single sign-on is off or its client secret is not set.
    """
    oidc = config.settings.auth.oidc
    if not oidc.enabled:
        raise ConfigError(
            f"{config.path.name} [auth.oidc]: single sign-on is off; set enabled = true to use it"
        )
    client_secret = os.environ.get(oidc.client_secret_env, "")
    if not client_secret:
        raise ConfigError(
            f"Single sign-on is enabled in {config.path}, but the environment variable "
            f"{oidc.client_secret_env} with the OIDC client secret is not set. Set it, or "
            "name another variable with client_secret_env in [auth.oidc]."
        )
    return {
        "auth": {
            "redirect_uri": oidc.redirect_uri,
            "cookie_secret": cookie_secret(config),
            "client_id": oidc.client_id,
            "client_secret": client_secret,
            "server_metadata_url": oidc.server_metadata_url,
        }
    }


def _toml(secrets_dict: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["# Written by repwatch from repwatch.toml [auth.oidc]; regenerated at every start."]
    for table, values in secrets_dict.items():
        lines.append(f"[{table}]")
        # A JSON string without ASCII escaping is a valid TOML basic string.
        lines += [f"{key} = {json.dumps(str(v), ensure_ascii=False)}" for key, v in values.items()]
    return "\n".join(lines) + "\n"


def write_streamlit_secrets(config: Config) -> Path | None:
    """Write the Streamlit secrets file (mode 0600) beside the config; None when SSO is off."""
    if not config.settings.auth.oidc.enabled:
        return None
    wanted = streamlit_auth_secrets(config)
    text = _toml(wanted)
    if tomllib.loads(text) != {k: {n: str(v) for n, v in t.items()} for k, t in wanted.items()}:
        raise ConfigError(
            "A single sign-on setting contains characters that cannot be written to "
            "Streamlit's secrets file; check [auth.oidc] and the client secret."
        )
    path = config.directory / SECRETS_FILENAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)  # an older file may have had wider permissions
    return path


def oidc_subject(claims: Mapping[str, Any], oidc: Oidc) -> str:
    """``<issuer>|<sub>``: who the user is, for good, across renames of their email."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise SignInRefused(
            "The identity provider sent no user id ('sub' claim). Ask your administrator "
            "to check the single sign-on settings."
        )
    issuer = claims.get("iss") or oidc.server_metadata_url or ""
    return f"{issuer}|{sub}"


def role_from_claims(claims: Mapping[str, Any], oidc: Oidc) -> Role | None:
    """The role the ``role_claim`` gives, mapped through ``role_map``; the highest if several.

    With an empty ``role_map`` the claim's values are taken as role names.
    """
    if not oidc.role_claim:
        return None
    value = claims.get(oidc.role_claim)
    values = value if isinstance(value, list) else [value]
    mapping: Mapping[str, Role] = oidc.role_map or {role: role for role in ROLES}
    roles: list[Role] = [mapping[v] for v in values if isinstance(v, str) and v in mapping]
    if not roles:
        return None
    highest: Role = max(roles, key=role_rank)
    return highest


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _free_username(s: Session, claims: Mapping[str, Any], subject: str) -> str:
    """The user's email or preferred username, unless a different user already has it."""
    wanted = _claim(claims, "email") or _claim(claims, "preferred_username")
    if wanted:
        name = normalise_username(wanted)[:255]
        if store.get_user(s, name) is None:
            return name
    return subject[:255]


def sign_in_with_oidc(engine: Engine, claims: Mapping[str, Any], oidc: Oidc) -> SignedInUser:
    """Store or refresh the single sign-on user of ``claims``; the signed-in user.

    Raises ``NoRoleYet`` when neither the claims, an admin nor ``default_role`` give a role,
    and ``SignInRefused`` for a disabled user. Every attempt is recorded.
    """
    subject = oidc_subject(claims, oidc)
    claimed = role_from_claims(claims, oidc)
    display_name = _claim(claims, "name")
    now = utcnow()
    with session_scope(engine) as s:
        account = store.user_by_subject(s, subject)
        if account is None:
            account = store.insert_user(
                s,
                username=_free_username(s, claims, subject),
                role=claimed or oidc.default_role,
                display_name=display_name,
                password_hash=None,
                oidc_subject=subject,
                now=now,
            )
            log.info("added single sign-on user %r", account.username)
        else:
            role = claimed or account.role or oidc.default_role
            if role != account.role:
                store.set_role(s, account.username, role)
            if display_name and display_name != account.display_name:
                store.set_display_name(s, account.username, display_name)
            account = store.get_user(s, account.username) or account
        name = account.username
        refusal: SignInRefused | None = None
        if account.disabled:
            refusal = SignInRefused(f"The account {name!r} is disabled. Ask an admin to enable it.")
        elif account.role is None:
            refusal = NoRoleYet(
                f"You are signed in as {name!r}, but you have no role in repwatch yet. "
                "Ask an admin to give you one on the Users page."
            )
        detail = OIDC_DETAIL if refusal is None else f"single sign-on: {refusal}"
        store.record_sign_in_attempt(s, name, success=refusal is None, detail=detail, at=now)
    if refusal is not None:
        log.warning("single sign-on of %r refused: %s", name, refusal)
        raise refusal
    assert account.role is not None
    log.info("single sign-on of %r succeeded (role %s)", name, account.role)
    return SignedInUser(username=name, display_name=account.display_name, role=account.role)
