"""Signing in through the password form of the real dashboard, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from repwatch import auth
from repwatch.store import open_database
from tests.browser import UI_TIMEOUT_MS, chromium, free_port, full_screenshot, running_dashboard
from tests.conftest import write_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery"


def test_sign_in_and_out_through_the_form(tmp_path: Path, artifacts_dir: Path) -> None:
    config = write_config(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'repwatch.db'}"
    engine = open_database(database_url)
    auth.add_user(engine, "ana", PASSWORD, role="admin", display_name="Ana Lima")
    engine.dispose()

    with (
        running_dashboard(config, database_url, free_port()) as dashboard,
        chromium() as browser,
        dashboard.explained(),
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(dashboard.url)
        page.get_by_role("heading", name="Sign in to repwatch").wait_for()
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no pages before sign-in
        full_screenshot(page, artifacts_dir / "sign-in.png")
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()

        full_screenshot(page, artifacts_dir / "sign-in-wrong-password.png")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password", exact=True).press("Enter")
        page.get_by_role("heading", name="Triage queue").wait_for()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Signed in as Ana Lima · admin")).to_be_visible()
        expect(sidebar.get_by_role("link", name="Users")).to_be_visible()

        sidebar.get_by_role("link", name="Users").click()
        page.get_by_role("heading", name="Users").wait_for()
        expect(page.get_by_test_id("stDataFrame")).to_be_visible()  # recent sign-ins
        full_screenshot(page, artifacts_dir / "users.png")

        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to repwatch").wait_for()
        expect(page.get_by_text("You signed out.")).to_be_visible()
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
