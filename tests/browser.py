"""Helpers for the sign-in browser tests: Chromium, a real ``streamlit run``, free ports."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from dashboard.launch import start_dashboard, stop_dashboard, wait_until_healthy
from repwatch.config import DATABASE_URL_ENV, Config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UI_TIMEOUT_MS = 20_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_or_skip() -> str:
    """Chromium's path; skips (fails in CI) when it is not installed."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class RunningDashboard:
    url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    @contextmanager
    def explained(self) -> Iterator[None]:
        """Re-raise failures with the Streamlit server's output attached."""
        try:
            yield
        except (AssertionError, PlaywrightError) as exc:
            raise AssertionError(f"{exc}\n--- streamlit output ---\n{self.output()}") from exc


@contextmanager
def running_dashboard(config: Config, database_url: str, port: int) -> Iterator[RunningDashboard]:
    """``streamlit run`` the dashboard for ``config`` on 127.0.0.1:``port``."""
    log_path = config.directory / "streamlit.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = start_dashboard(
            config.path, port=port, output=log, extra_env={DATABASE_URL_ENV: database_url}
        )
        server = RunningDashboard(url, log_path)
        try:
            with server.explained():
                wait_until_healthy(url, timeout=60, process=process)
            yield server
        finally:
            stop_dashboard(process)


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill in and submit the dashboard's sign-in form (``page`` shows it)."""
    page.get_by_role("heading", name="Sign in to repwatch").wait_for()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def full_screenshot(page: Page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main element, so grow the viewport."""
    height = page.evaluate(
        "Math.max(document.body.scrollHeight,"
        " document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0)"
    )
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(300)  # let the layout and fonts settle for the picture
    page.screenshot(path=str(path), full_page=True)
