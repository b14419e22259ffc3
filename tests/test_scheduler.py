"""`repwatch run`: cron parsing, [schedule] validation, the job plan, missed runs, and the
real service in a subprocess crawling a local site, scoring, flagging and alerting,
stopped by SIGTERM mid-crawl and restarted without loss."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from apscheduler.triggers.cron import CronTrigger

from repwatch.config import load_config
from repwatch.config_template import BrandEntry, SourceEntry, render_config
from repwatch.errors import ConfigError
from repwatch.service.cron import CronError, day_of_week, parse_cron
from repwatch.service.plan import plan_jobs
from repwatch.service.runner import due_at_start, fire_time
from repwatch.store import open_database, session_scope
from repwatch.store.job_runs import (
    JobRunView,
    finish_job_run,
    last_job_runs,
    recent_job_runs,
    record_skipped_run,
    start_job_run,
)
from tests.tiny_model import NEGATIVE, POSITIVE, THREE_LABELS, build_tiny_model

ROOT = Path(__file__).resolve().parent.parent
SLOW_PAGES = 16
REVIEWS_PER_PAGE = 3
SLOW_SECONDS = 0.4
BRANDS = (BrandEntry("kestrel", "Kestrel Home", ("Kestrel",)),)


# --- cron expressions --------------------------------------------------------------------


def _next(expression: str, after: datetime) -> datetime:
    cron = parse_cron(expression)
    assert cron is not None
    fired = cron.trigger(UTC).get_next_fire_time(None, after)
    assert fired is not None
    return fired


SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "weekday"),
    [("0 7 * * 1", "Monday"), ("0 7 * * mon", "Monday"), ("0 7 * * 0", "Sunday"),
     ("0 7 * * 7", "Sunday"), ("0 7 * * 6", "Saturday"), ("0 7 * * 5-7", "Friday")],
)  # fmt: skip
def test_weekdays_are_read_the_crontab_way(expression, weekday):
    fired = _next(expression, SUNDAY + timedelta(hours=1))  # past Sunday 07:00
    assert (fired.strftime("%A"), fired.hour, fired.minute) == (weekday, 7, 0)


def test_apscheduler_alone_would_run_monday_jobs_on_tuesday():
    # Why repwatch parses the weekday itself: APScheduler 3 counts from Monday = 0.
    fired = CronTrigger.from_crontab("0 7 * * 1", timezone=UTC).get_next_fire_time(None, SUNDAY)
    assert fired.strftime("%A") == "Tuesday"


@pytest.mark.parametrize(
    ("field", "names"),
    [("*", "*"), ("1-5", "mon,tue,wed,thu,fri"), ("*/2", "tue,thu,sat,sun"),
     ("0,6", "sat,sun"), ("sat-sun", "sat,sun"), ("MON,wed", "mon,wed"), ("0-7", "*")],
)  # fmt: skip
def test_day_of_week_fields_become_day_names(field, names):
    assert day_of_week(field) == names


def test_macros_seconds_and_off():
    assert _next("@daily", SUNDAY) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert _next("*/10 * * * * *", SUNDAY + timedelta(seconds=1)) == SUNDAY + timedelta(seconds=10)
    assert parse_cron("off") is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 */2 * *", "'0 */2 * *' has 4 fields; expected 5 (minute hour day month day-of-week), "
         'e.g. "0 */2 * * *" (every two hours) or "0 7 * * mon" (Mondays at 7:00), or off'),
        ("61 * * * *", "'61 * * * *': minute field '61' is invalid (Error validating expression "
         "'61': the last value (61) is higher than the maximum value (59))"),
        ("0 7 * * funday", "'0 7 * * funday': day of week 'funday' is not 0-7 or sun, mon, tue, "
         "wed, thu, fri, sat"),
        ("0 7 * * 5-1", "'0 7 * * 5-1': day range '5-1' runs backwards"),
    ],
)  # fmt: skip
def test_bad_cron_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(CronError) as info:
        parse_cron(expression)
    assert str(info.value) == message


# --- [schedule] in repwatch.toml ---------------------------------------------------------

SOURCES = (
    SourceEntry("shop", "kestrel", "https://shop.example.com/reviews"),
    SourceEntry("blog", "kestrel", "https://blog.example.com/reviews"),
    SourceEntry("forum", "kestrel", "https://forum.example.com/reviews"),
)


def _set(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[table]``: replaced (also when commented) or added."""
    lines = text.splitlines()
    start = lines.index(f"[{table}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start + 1, end):
        if re.match(rf"^(# )?{re.escape(key)} = ", lines[i]):
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _config_text(*edits: tuple[str, str, str], extra: str = "") -> str:
    text = render_config(BRANDS, SOURCES)
    for table, key, value in edits:
        text = _set(text, table, key, value)
    return text + extra


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "repwatch.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def _line(text: str, table: str, key: str) -> int:
    lines = text.splitlines()
    start = lines.index(f"[{table}]")
    return next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key} =")) + 1


