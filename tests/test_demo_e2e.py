"""`repwatch demo` as a new user runs it: a real crawl of the demo site, then the dashboard
in a real headless Chromium showing the negative demo reviews."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from repwatch.demo import load_demo_reviews
from tests.browser import chromium, chromium_or_skip, sign_in

KNOWN_NEGATIVE = "I waited on hold for 45 minutes, then the agent told me"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repwatch", "demo", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_demo_without_dashboard_stores_flags_and_never_duplicates(tmp_path):
    reviews = load_demo_reviews()
    low = sum(1 for r in reviews if r.rating <= 2)
    args = ("--no-dashboard", "--dir", str(tmp_path / "demo"), "--site-port", str(_free_port()))
    first = _demo(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = re.search(
        r"Demo: (\d+) pages crawled, (\d+) mentions stored, (\d+) scored, (\d+) flagged",
        first.stdout,
    )
    assert summary, first.stdout + first.stderr
    pages, mentions, scored, flagged = map(int, summary.groups())
    assert mentions == len(reviews)
    assert scored == mentions  # the bundled model scores offline, with nothing to download
    assert "Not scoring" not in first.stderr
    assert flagged >= low  # every 1-2 star review, plus whatever the model flags
    assert flagged > low  # the model flags negative reviews that have no low rating too
    assert pages >= 21  # 12 pages of Kestrel Home, 9 of Nimbus Direct at 10 a page

    second = _demo(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = re.search(r"(\d+) mentions stored, (\d+) scored, (\d+) flagged", second.stdout)
    assert again
    assert tuple(map(int, again.groups())) == (mentions, scored, flagged)


@pytest.mark.slow
@pytest.mark.browser
def test_demo_opens_a_dashboard_listing_negative_reviews(tmp_path, artifacts_dir):
    chromium_or_skip()
    port = _free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "repwatch", "demo", "--dir", str(tmp_path / "demo"),
         "--site-port", str(_free_port()), "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C must reach it even when this test runs where SIGINT is ignored (a shell's
        # background job): else the demo would be killed and leave its dashboard running.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        credentials = None
        for line in demo.stdout:  # the demo prints the sign-in before it starts the dashboard
            found = re.match(r"Sign in to the dashboard as '(\w+)' with password '(.+)'\.", line)
            if found:
                credentials = found.groups()
                break
        assert credentials, demo.communicate()[1]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert demo.poll() is None, demo.communicate()[1]
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not come up in 120 s"
            time.sleep(0.5)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(url)
            sign_in(page, *credentials)
            page.get_by_text(re.compile(r"\d+ open")).first.wait_for(timeout=60_000)
            search = page.get_by_role("textbox", name="Search")  # flagged, wherever it ranks
            search.fill("45 minutes")
            search.press("Enter")
            page.get_by_text(KNOWN_NEGATIVE).first.wait_for(timeout=60_000)
            page.screenshot(path=str(artifacts_dir / "demo-dashboard.png"))
            assert page.get_by_text("Three weeks and still no sofa").count() >= 1
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        for stream in (demo.stdout, demo.stderr):
            if stream:
                stream.close()
    # Ctrl-C after the crawl stops the demo and its dashboard (Scrapy's handlers are gone).
    assert demo.returncode == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
