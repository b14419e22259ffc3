"""What a user sees: the real ``streamlit run`` dashboard, driven by headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from dashboard.launch import start_dashboard, stop_dashboard, wait_until_healthy
from repwatch import auth
from repwatch.config import DATABASE_URL_ENV
from repwatch.records import ActionRow, QueueRow
from repwatch.store import open_database, queries, session_scope
from tests.conftest import write_config
from tests.seed import (
    HOSTILE_CRAWL_REASON,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    NEGATIVE_TEXT,
    SeedInfo,
    seed_demo_data,
    source_entries,
)

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
USERNAME = "dana"
PASSWORD = "correct horse battery"


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

    def log(self, item_id: int) -> list[ActionRow]:
        engine = open_database(self.database_url)
        try:
            with session_scope(engine) as s:
                return queries.item_actions(s, item_id)
        finally:
            engine.dispose()

    def wait_for(self, item_id: int, check: Callable[[QueueRow], bool]) -> QueueRow:
        """The item once ``check`` holds (the click's callback runs on the server)."""
        deadline = time.monotonic() + 10
        while not check(row := self.item(item_id)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return row


def _full_screenshot(page: Page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main element, so grow the viewport."""
    _settled(page)
    height = page.evaluate(
        "Math.max(document.body.scrollHeight,"
        " document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0)"
    )
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(300)  # let the layout and fonts settle for the picture
    _settled(page)
    page.screenshot(path=str(path), full_page=True)


def _settled(page: Page) -> None:
    """Wait until widgets replaced their loading skeletons and no script run is pending."""
    page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')")
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')")


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
    config = write_config(directory, sources=source_entries())
    database_url = f"sqlite:///{directory / 'repwatch.db'}"
    engine = open_database(database_url)
    seed = seed_demo_data(engine)
    auth.add_user(engine, USERNAME, PASSWORD, role="agent", display_name="Dana Agent")
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
        page.get_by_role("textbox", name="Username").fill(USERNAME)
        password = page.get_by_role("textbox", name="Password")
        password.fill(PASSWORD)
        password.press("Enter")
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


def test_filter_assign_and_respond_persist(
    page: Page, dashboard: Dashboard, artifacts_dir: Path
) -> None:
    item_id = dashboard.seed.negative_item_id
    card = page.locator(f".st-key-item-{item_id}")
    with dashboard.explained():
        search = page.get_by_role("textbox", name="Search")
        search.fill("courier")
        search.press("Enter")  # the filter form submits with Enter
        page.get_by_text("Checkout kept failing on my phone.").wait_for(state="detached")
        card.get_by_text(NEGATIVE_TEXT).wait_for()
        assert page.locator("[class*='st-key-item-']").count() == 1

        card.get_by_role("button", name="Assign to me").click()
        row = dashboard.wait_for(item_id, lambda r: r.assignee == USERNAME)
        assert (row.status, row.assignee) == ("assigned", USERNAME)
        card.get_by_text(f"assigned · {USERNAME}").wait_for()

        card.get_by_role("button", name="Respond", exact=True).click()
        page.get_by_role("textbox", name="Your reply, or a link to it").fill(
            "https://shop.example/kestrel/reviews/k1#reply"
        )
        page.get_by_role("button", name="Mark responded").click()
        row = dashboard.wait_for(item_id, lambda r: r.status == "responded")
        assert row.status == "responded"
        card.wait_for(state="detached")  # gone from the open queue
        last = dashboard.log(item_id)[-1]
        assert (last.actor, last.action, last.detail) == (
            USERNAME,
            "responded",
            "https://shop.example/kestrel/reviews/k1#reply",
        )
        page.get_by_text("Nothing here: no flagged mentions match these filters.").wait_for()
        _full_screenshot(page, artifacts_dir / "queue-after-respond.png")


def test_ticked_items_survive_a_reload(page: Page, dashboard: Dashboard) -> None:
    item_id = dashboard.seed.hostile_item_id
    tick = page.locator(f".st-key-pick-{item_id} input[type=checkbox]")
    with dashboard.explained():
        page.locator(f".st-key-pick-{item_id} label").click()
        page.get_by_text("1 selected", exact=True).wait_for()
        page.get_by_role("button", name="Reload").click()
        page.wait_for_timeout(1000)
        assert tick.is_checked()
        page.get_by_role("button", name="Apply to 1 selected").wait_for()


def test_conflict_is_shown_with_the_fresh_state(
    page: Page, dashboard: Dashboard, artifacts_dir: Path
) -> None:
    item_id = dashboard.seed.item_ids[-1]
    card = page.locator(f".st-key-item-{item_id}")
    with dashboard.explained():
        card.get_by_role("button", name="Escalate").wait_for()
        engine = open_database(dashboard.database_url)  # a colleague, a moment earlier
        with session_scope(engine) as s:
            queries.change_status(
                s, item_id, expected_version=1, to_status="assigned", actor="bob", assignee="bob"
            )
        engine.dispose()
        card.get_by_role("button", name="Escalate").click()
        warning = page.get_by_test_id("stAlertContentWarning")
        warning.get_by_text(f"Item {item_id} was changed by bob at").wait_for()
        assert "a moment ago (assigned)" in warning.inner_text()
        card.get_by_text("assigned · bob").wait_for()  # the card shows the item as it is now
        assert dashboard.item(item_id).version == 2  # the escalation was not written
        _full_screenshot(page, artifacts_dir / "queue-conflict.png")


def _open(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()
    page.wait_for_timeout(1500)  # charts draw after the page arrives


def test_every_page_renders(page: Page, dashboard: Dashboard, artifacts_dir: Path) -> None:
    seed = dashboard.seed
    with dashboard.explained():
        card = page.locator(f".st-key-item-{seed.hostile_item_id}")
        card.get_by_role("link", name="Details").click()
        page.get_by_role("heading", name="Item detail").wait_for()
        item = page.locator(f".st-key-item-{seed.hostile_item_id}")
        item.get_by_text(HOSTILE_TEXT).wait_for()
        assert page.locator("a[href^='javascript:' i]").count() == 0
        assert item.locator("img, script, b, em").count() == 0
        page.get_by_role("tab", name="Action log (1)").click()
        page.wait_for_timeout(500)
        _full_screenshot(page, artifacts_dir / "item.png")

        number = page.get_by_role("spinbutton", name="Item number")
        number.fill(str(seed.negative_item_id))
        number.press("Enter")  # the open form submits with Enter
        page.locator(f".st-key-item-{seed.negative_item_id}").get_by_text(NEGATIVE_TEXT).wait_for()
        page.get_by_role("tab", name="Near-duplicates (1)").click()
        page.get_by_text("similar").first.wait_for()
        _full_screenshot(page, artifacts_dir / "item-near-duplicates.png")

        _open(page, "Overview")
        assert page.locator("[data-testid=stVegaLiteChart]").count() == 4
        _full_screenshot(page, artifacts_dir / "overview.png")
        _open(page, "Topics")
        page.get_by_text("What customers said about").wait_for()
        _full_screenshot(page, artifacts_dir / "topics.png")
        _open(page, "Sources")
        page.get_by_text("Newest errors").wait_for()
        assert page.locator("img[onerror]").count() == 0
        _full_screenshot(page, artifacts_dir / "sources.png")
        assert HOSTILE_CRAWL_REASON not in page.content()  # drawn on a canvas, never as HTML