def test_bad_schedule_cron_names_file_line_key_and_what_is_expected(tmp_path):
    text = _config_text(("schedule", "crawl", '"0 */2 * *"'))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{_line(text, 'schedule', 'crawl')} [schedule]: crawl '0 */2 * *' has 4 "
        'fields; expected 5 (minute hour day month day-of-week), e.g. "0 */2 * * *" (every two '
        'hours) or "0 7 * * mon" (Mondays at 7:00), or off'
    )


def test_bad_source_schedule_and_digest_are_both_reported(tmp_path):
    text = _config_text(("sources.blog", "schedule", '"0 7 * * someday"'),
                        ("schedule", "digest", '"@fortnightly"'))  # fmt: skip
    message = _error(tmp_path, text).splitlines()
    assert message == [
        f"repwatch.toml:{_line(text, 'sources.blog', 'schedule')} [sources.blog]: schedule "
        "'0 7 * * someday': day of week 'someday' is not 0-7 or sun, mon, tue, wed, thu, fri, sat",
        f"repwatch.toml:{_line(text, 'schedule', 'digest')} [schedule]: digest '@fortnightly' "
        'has 1 fields; expected 5 (minute hour day month day-of-week), e.g. "0 */2 * * *" '
        '(every two hours) or "0 7 * * mon" (Mondays at 7:00), or off',
    ]


def test_unknown_timezone_and_digest_format(tmp_path):
    text = _config_text(("schedule", "timezone", '"Europe/Pariss"'),
                        ("schedule", "digest_formats", '["html", "docx"]'))  # fmt: skip
    assert _error(tmp_path, text).splitlines() == [
        f"repwatch.toml:{_line(text, 'schedule', 'timezone')} [schedule]: unknown time zone "
        "'Europe/Pariss'; expected an IANA name such as UTC or Europe/Paris",
        f"repwatch.toml:{_line(text, 'schedule', 'digest_formats')} [schedule]: Input should be "
        "'html', 'pdf', 'csv' or 'md'",
    ]


def test_unknown_key_in_schedule_lists_the_keys(tmp_path):
    text = _config_text(("schedule", "crawl_every", '"2h"'))
    assert _error(tmp_path, text) == (
        f"repwatch.toml:{_line(text, 'schedule', 'crawl_every')} [schedule]: unknown key "
        "'crawl_every'; expected timezone, crawl, digest, digest_dir, digest_formats, groups"
    )


def test_groups_name_known_sources_each_in_one_job(tmp_path):
    text = _config_text(
        ("sources.forum", "schedule", '"*/30 * * * *"'),
        extra=(
            '\n[schedule.groups.web]\nsources = ["shop", "blog", "nope"]\n'
            '\n[schedule.groups.more]\nsources = ["blog", "forum"]\ncrawl = "@hourly"\n'
        ),
    )
    lines = text.splitlines()
    web = lines.index('sources = ["shop", "blog", "nope"]') + 1
    more = lines.index('sources = ["blog", "forum"]') + 1
    assert _error(tmp_path, text).splitlines() == [
        f"repwatch.toml:{web} [schedule.groups.web]: unknown source 'nope'; expected one of "
        "blog, forum, shop",
        f"repwatch.toml:{more} [schedule.groups.more]: source 'blog' is already in "
        "[schedule.groups.web]; a source belongs to at most one group",
        f"repwatch.toml:{more} [schedule.groups.more]: source 'forum' has its own schedule in "
        "[sources.forum]; remove it there or leave the source out of the group",
    ]


