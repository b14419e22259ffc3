"""Single sign-on: Streamlit's secrets, role mapping, the users table, and the real login.

The last test runs the real ``streamlit run`` dashboard against ``oidc-provider-mock`` on
127.0.0.1 and signs in through the provider's authorization form in headless Chromium.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from dashboard.launch import dashboard_command
from repwatch import auth
from repwatch.auth import SignedInUser, SignInRefused
from repwatch.config import Config, Oidc, load_config
from repwatch.errors import ConfigError
from repwatch.oidc import (
    COOKIE_SECRET_ENV,
    COOKIE_SECRET_FILENAME,
    NoRoleYet,
    cookie_secret,
    role_from_claims,
    sign_in_with_oidc,
    streamlit_auth_secrets,
    write_streamlit_secrets,
)
from repwatch.store import open_database, session_scope
from repwatch.store import users as store
from tests.browser import UI_TIMEOUT_MS, chromium, free_port, full_screenshot, running_dashboard
from tests.conftest import write_config

ISSUER = "https://id.example.com"
SECRET_ENV = "REPWATCH_OIDC_CLIENT_SECRET"
OIDC = Oidc(
    enabled=True,
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_id="repwatch",
    role_claim="groups",
    role_map={"pr-admins": "admin", "pr-team": "agent", "pr-readers": "viewer"},
)


def oidc_config(directory: Path, metadata_url: str, redirect_uri: str, extra: str = "") -> Config:
    """A config with single sign-on on, its [auth] tables replaced."""
    config = write_config(directory)
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(
        text[: text.index("[auth]")]
        + f"""[auth]
[auth.oidc]
enabled = true
provider_name = "Example ID"
server_metadata_url = "{metadata_url}"
client_id = "repwatch"
redirect_uri = "{redirect_uri}"
role_claim = "groups"
role_map = {{ "pr-admins" = "admin", "pr-team" = "agent" }}
{extra}""",
        encoding="utf-8",
    )
    return load_config(config.path)


@pytest.fixture
def sso_config(tmp_path, monkeypatch) -> Config:
    monkeypatch.setenv(SECRET_ENV, 's3cret "quoted" \\ ünïcode')
    monkeypatch.delenv(COOKIE_SECRET_ENV, raising=False)
    return oidc_config(
        tmp_path,
        f"{ISSUER}/.well-known/openid-configuration",
        "http://localhost:8501/oauth2callback",
    )


def test_streamlit_auth_secrets_from_the_config_and_environment(sso_config):
    secrets = streamlit_auth_secrets(sso_config)
    assert secrets == {
        "auth": {
            "redirect_uri": "http://localhost:8501/oauth2callback",
            "cookie_secret": cookie_secret(sso_config),
            "client_id": "repwatch",
            "client_secret": 's3cret "quoted" \\ ünïcode',
            "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
        }
    }


def test_cookie_secret_is_generated_once_into_a_private_file(sso_config, monkeypatch):
    first = cookie_secret(sso_config)
    path = sso_config.directory / COOKIE_SECRET_FILENAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert cookie_secret(sso_config) == first  # stable: sessions survive restarts
    monkeypatch.setenv(COOKIE_SECRET_ENV, "from-the-environment-0123456789")
    assert cookie_secret(sso_config) == "from-the-environment-0123456789"


def test_missing_client_secret_says_which_variable_to_set(sso_config, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ConfigError) as missing:
        streamlit_auth_secrets(sso_config)
    assert str(missing.value) == (
        f"Single sign-on is enabled in {sso_config.path}, but the environment variable "
        f"{SECRET_ENV} with the OIDC client secret is not set. Set it, or name another "
        "variable with client_secret_env in [auth.oidc]."
    )


def test_secrets_file_is_private_and_reaches_streamlit_run(sso_config):
    path = write_streamlit_secrets(sso_config)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text(encoding="utf-8")) == streamlit_auth_secrets(sso_config)
    command = dashboard_command(sso_config.path, port=8501)
    assert command[command.index("--secrets.files") + 1] == str(path.resolve())


def test_no_secrets_file_without_single_sign_on(tmp_path):
    config = write_config(tmp_path)
    assert write_streamlit_secrets(config) is None
    assert "--secrets.files" not in dashboard_command(config.path)


def test_role_from_claims():
    assert role_from_claims({"groups": ["pr-team", "other"]}, OIDC) == "agent"
    assert role_from_claims({"groups": ["pr-readers", "pr-admins"]}, OIDC) == "admin"
    assert role_from_claims({"groups": "pr-readers"}, OIDC) == "viewer"
    assert role_from_claims({"groups": ["other"]}, OIDC) is None
    assert role_from_claims({}, OIDC) is None
    by_name = OIDC.model_copy(update={"role_claim": "role", "role_map": {}})
    assert role_from_claims({"role": "agent"}, by_name) == "agent"
    assert role_from_claims({"role": "owner"}, by_name) is None


def _claims(sub: str, **extra: object) -> dict[str, object]:
    return {"iss": ISSUER, "sub": sub, **extra}


def test_sso_user_is_stored_and_refreshed(engine):
    kim = _claims("u-1", email="Kim@Example.com", name="Kim", groups=["pr-team"])
    assert sign_in_with_oidc(engine, kim, OIDC) == SignedInUser("kim@example.com", "Kim", "agent")
    # The provider is the authority for mapped roles and names: changes apply at sign-in.
    kim.update(groups=["pr-admins"], name="Kim Park", email="kim.park@example.com")
    assert sign_in_with_oidc(engine, kim, OIDC) == SignedInUser(
        "kim@example.com", "Kim Park", "admin"
    )
    [account] = auth.list_accounts(engine)
    assert (account.oidc_subject, account.has_password) == (f"{ISSUER}|u-1", False)
    with session_scope(engine) as s:
        details = [a.detail for a in store.sign_in_attempts(s, "kim@example.com")]
    assert details == ["signed in with single sign-on"] * 2


def test_sso_user_without_a_role_waits_for_an_admin(engine):
    lee = _claims("u-2", email="lee@example.com")
    with pytest.raises(NoRoleYet) as waiting:
        sign_in_with_oidc(engine, lee, OIDC)
    assert str(waiting.value) == (
        "You are signed in as 'lee@example.com', but you have no role in repwatch yet. "
        "Ask an admin to give you one on the Users page."
    )
    assert auth.get_account(engine, "lee@example.com").role is None
    auth.add_user(engine, "root", "correct horse battery", role="admin")
    auth.set_role(engine, "lee@example.com", "viewer", actor="root")
    assert sign_in_with_oidc(engine, lee, OIDC).role == "viewer"
    # A role given by an admin stays while the claims map to none.
    assert sign_in_with_oidc(
        engine, lee, OIDC.model_copy(update={"default_role": "agent"})
    ).role == ("viewer")


def test_default_role_and_disabled_sso_users(engine):
    with_default = OIDC.model_copy(update={"default_role": "viewer"})
    max_ = _claims("u-3", email="max@example.com", groups=["elsewhere"])
    assert sign_in_with_oidc(engine, max_, with_default).role == "viewer"
    auth.add_user(engine, "root", "correct horse battery", role="admin")
    auth.set_disabled(engine, "max@example.com", True, actor="root")
    with pytest.raises(SignInRefused, match=r"The account 'max@example\.com' is disabled"):
        sign_in_with_oidc(engine, max_, with_default)


def test_sso_never_takes_over_a_password_user(engine):
    auth.add_user(engine, "ana@example.com", "correct horse battery", role="admin")
    intruder = _claims("evil", email="ana@example.com", groups=["pr-team"])
    user = sign_in_with_oidc(engine, intruder, OIDC)
    assert user.username == f"{ISSUER}|evil"
    assert user.role == "agent"
    assert auth.get_account(engine, "ana@example.com").oidc_subject is None


def test_claims_without_sub_are_refused(sqlite_engine):
    with pytest.raises(SignInRefused, match="no user id"):
        sign_in_with_oidc(sqlite_engine, {"iss": ISSUER, "email": "x@example.com"}, OIDC)


@pytest.fixture
def oidc_provider(tmp_path) -> Iterator[str]:
    """``oidc-provider-mock`` on 127.0.0.1 in its own process; yields its issuer URL.

    Its own process, so pytest's warnings-as-errors does not reach into the provider
    (Authlib deprecation warnings there are not ours to fix).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "oidc-provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(f"{url}/.well-known/openid-configuration", process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def _wait_for(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"oidc-provider-mock exited:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"oidc-provider-mock did not answer {url}:\n{log_path.read_text(errors='replace')}")


