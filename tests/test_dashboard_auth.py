"""Sign-in, roles and the Users page through Streamlit's AppTest, on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.app import ADMIN_SECTION, navigation_for
from dashboard.app_pages import PAGES
from dashboard.launch import APP_PATH, CONFIG_ENV
from dashboard.render import escape_markdown
from repwatch import auth
from repwatch.auth import ROLES, SESSION_KEY, WRONG_CREDENTIALS, SignedInUser
from repwatch.config import DATABASE_URL_ENV, Config, load_config
from repwatch.store import open_database, session_scope
from repwatch.store import users as store
from tests.conftest import write_config

APP_TIMEOUT = 30
PASSWORD = "correct horse battery"
USERS_PAGE = "auth_pages.py"  # relative to dashboard/app.py
ISSUER = "https://id.example.com"


@dataclass
class Site:
    config: Config
    url: str

    def engine(self):
        return open_database(self.url)

    def add(self, username: str, role: str, display_name: str | None = None) -> None:
        engine = self.engine()
        try:
            auth.add_user(engine, username, PASSWORD, role=role, display_name=display_name)
        finally:
            engine.dispose()

    def account(self, username: str) -> store.UserAccount | None:
        engine = self.engine()
        try:
            return auth.get_account(engine, username)
        finally:
            engine.dispose()

    def attempts(self, username: str) -> list[store.SignInAttempt]:
        engine = self.engine()
        try:
            with session_scope(engine) as s:
                return list(reversed(store.sign_in_attempts(s, username)))
        finally:
            engine.dispose()


def auth_config(directory: Path, auth_toml: str) -> Config:
    """A config whose [auth] tables are ``auth_toml``."""
    config = write_config(directory)
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text[: text.index("[auth]")] + auth_toml, encoding="utf-8")
    return load_config(config.path)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """AppTest runs in this process: forget cached reads and engines between tests."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _site(tmp_path, monkeypatch, auth_toml="[auth]\nmax_failed_sign_ins = 3\n") -> Site:
    config = auth_config(tmp_path / "conf", auth_toml)
    url = f"sqlite:///{tmp_path / 'repwatch.db'}"
    monkeypatch.setenv(CONFIG_ENV, str(config.path))
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    open_database(url).dispose()
    return Site(config, url)


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:
    return _site(tmp_path, monkeypatch)