def test_template_group_example_is_valid_when_uncommented(tmp_path):
    text = render_config(BRANDS, SOURCES)
    example = next(line for line in text.splitlines() if line.startswith("# groups."))
    example = example.removeprefix("# ").replace('"mastodon", "reddit", "hn"', '"shop", "blog"')
    path = tmp_path / "repwatch.toml"
    path.write_text(text.replace("[schedule]\n", f"[schedule]\n{example}\n"), encoding="utf-8")
    group = load_config(path).settings.schedule.groups["social"]
    assert (group.sources, group.crawl) == (["shop", "blog"], "*/30 * * * *")


def test_plan_gives_every_source_exactly_one_crawl_job(tmp_path):
    text = _config_text(
        ("sources.forum", "schedule", '"*/30 * * * *"'),
        ("schedule", "digest", '"off"'),
        extra='\n[schedule.groups.web]\nsources = ["shop"]\n',
    )
    path = tmp_path / "repwatch.toml"
    path.write_text(text, encoding="utf-8")
    jobs = {j.id: (j.kind, j.cron.expression, j.sources) for j in plan_jobs(load_config(path))}
    assert jobs == {
        "crawl:group:web": ("crawl", "0 */2 * * *", ("shop",)),
        "crawl:source:forum": ("crawl", "*/30 * * * *", ("forum",)),
        "crawl": ("crawl", "0 */2 * * *", ("blog",)),
    }


# --- missed runs -----------------------------------------------------------------------

HOURLY = CronTrigger(minute=0, timezone=UTC)
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


def _last(status: str, started: datetime) -> JobRunView:
    return JobRunView(1, "crawl", None, started, started + timedelta(minutes=5), status, "")


def test_a_run_missed_while_down_is_due_once_at_start():
    assert due_at_start(HOURLY, _last("ok", NOW - timedelta(hours=5)), NOW) == (
        "it missed the run due at 2026-11-23T06:00+00:00"
    )
    # The last run started after the latest fire time (10:00): nothing was missed.
    assert due_at_start(HOURLY, _last("ok", NOW - timedelta(minutes=29)), NOW) is None
    assert due_at_start(HOURLY, _last("failed", NOW - timedelta(minutes=29)), NOW) is None
    assert due_at_start(HOURLY, None, NOW) is None  # never ran: nothing missed


def test_interrupted_or_unfinished_runs_are_resumed_at_start():
    recent = NOW - timedelta(minutes=1)
    assert due_at_start(HOURLY, _last("interrupted", recent), NOW) == (
        "its last run was interrupted; resuming it"
    )
    assert due_at_start(HOURLY, _last("running", recent), NOW) == (
        "its last run never finished (the service was killed); running it again"
    )


def test_fire_time_is_the_cron_time_a_run_is_for():
    assert fire_time(HOURLY, NOW.replace(minute=0, second=2)) == NOW.replace(minute=0)
    assert fire_time(HOURLY, NOW) is None  # a catch-up run at 10:30
    every_ten_seconds = CronTrigger(second="*/10", timezone=UTC)
    assert fire_time(every_ten_seconds, NOW + timedelta(seconds=34)) == NOW + timedelta(seconds=30)


# --- the real service ------------------------------------------------------------------


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]


