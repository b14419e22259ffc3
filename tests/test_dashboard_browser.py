"""What a user sees: the real ``streamlit run`` dashboard, driven by headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from dashboard.launch import start_dashboard, stop_dashboard, wait_until_healthy
from repwatch.config import DATABASE_URL_ENV
from repwatch.records import QueueRow
from repwatch.store import open_database, queries, session_scope
from tests.conftest import write_config
from tests.seed import HOSTILE_TEXT, HOSTILE_TITLE, NEGATIVE_TEXT, SeedInfo, seed_demo_data

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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


@dataclass
class Dashboard:
    url: str
    database_url: str
    seed: SeedInfo
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

    def item(self, item_id: int) -> QueueRow:
        engine = open_database(self.database_url)
        try:
            with session_scope(engine) as s:
                return queries.triage_item(s, item_id)
        finally:
            engine.dispose()


def _full_screenshot(page: Page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main element, so grow the viewport."""
    height = page.evaluate(
        "Math.max(document.body.scrollHeight,"
        " document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0)"
    )
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(300)  # let the layout and fonts settle for the picture
    page.screenshot(path=str(path), full_page=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Dashboard]:
    directory = tmp_path_factory.mktemp("dashboard")
    config = write_config(directory)
    database_url = f"sqlite:///{directory / 'repwatch.db'}"
    engine = open_database(database_url)
    seed = seed_demo_data(engine)
    engine.dispose()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = directory / "streamlit.log"
    log: IO[Any]
    with log_path.open("wb") as log:
        process = start_dashboard(
            config.path, port=port, output=log, extra_env={DATABASE_URL_ENV: database_url}
        )
        server = Dashboard(url, database_url, seed, log_path)
        try:
            with server.explained():
                wait_until_healthy(url, timeout=60, process=process)
            yield server
        finally:
            stop_dashboard(process)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    with dashboard.explained():
        page.goto(dashboard.url)
        page.get_by_role("heading", name="Triage queue").wait_for()
    yield page
    context.close()
    assert dialogs == [], f"scraped text ran script: dialogs {dialogs}"


def test_queue_shows_reviews_as_plain_text(
    page: Page, dashboard: Dashboard, artifacts_dir: Path
) -> None:
    seed = dashboard.seed
    with dashboard.explained():
        known = page.locator(f".st-key-item-{seed.negative_item_id}")
        known.get_by_text(NEGATIVE_TEXT).wait_for()
        link = known.locator("a", has_text="open original")
        assert link.get_attribute("href") == (
            "https://shop.example/kestrel/reviews/k1?ref=a%28b%29"
        )

        hostile = page.locator(f".st-key-item-{seed.hostile_item_id}")
        hostile.get_by_text(HOSTILE_TEXT).wait_for()  # every character shown literally
        shown = hostile.inner_text()
        assert "<script>alert('x')</script>" in shown
        assert "[click me](javascript:alert(1))" in shown
        assert "**bold**" in shown
        assert HOSTILE_TITLE in shown  # the title went through escaped Markdown
        assert hostile.locator("img[onerror], img[src='x']").count() == 0
        assert hostile.locator("script, b, em, .katex").count() == 0
        assert page.locator("a[href^='javascript:' i]").count() == 0
        assert "not a web link: javascript:alert(document.cookie)" in shown

        _full_screenshot(page, artifacts_dir / "queue.png")
        known.screenshot(path=str(artifacts_dir / "queue-item.png"))
        hostile.screenshot(path=str(artifacts_dir / "queue-hostile-item.png"))


def test_mark_responded_in_the_browser_persists(
    page: Page, dashboard: Dashboard, artifacts_dir: Path
) -> None:
    item_id = dashboard.seed.negative_item_id
    with dashboard.explained():
        name = page.get_by_role("textbox", name="Your name")
        name.fill("browser-user")
        name.press("Enter")
        page.wait_for_timeout(300)  # the name reaches the server before the click
        page.locator(f".st-key-responded-{item_id} button").click()
        page.get_by_text(NEGATIVE_TEXT).wait_for(state="detached")

        deadline = time.monotonic() + 10
        while dashboard.item(item_id).status != "responded" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert dashboard.item(item_id).status == "responded"
        engine = open_database(dashboard.database_url)
        with session_scope(engine) as s:
            last = queries.item_actions(s, item_id)[-1]
        engine.dispose()
        assert (last.actor, last.to_status) == ("browser-user", "responded")
        _full_screenshot(page, artifacts_dir / "queue-after-respond.png")