def _app(user: SignedInUser | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
    if user is not None:
        at.session_state[SESSION_KEY] = user
    at.run()
    _no_exception(at)
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign-in-username").input(username)
    at.text_input(key="sign-in-password").input(password)
    at.button(key="FormSubmitter:sign-in-Sign in").click().run()
    _no_exception(at)
    return at


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_without_users_the_dashboard_says_how_to_create_the_first_admin(site):
    at = _app()
    assert _titles(at) == ["Sign in to repwatch"]
    assert at.info[0].value.startswith("Nobody can sign in yet: there are no users.")
    assert [c.value for c in at.code] == [
        f"repwatch users add NAME --role admin --config {site.config.path.resolve()}"
    ]
    assert len(at.text_input) == 0  # no form to fill in uselessly


def test_sign_in_shows_the_queue_and_logs_the_attempt(site):
    site.add("ana", "agent", "Ana <b>Lima</b>")
    at = _app()
    assert _titles(at) == ["Sign in to repwatch"]
    _sign_in(at, "Ana", PASSWORD)
    assert _titles(at) == ["Triage queue"]
    assert at.session_state[SESSION_KEY] == SignedInUser("ana", "Ana <b>Lima</b>", "agent")
    captions = [c.value for c in at.sidebar.caption]
    assert f"Signed in as **{escape_markdown('Ana <b>Lima</b>')}** · agent" in captions
    assert [(a.success, a.detail) for a in site.attempts("ana")] == [
        (True, "signed in with password")
    ]


def test_wrong_password_and_unknown_user_get_the_same_message(site):
    site.add("ana", "agent")
    at = _sign_in(_app(), "ana", "not the password")
    wrong = [e.value for e in at.error]
    _sign_in(at, "nobody", "not the password")
    unknown = [e.value for e in at.error]
    assert wrong == unknown == [escape_markdown(WRONG_CREDENTIALS)]
    assert _titles(at) == ["Sign in to repwatch"]
    assert SESSION_KEY not in at.session_state
    assert [(a.success, a.detail) for a in site.attempts("ana")] == [(False, "wrong password")]
    assert [(a.success, a.detail) for a in site.attempts("nobody")] == [(False, "unknown user")]


def test_lockout_after_too_many_failures(site):
    site.add("ana", "agent")
    at = _app()
    for _ in range(3):
        _sign_in(at, "ana", "guess")
        assert [e.value for e in at.error] == [escape_markdown(WRONG_CREDENTIALS)]
    _sign_in(at, "ana", PASSWORD)  # right, but too late
    [error] = at.error
    assert error.value.startswith(escape_markdown("Too many failed sign-ins for 'ana'."))
    assert escape_markdown("try again in 15 min.") in error.value
    assert _titles(at) == ["Sign in to repwatch"]
    assert [(a.success, a.detail) for a in site.attempts("ana")] == [
        (False, "wrong password"),
        (False, "wrong password"),
        (False, "wrong password"),
        (False, "locked out"),
    ]


def test_sign_out(site):
    site.add("ana", "agent")
    at = _sign_in(_app(), "ana", PASSWORD)
    at.sidebar.button(key="sign-out").click().run()
    _no_exception(at)
    assert _titles(at) == ["Sign in to repwatch"]
    assert at.info[0].value == "You signed out\\."
    assert SESSION_KEY not in at.session_state


def test_navigation_by_role():
    def titles(role):
        sections = navigation_for(SignedInUser("x", None, role))
        return {name: [entry.title for entry in entries] for name, entries in sections.items()}

    def allowed(role):
        rank = ROLES.index(role)
        return [p.title for p in PAGES if p.min_role is None or ROLES.index(p.min_role) <= rank]

    for role in ("viewer", "agent"):
        assert titles(role) == {"": allowed(role)}
    assert titles("admin") == {"": [p.title for p in PAGES], ADMIN_SECTION: ["Users"]}
    assert "Triage queue" in allowed("viewer")


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_only_admins_can_open_the_users_page(site, role):
    site.add("ana", role)
    at = _sign_in(_app(), "ana", PASSWORD)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(USERS_PAGE)


def test_a_user_preset_in_the_session_counts_as_signed_in(site):
    """The contract the page tests rely on: no sign-in form, no database row needed."""
    at = _app(SignedInUser("tester", "Tess", "viewer"))
    assert _titles(at) == ["Triage queue"]
    assert "Signed in as **Tess** · viewer" in [c.value for c in at.sidebar.caption]


def _users_page(site: Site) -> AppTest:
    site.add("root", "admin", "Root Admin")
    at = _sign_in(_app(), "root", PASSWORD)
    at.switch_page(USERS_PAGE).run()
    _no_exception(at)
    assert _titles(at) == ["Users"]
    return at


def test_users_page_changes_roles(site):
    site.add("ana", "viewer")
    at = _users_page(site)
    assert at.selectbox(key="user-role-root").disabled  # yourself
    at.selectbox(key="user-role-ana").select("agent").run()
    _no_exception(at)
    assert site.account("ana").role == "agent"
    assert at.success[0].value == "ana is now agent\\."
    assert at.selectbox(key="user-role-ana").value == "agent"


def test_users_page_disables_and_signs_out_a_live_session(site):
    site.add("ana", "agent")
    ana = _sign_in(_app(), "ana", PASSWORD)
    assert _titles(ana) == ["Triage queue"]

    at = _users_page(site)
    at.button(key="user-disable-ana").click().run()
    _no_exception(at)
    assert site.account("ana").disabled
    assert at.button(key="user-disable-ana").label == "Enable"

    ana.run()  # her next click: the session notices and signs her out
    assert _titles(ana) == ["Sign in to repwatch"]
    assert ana.info[0].value == escape_markdown("Your account was disabled. Ask an admin.")
    _sign_in(ana, "ana", PASSWORD)
    assert [e.value for e in ana.error] == [
        escape_markdown("The account 'ana' is disabled. Ask an admin to enable it.")
    ]

    at.button(key="user-disable-ana").click().run()
    assert not site.account("ana").disabled


def test_users_page_role_change_applies_to_a_live_session(site):
    site.add("ana", "agent")
    ana = _sign_in(_app(), "ana", PASSWORD)
    at = _users_page(site)
    at.selectbox(key="user-role-ana").select("viewer").run()
    ana.run()
    assert ana.session_state[SESSION_KEY].role == "viewer"
    assert "Signed in as **ana** · viewer" in [c.value for c in ana.sidebar.caption]


def test_admins_cannot_lock_themselves_out_on_the_users_page(site):
    site.add("other", "admin")
    at = _users_page(site)
    at.button(key="user-disable-other").click().run()  # root stays admin: allowed
    assert site.account("other").disabled
    # Now root is the only admin who can sign in; its own row is locked in the page.
    assert at.button(key="user-disable-root").disabled
    assert at.selectbox(key="user-role-root").disabled


def test_users_page_lists_recent_sign_ins(site):
    site.add("ana", "agent")
    _sign_in(_app(), "ana", "not the password")
    at = _users_page(site)
    frame = at.dataframe[0].value
    assert list(frame["Username"])[:2] == ["root", "ana"]
    assert list(frame["Result"])[:2] == ["signed in", "refused"]
    assert list(frame["Detail"])[:2] == ["signed in with password", "wrong password"]


OIDC_TOML = f"""[auth]
[auth.oidc]
enabled = true
provider_name = "Example ID"
server_metadata_url = "{ISSUER}/.well-known/openid-configuration"
client_id = "repwatch"
role_claim = "groups"
role_map = {{ "pr-admins" = "admin", "pr-team" = "agent" }}
"""


def _sso_app(claims: dict[str, object]) -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
    at.user = {"is_logged_in": True, "iss": ISSUER, **claims}
    at.run()
    _no_exception(at)
    return at


def test_single_sign_on_maps_the_role_claim(tmp_path, monkeypatch):
    site = _site(tmp_path, monkeypatch, OIDC_TOML)
    at = _sso_app(
        {"sub": "u-1", "email": "Kim@Example.com", "name": "Kim", "groups": ["pr-team", "x"]}
    )
    assert _titles(at) == ["Triage queue"]
    assert at.session_state[SESSION_KEY] == SignedInUser("kim@example.com", "Kim", "agent")
    account = site.account("kim@example.com")
    assert (account.oidc_subject, account.has_password) == (f"{ISSUER}|u-1", False)
    assert site.attempts("kim@example.com")[-1].detail == "signed in with single sign-on"


def test_single_sign_on_without_a_role_waits_for_an_admin(tmp_path, monkeypatch):
    site = _site(tmp_path, monkeypatch, OIDC_TOML)
    claims = {"sub": "u-2", "email": "lee@example.com", "name": "Lee"}
    at = _sso_app(claims)
    assert _titles(at) == ["Sign in to repwatch"]
    assert at.warning[0].value == escape_markdown(
        "You are signed in as 'lee@example.com', but you have no role in repwatch yet. "
        "Ask an admin to give you one on the Users page."
    )
    assert site.account("lee@example.com").role is None

    site.add("root", "admin")
    admin = _sign_in(_app(), "root", PASSWORD)
    admin.switch_page(USERS_PAGE).run()
    assert admin.selectbox(key="user-role-lee@example.com").value is None
    admin.selectbox(key="user-role-lee@example.com").select("viewer").run()
    _no_exception(admin)

    at = _sso_app(claims)
    assert at.session_state[SESSION_KEY] == SignedInUser("lee@example.com", "Lee", "viewer")


def test_sign_in_page_offers_single_sign_on_only_when_streamlit_has_its_settings(
    tmp_path, monkeypatch
):
    site = _site(tmp_path, monkeypatch, OIDC_TOML)
    site.add("ana", "agent")
    at = _app()
    assert at.warning[0].value.startswith(
        "Single sign-on is enabled in the configuration, but this dashboard was started "
        "without its settings."
    )
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
    at.secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback"}}
    at.run()
    assert at.button(key="sign-in-sso").label == "Sign in with Example ID"
    assert len(at.text_input) == 2  # the password form stays for password users