class _SiteHandler(BaseHTTPRequestHandler):
    """Review pages /slow/pageN.html (slow) and /fast/pageN.html, half of them complaints."""

    server: _Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append(path)
        match = re.fullmatch(r"/(slow|fast)/page(\d+)\.html", path)
        pages = SLOW_PAGES if match and match.group(1) == "slow" else 2
        if not match or not 1 <= int(match.group(2)) <= pages:
            self.send_error(404)
            return
        kind, n = match.group(1), int(match.group(2))
        if kind == "slow":
            time.sleep(SLOW_SECONDS)
        reviews = [
            {
                "@type": "Review",
                "@id": f"/{kind}/reviews/{n}-{i}",
                "reviewBody": f"{(NEGATIVE if i % 2 else POSITIVE)[(n + i) % 8]} ({n}-{i})",
                "reviewRating": {"ratingValue": 1 if i % 2 else 5},
            }
            for i in range(REVIEWS_PER_PAGE)
        ]
        data = json.dumps({"@context": "https://schema.org", "@type": "Product", "review": reviews})
        following = f'<link rel="next" href="/{kind}/page{n + 1}.html">' if n < pages else ""
        body = (
            f"<html><head>{following}<script type='application/ld+json'>{data}</script>"
            f"</head><body>page {n}</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Hooks(ThreadingHTTPServer):
    daemon_threads = True
    received: list[dict[str, Any]]


class _HookHandler(BaseHTTPRequestHandler):
    """Apprise's json:// target: collects the JSON posted to it."""

    server: _Hooks

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.server.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _serve(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    server = _Site(("127.0.0.1", 0), _SiteHandler)
    server.requests = []
    yield from _serve(server)  # type: ignore[misc]


@pytest.fixture
def hooks() -> Iterator[_Hooks]:
    server = _Hooks(("127.0.0.1", 0), _HookHandler)
    server.received = []
    yield from _serve(server)  # type: ignore[misc]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny", THREE_LABELS)


def _service_config(
    directory: Path, url: str, *edits: tuple[str, str, str], model: Path | None = None
) -> Path:
    text = render_config(BRANDS, (SourceEntry("site", "kestrel", url, allow_private=True),),
                         download_delay=0.0)  # fmt: skip
    text = _set(text, "crawl", "autothrottle", "false")
    if model is not None:
        text = _set(text, "model", "name", json.dumps(str(model)))
    for table, key, value in edits:
        text = _set(text, table, key, value)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "repwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


class _Service:
    """``repwatch run`` in a subprocess; its log in a file, shown when a test fails."""

    def __init__(self, config: Path) -> None:
        self.log = config.parent / f"service-{time.monotonic_ns()}.log"
        self.stream = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "repwatch", "run", "--config", str(config)],
            cwd=config.parent,
            stdout=self.stream,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_for(self, condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert self.proc.poll() is None, f"repwatch run ended early:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {what} in {seconds}s:\n{self.output()}"
            time.sleep(0.05)

    def stop(self, seconds: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=seconds)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stream.close()


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return list(conn.execute(sql))
    except sqlite3.OperationalError:  # not created or not migrated yet
        return []


def _job_runs(db: Path) -> list[tuple[str, str, str | None, str | None, str]]:
    """(job, status, started_at, finished_at, detail) of every job run, oldest first."""
    return _rows(
        db, "SELECT job, status, started_at, finished_at, detail FROM job_runs ORDER BY id"
    )  # type: ignore[return-value]


@pytest.mark.slow
def test_service_crawls_scores_flags_alerts_and_resumes_after_sigterm(
    tmp_path, site, hooks, tiny_model
):
    base = f"http://127.0.0.1:{site.server_address[1]}"
    hook = f"json://127.0.0.1:{hooks.server_address[1]}/hook"
    edits = [
        ("schedule", "crawl", '"*/2 * * * * *"'),
        ("schedule", "digest", '"off"'),
        ("alerts", "targets", json.dumps([hook])),
        ("alerts", "min_priority", "0.0"),
    ]
    config = _service_config(tmp_path, f"{base}/slow/page1.html", *edits, model=tiny_model)
    db = tmp_path / "repwatch.db"
    state = tmp_path / "crawl-state"
    site.requests.clear()

    first = _Service(config)
    try:
        # Every 2 s the cron fires while the first crawl (16 pages, 0.4 s each) still runs:
        # those runs are skipped, never started alongside.
        first.wait_for(
            lambda: (
                any(r[1] == "skipped" for r in _job_runs(db))
                and len(site.requests) >= 4
                and state.is_dir()
            ),
            "skipped run while crawling",
        )
        assert first.stop() == 0, first.output()
    finally:
        first.kill()
    runs = _job_runs(db)
    started = [r for r in runs if r[1] != "skipped"]
    assert [r[1] for r in started] == ["interrupted"], first.output()
    # No overlap: each skipped run was due while the one run went on.
    skipped = [r for r in runs if r[1] == "skipped"]
    assert skipped
    assert all(started[0][2] <= r[2] <= started[0][3] for r in skipped)
    assert "stopped, resumes at the next start" in started[0][4]
    assert [s for (s,) in _rows(db, "SELECT status FROM crawl_runs")] == ["interrupted"]
    partial = len(_rows(db, "SELECT id FROM mentions"))
    assert 0 < partial < SLOW_PAGES * REVIEWS_PER_PAGE
    assert any(state.iterdir())  # the crawl's saved queue
    assert hooks.received == []  # nothing scored or alerted after an interrupted crawl

    # Restart with a schedule that will not fire: the interrupted run resumes at once.
    config.write_text(config.read_text().replace('"*/2 * * * * *"', '"0 0 1 1 *"'))
    second = _Service(config)
    try:
        second.wait_for(lambda: _job_runs(db)[-1][1] not in ("running", "skipped"), "finished run")
        assert second.stop() == 0, second.output()
    finally:
        second.kill()
    last = _job_runs(db)[-1]
    assert last[1] == "ok", f"{last}\n{second.output()}"
    total = SLOW_PAGES * REVIEWS_PER_PAGE
    assert re.match(rf"crawled \d+ pages in \d+s: {total - partial} new, 0 updated", last[4])
    assert f"scored {total}" in last[4]
    # Every page fetched once over both runs (the JOBDIR's queue and duplicate filter) ...
    slow = sorted(p for p in site.requests if p.startswith("/slow/"))
    assert slow == sorted(f"/slow/page{n}.html" for n in range(1, SLOW_PAGES + 1))
    # ... every mention stored once, scored once, the complaints flagged and alerted.
    ids = [i for (i,) in _rows(db, "SELECT external_id FROM mentions")]
    assert len(ids) == len(set(ids)) == total
    assert _rows(db, "SELECT count(*), count(DISTINCT mention_id) FROM analyses") == [
        (total, total)
    ]
    flagged = _rows(db, "SELECT count(*) FROM triage_items")[0][0]
    assert flagged >= total // 3  # one review in three has one star
    assert len(hooks.received) == 1
    assert hooks.received[0]["title"].startswith(f"repwatch: {flagged} alerts")
    assert [s for (s,) in _rows(db, "SELECT status FROM crawl_runs ORDER BY id")] == [
        "interrupted",
        "finished",
    ]
    assert not any(state.iterdir())  # a finished crawl removes its state


@pytest.mark.slow
def test_missed_run_runs_once_at_start_and_a_recent_one_waits(tmp_path, site):
    base = f"http://127.0.0.1:{site.server_address[1]}"
    config = _service_config(
        tmp_path, f"{base}/fast/page1.html",
        ("schedule", "crawl", '"0 * * * *"'), ("schedule", "digest", '"off"'),
    )  # fmt: skip
    db = tmp_path / "repwatch.db"
    engine = open_database(f"sqlite:///{db}")
    with session_scope(engine) as session:  # a run five hours ago: four hourly runs missed
        run = start_job_run(session, "crawl", scheduled_for=None,
                            started_at=datetime.now(UTC) - timedelta(hours=5))  # fmt: skip
        finish_job_run(session, run, "ok", "crawled 2 pages")
    engine.dispose()

    service = _Service(config)
    try:
        service.wait_for(lambda: len(_job_runs(db)) == 2 and _job_runs(db)[1][1] == "ok", "run")
        time.sleep(3)  # a second catch-up would have started by now
        assert service.stop() == 0
    finally:
        service.kill()
    assert [r[1] for r in _job_runs(db)] == ["ok", "ok"], service.output()
    assert "crawled 2 pages" in _job_runs(db)[1][4]
    assert "runs now: it missed the run due at" in service.output()

    # Started again at once: the last run is recent, nothing was missed, nothing runs.
    again = _Service(config)
    try:
        again.wait_for(lambda: "next run" in again.output(), "schedule logged")
        time.sleep(3)
        assert again.stop() == 0
    finally:
        again.kill()
    assert len(_job_runs(db)) == 2, again.output()
    assert len(_rows(db, "SELECT id FROM crawl_runs")) == 1


@pytest.mark.slow
def test_digest_job_writes_the_files_and_sends_them(tmp_path, site, hooks):
    hook = f"json://127.0.0.1:{hooks.server_address[1]}/hook"
    config = _service_config(
        tmp_path, f"http://127.0.0.1:{site.server_address[1]}/fast/page1.html",
        ("schedule", "crawl", '"off"'), ("schedule", "digest", '"*/2 * * * * *"'),
        ("schedule", "digest_formats", '["html", "csv"]'),
        ("schedule", "digest_dir", '"out/digests"'), ("alerts", "targets", json.dumps([hook])),
    )  # fmt: skip
    db = tmp_path / "repwatch.db"
    service = _Service(config)
    try:
        service.wait_for(lambda: any(r[1] == "ok" for r in _job_runs(db)), "digest run", 120)
        assert service.stop() == 0
    finally:
        service.kill()
    run = next(r for r in _job_runs(db) if r[1] == "ok")
    week = re.search(r"digest (\d{4}-W\d{2})", run[4])
    assert week, run
    names = sorted(f"repwatch-digest-{week.group(1)}.{fmt}" for fmt in ("csv", "html"))
    assert sorted(p.name for p in (tmp_path / "out" / "digests").iterdir()) == names
    message = hooks.received[0]
    assert message["title"] == f"repwatch digest {week.group(1)}"
    assert sorted(a["filename"] for a in message["attachments"]) == names
    assert {r[0] for r in _job_runs(db)} == {"digest"}  # crawl = "off": no crawl job


def test_nothing_to_schedule_says_what_to_do(tmp_path):
    config = _service_config(tmp_path, "https://x.example.com/", ("schedule", "crawl", '"off"'),
                             ("schedule", "digest", '"off"'))  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "repwatch", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: Nothing to schedule in {config}: add a source under [sources.NAME], or set "
        '[schedule] crawl and digest to cron expressions instead of "off".'
    )


# --- job runs in the store and on the Sources page -------------------------------------


def test_last_job_runs_are_the_newest_that_ran_per_job(engine):
    t0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        first = start_job_run(s, "crawl", scheduled_for=t0, started_at=t0)
        finish_job_run(s, first, "ok", "crawled 2 pages")
        second = start_job_run(s, "crawl", scheduled_for=None, started_at=t0 + timedelta(hours=1))
        record_skipped_run(s, "crawl", scheduled_for=t0 + timedelta(hours=2), detail="busy")
        start_job_run(s, "digest", scheduled_for=t0, started_at=t0)
    with session_scope(engine) as s:
        last = last_job_runs(s, ["crawl", "digest", "crawl:group:web"])
        recent = recent_job_runs(s, limit=10)
    assert {job: (r.run_id, r.status) for job, r in last.items()} == {
        "crawl": (second, "running"),  # the skipped one is no run
        "digest": (second + 2, "running"),
    }
    assert recent[0].status == "skipped"  # recorded now, the newest
    assert [r.detail for r in recent if r.run_id == first] == ["crawled 2 pages"]


def test_sources_page_lists_the_scheduled_runs(tmp_path, monkeypatch):
    from tests.test_dashboard_pages import make_site, page_app, table

    site = make_site(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'repwatch.db'}")
    engine = open_database(site.url)
    due = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        run = start_job_run(s, "crawl:group:web", scheduled_for=due, started_at=due)
        finish_job_run(s, run, "interrupted", "crawled 3 pages; stopped, resumes at the next start")
    engine.dispose()
    runs = table(page_app("sources"), "Job")
    assert runs.to_dict("records") == [
        {
            "Job": "crawl:group:web",
            "Due (UTC)": "2026-11-23 08:00",
            "Began (UTC)": "2026-11-23 08:00:00",
            "Minutes": runs["Minutes"].iloc[0],
            "Result": "interrupted",
            "Detail": "crawled 3 pages; stopped, resumes at the next start",
        }
    ]


def test_a_missing_secret_stops_the_start_not_a_run(tmp_path, monkeypatch):
    monkeypatch.delenv("REPWATCH_TEST_NO_SUCH_SECRET", raising=False)
    target = "json://hooks:${REPWATCH_TEST_NO_SUCH_SECRET}@hooks.example.com/repwatch"
    config = _service_config(tmp_path, "https://x.example.com/",
                             ("alerts", "targets", json.dumps([target])))  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "repwatch", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: [alerts] targets: environment variable REPWATCH_TEST_NO_SUCH_SECRET is not set, "
        f"and the target {target!r} needs it. Set REPWATCH_TEST_NO_SUCH_SECRET, or remove the "
        "target."
    )
    assert not (tmp_path / "repwatch.db").exists() or not _job_runs(tmp_path / "repwatch.db")