def _put_user(provider: str, sub: str, claims: dict[str, object]) -> None:
    """Tell the provider which claims user ``sub`` gets in the ID token."""
    request = urllib.request.Request(
        f"{provider}/users/{quote(sub)}",
        data=json.dumps(claims).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204


@pytest.mark.browser
@pytest.mark.slow
def test_single_sign_on_in_the_browser(tmp_path, monkeypatch, oidc_provider, artifacts_dir):
    # The provider will put these claims into the ID token of user "kim".
    _put_user(
        oidc_provider,
        "kim",
        {"email": "kim@example.com", "name": "Kim Park", "groups": ["pr-team"]},
    )
    port = free_port()
    monkeypatch.setenv(SECRET_ENV, "any-secret-the-mock-accepts")
    config = oidc_config(
        tmp_path,
        f"{oidc_provider}/.well-known/openid-configuration",
        f"http://127.0.0.1:{port}/oauth2callback",
    )
    database_url = f"sqlite:///{tmp_path / 'repwatch.db'}"
    open_database(database_url).dispose()

    with (
        running_dashboard(config, database_url, port) as dashboard,
        chromium() as browser,
        dashboard.explained(),
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(dashboard.url)
        page.get_by_role("button", name="Sign in with Example ID").click()

        page.wait_for_url(f"{oidc_provider}/oauth2/authorize*")  # the provider's form
        page.locator("input[name=sub]").fill("kim")
        full_screenshot(page, artifacts_dir / "sign-in-sso-provider.png")
        page.get_by_role("button", name="Authorize").click()

        page.get_by_role("heading", name="Triage queue").wait_for()
        assert page.url.startswith(dashboard.url)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Signed in as Kim Park · agent")).to_be_visible()
        expect(sidebar.get_by_role("link", name="Users")).to_have_count(0)
        full_screenshot(page, artifacts_dir / "sign-in-sso.png")

        page.reload()  # a new Streamlit session: the identity cookie signs it in again
        expect(page.get_by_text("Signed in as Kim Park · agent")).to_be_visible()

        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{oidc_provider}/oauth2/end_session*")  # the provider's sign-out
        page.get_by_role("button", name="End session").click()
        page.get_by_role("button", name="Sign in with Example ID").wait_for()
        assert page.url.startswith(dashboard.url)

    engine = open_database(database_url)
    try:
        account = auth.get_account(engine, "kim@example.com")
    finally:
        engine.dispose()
    assert account is not None
    assert (account.role, account.display_name) == ("agent", "Kim Park")
    assert account.oidc_subject == f"{oidc_provider}|kim"
    assert os.environ[SECRET_ENV] not in dashboard.output()
