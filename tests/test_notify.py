"""Delivering alerts through Apprise to a real SMTP server and a real webhook receiver.

The SMTP server is aiosmtpd on 127.0.0.1 (with a password, as mail relays have); the
webhook receiver is a ThreadingHTTPServer. Both are started by the tests.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from sqlalchemy import Engine

from repwatch.cli import main
from repwatch.config import Alerts, Brand, Config, Settings
from repwatch.errors import ConfigError
from repwatch.notify import DeliveryReport, load_targets, run_alerts, send_pending
from repwatch.records import MentionRecord
from repwatch.store import alerts as store
from repwatch.store import open_database, queries, session_scope
from repwatch.store.alerts import Alert
from repwatch.store.db import create_db_engine
from repwatch.store.schema import utcnow
from repwatch.triage import flag_new
from tests.conftest import write_config

SMTP_USER, SMTP_PASSWORD = "repwatch", "s3cret-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not session.authenticated:
            return "530 Authentication required"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _check_password(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # let the server answer 535 on failure


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    """A plain SMTP server with AUTH on 127.0.0.1:port (no TLS, as on a test network)."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_check_password,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    port = free_port()
    with smtp_server(port) as inbox:
        yield inbox, port


def mail_url(port: int, password: str = SMTP_PASSWORD) -> str:
    # mailto:// is plain SMTP (mailtos:// would be TLS); format=text keeps the body as is.
    return (
        f"mailto://{SMTP_USER}:{password}@127.0.0.1:{port}"
        "?to=pr@example.com&from=repwatch@example.com&format=text"
    )


@dataclass
class Receiver:
    """Requests a webhook target received; ``status`` is what it answers."""

    url: str
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.posts.append((self.path, json.loads(body)))
            time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"json://127.0.0.1:{server.server_port}/hooks/repwatch"
    yield receiver
    server.shutdown()
    server.server_close()


def make_config(tmp_path: Path, targets: list[str], **alerts: Any) -> Config:
    settings = Settings(
        brands={"kestrel": Brand(name="Kestrel Home")},
        alerts=Alerts(targets=targets, **alerts),
    )
    return Config(settings, tmp_path / "repwatch.toml")


def add(engine: Engine, *alerts: Alert, at: Any = None) -> None:
    with session_scope(engine) as s:
        store.add_alerts(s, list(alerts), created_at=at or utcnow())


ITEM = Alert("item:1", "item", "Priority 90: Kestrel Home on shop", "“Broke at once”")
ITEM2 = Alert("item:2", "item", "Priority 80: Kestrel Home on shop", "“Rude staff”")
SPIKE = Alert("spike:brand:kestrel:2026-11-23T10", "spike", "Spike: 40 negative", "Usually 5.")


def stored(engine: Engine) -> dict[str, store.StoredAlert]:
    with session_scope(engine) as s:
        pending = store.pending_alerts(s)
        done = store.alerts_after(s, utcnow() - timedelta(days=400))
    return {a.key: a for a in [*done, *pending]}


# --- e-mail ------------------------------------------------------------------------------


def test_one_message_per_run_holds_every_pending_alert_and_is_sent_once(engine, smtp, tmp_path):
    inbox, port = smtp
    config = make_config(tmp_path, [mail_url(port)])
    add(engine, ITEM, ITEM2, SPIKE)

    report = send_pending(engine, config)
    again = send_pending(engine, config)

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "repwatch: 3 alerts (1 spike, 2 new serious items)"
    assert message["To"] == "pr@example.com"
    body = message.get_content()
    for alert in (ITEM, ITEM2, SPIKE):
        assert f"{alert.title}\n{alert.body}" in body.replace("\r\n", "\n")
    assert report.ok
    assert sorted(a.key for a in report.sent) == sorted(a.key for a in (ITEM, ITEM2, SPIKE))
    assert report.pending == 0
    assert again.sent == ()
    rows = stored(engine)
    assert all(a.sent_at is not None and a.attempts == 1 for a in rows.values())
    assert {a.last_error for a in rows.values()} == {None}


def test_unreachable_server_keeps_alerts_pending_then_a_later_run_sends_them(
    engine, tmp_path, caplog
):
    port = free_port()  # nothing listens here yet
    config = make_config(tmp_path, [mail_url(port)])
    add(engine, ITEM)
    waits: list[float] = []

    failed = send_pending(engine, config, retries=2, backoff=0.5, sleep=waits.append)

    assert not failed.ok
    assert failed.sent == ()
    assert failed.pending == 1
    (target,) = failed.targets
    assert (target.tries, target.delivered) == (3, False)
    assert waits == [0.5, 1.0]  # backoff doubles
    row = stored(engine)["item:1"]
    assert (row.sent_at, row.attempts) == (None, 3)
    assert row.last_error is not None
    assert row.last_error.startswith(f"mailto://{SMTP_USER}:")
    assert "127.0.0.1" in row.last_error
    assert SMTP_PASSWORD not in row.last_error + caplog.text + repr(failed)

    with smtp_server(port) as inbox:
        later = send_pending(engine, config, retries=2, backoff=0.5, sleep=waits.append)

    assert later.ok
    assert [a.key for a in later.sent] == ["item:1"]
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == f"repwatch: {ITEM.title}"
    assert stored(engine)["item:1"].attempts == 4


def test_wrong_password_is_a_failure_with_the_reason(sqlite_engine, smtp, tmp_path):
    inbox, port = smtp
    config = make_config(tmp_path, [mail_url(port, password="wrong")])
    add(sqlite_engine, ITEM)
    report = send_pending(sqlite_engine, config, retries=0)
    assert not report.ok
    assert report.targets[0].error == 'Connection error while submitting email to "127.0.0.1"'
    assert inbox.messages == []
    assert stored(sqlite_engine)["item:1"].sent_at is None


def test_secrets_come_from_the_environment(sqlite_engine, smtp, tmp_path, monkeypatch):
    inbox, port = smtp
    monkeypatch.setenv("REPWATCH_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    config = make_config(tmp_path, [mail_url(port, password="${REPWATCH_TEST_SMTP_PASSWORD}")])
    add(sqlite_engine, ITEM)
    report = send_pending(sqlite_engine, config)
    assert report.ok
    assert len(inbox.messages) == 1
    (target,) = load_targets(config.settings.alerts)
    assert SMTP_PASSWORD in target.url
    assert SMTP_PASSWORD not in target.name


def test_a_missing_variable_is_named_and_nothing_raises(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.delenv("REPWATCH_TEST_HOOK_TOKEN", raising=False)
    template = "json://127.0.0.1:9/hooks/${REPWATCH_TEST_HOOK_TOKEN}"
    config = make_config(tmp_path, [template])
    add(sqlite_engine, ITEM)
    expected = (
        "[alerts] targets: environment variable REPWATCH_TEST_HOOK_TOKEN is not set, and the "
        f"target {template!r} needs it. Set REPWATCH_TEST_HOOK_TOKEN, or remove the target."
    )
    with pytest.raises(ConfigError) as exc:
        load_targets(config.settings.alerts)
    assert str(exc.value) == expected
    report = send_pending(sqlite_engine, config)  # never raises into a crawl
    assert report == DeliveryReport(error=expected)
    assert stored(sqlite_engine)["item:1"].sent_at is None


def test_a_url_apprise_does_not_know_is_a_config_error(tmp_path):
    config = make_config(tmp_path, ["nosuchservice://example.com"])
    with pytest.raises(ConfigError, match=r"Apprise does not understand 'nosuchservice://"):
        load_targets(config.settings.alerts)


def test_a_broken_database_is_reported_not_raised(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="repwatch.notify")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    config = make_config(tmp_path, ["json://127.0.0.1:9/hook"])
    report = send_pending(engine, config)
    engine.dispose()
    assert report.error is not None
    assert report.error.startswith("sending alerts failed: ")
    assert "sending alerts failed" in caplog.text


# --- webhooks ----------------------------------------------------------------------------


def test_json_webhook_gets_title_and_body(sqlite_engine, webhook, tmp_path):
    config = make_config(tmp_path, [webhook.url])
    add(sqlite_engine, ITEM, SPIKE)
    report = send_pending(sqlite_engine, config)
    assert report.ok
    assert len(webhook.posts) == 1
    path, body = webhook.posts[0]
    assert path == "/hooks/repwatch"
    assert body["title"] == "repwatch: 2 alerts (1 spike, 1 new serious item)"
    assert body["message"] == f"{ITEM.title}\n{ITEM.body}\n\n{SPIKE.title}\n{SPIKE.body}"
    assert body["type"] == "warning"


def test_a_failing_target_gets_its_alerts_later_the_others_only_once(
    engine, smtp, webhook, tmp_path
):
    inbox, port = smtp
    config = make_config(tmp_path, [mail_url(port), webhook.url])
    add(engine, ITEM)
    webhook.status = 500

    first = send_pending(engine, config, retries=1, backoff=0)
    assert not first.ok
    assert (len(inbox.messages), len(webhook.posts)) == (1, 2)  # mail sent, hook tried twice
    assert stored(engine)["item:1"].sent_at is None  # the webhook still lacks it

    webhook.status = 200
    second = send_pending(engine, config, retries=1, backoff=0)
    assert second.ok
    assert [a.key for a in second.sent] == ["item:1"]
    assert (len(inbox.messages), len(webhook.posts)) == (1, 3)  # no second e-mail
    assert stored(engine)["item:1"].attempts == 1 + 2 + 1


def test_overlapping_runs_on_postgresql_send_once(pg_url, webhook, tmp_path):
    """The first run holds its alerts (row locks) while sending; the second skips them."""
    engine = open_database(pg_url)
    config = make_config(tmp_path, [webhook.url])
    add(engine, ITEM)
    webhook.delay = 1.0
    reports: list[DeliveryReport] = []
    first = threading.Thread(target=lambda: reports.append(send_pending(engine, config)))
    first.start()
    deadline = time.monotonic() + 10
    while not webhook.posts and time.monotonic() < deadline:  # the first run is sending
        time.sleep(0.01)
    second = send_pending(engine, config)
    first.join(10)
    engine.dispose()
    assert len(webhook.posts) == 1
    assert second.sent == ()
    assert second.pending == 0
    assert [a.key for a in reports[0].sent] == ["item:1"]


# --- rate limit --------------------------------------------------------------------------


def test_at_most_max_per_hour_messages_then_the_rest_waits(engine, webhook, tmp_path):
    config = make_config(tmp_path, [webhook.url], max_per_hour=1)
    now = utcnow()
    add(engine, ITEM, at=now)
    first = send_pending(engine, config, now=now)
    add(engine, ITEM2, at=now)

    limited = send_pending(engine, config, now=now + timedelta(minutes=30))
    an_hour_on = send_pending(engine, config, now=now + timedelta(minutes=61))

    assert [a.key for a in first.sent] == ["item:1"]
    assert limited.sent == ()
    assert limited.pending == 1
    assert limited.ok  # waiting is no failure
    assert limited.targets[0].error == "rate limited: 1 messages in the last hour"
    assert [a.key for a in an_hour_on.sent] == ["item:2"]
    assert [body["title"] for _, body in webhook.posts] == [
        f"repwatch: {ITEM.title}",
        f"repwatch: {ITEM2.title}",
    ]


# --- end to end: detect, store, send ------------------------------------------------------


def _negative_review(engine: Engine) -> None:
    with session_scope(engine) as s:
        queries.ensure_source(
            s, key="shop", kind="reviews", brand="kestrel", url="https://shop.example"
        )
        queries.upsert_mentions(
            s,
            [
                MentionRecord(
                    source="shop",
                    brand="kestrel",
                    url="https://shop.example/r/1",
                    external_id="r1",
                    text="Arrived broken and nobody answers.",
                    rating=0.0,
                    published_at=utcnow() - timedelta(hours=1),
                )
            ],
        )


def test_run_alerts_detects_and_sends(sqlite_engine, smtp, tmp_path):
    inbox, port = smtp
    config = make_config(tmp_path, [mail_url(port)])
    _negative_review(sqlite_engine)
    flag_new(sqlite_engine, config.settings.flagging, config.settings.deadlines)

    report = run_alerts(sqlite_engine, config)

    assert [a.key for a in report.sent] == ["item:1"]
    assert inbox.messages[0]["Subject"].startswith("repwatch: Priority ")
    assert "Arrived broken and nobody answers." in inbox.messages[0].get_content()


def _cli_config(tmp_path: Path, targets: list[str]) -> Path:
    config = write_config(tmp_path)
    text = config.path.read_text(encoding="utf-8")
    line = '# targets = ["json://hooks.example.com/repwatch"]'
    assert line in text
    config.path.write_text(text.replace(line, f"targets = {json.dumps(targets)}"), "utf-8")
    engine = open_database(config.database_url)
    _negative_review(engine)
    flag_new(engine, config.settings.flagging, config.settings.deadlines)
    engine.dispose()
    return config.path


def test_cli_alert_sends_once_and_says_what(smtp, tmp_path, monkeypatch):
    monkeypatch.delenv("REPWATCH_DATABASE_URL", raising=False)
    inbox, port = smtp
    path = _cli_config(tmp_path, [mail_url(port)])
    runner = CliRunner()

    dry = runner.invoke(main, ["alert", "--config", str(path), "--dry-run"])
    first = runner.invoke(main, ["alert", "--config", str(path)])
    second = runner.invoke(main, ["alert", "--config", str(path)])

    assert dry.exit_code == 0, dry.output
    engine = open_database(f"sqlite:///{tmp_path / 'repwatch.db'}")
    with session_scope(engine) as s:
        assert store.pending_alerts(s) == []  # the dry run stored nothing
    engine.dispose()
    assert dry.output.startswith("Would send 1 alerts (dry run, nothing stored):\n  Priority ")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Sent 1 alerts; 0 pending.\n  Priority ")
    assert "Kestrel Home on shop, 1/5 stars" in first.output
    assert second.exit_code == 0, second.output
    assert second.output == "Sent 0 alerts; 0 pending.\n"
    assert len(inbox.messages) == 1


def test_cli_alert_without_targets_or_with_a_dead_one_exits_1(tmp_path, monkeypatch):
    monkeypatch.delenv("REPWATCH_DATABASE_URL", raising=False)
    monkeypatch.setattr("repwatch.notify.BACKOFF_SECONDS", 0.01)
    runner = CliRunner()
    none = write_config(tmp_path / "none").path
    result = runner.invoke(main, ["alert", "--config", str(none)])
    assert result.exit_code == 1
    assert "No alert targets configured. Add Apprise URLs to [alerts] targets in" in result.output

    dead = _cli_config(tmp_path / "dead", [f"json://127.0.0.1:{free_port()}/hook"])
    result = runner.invoke(main, ["alert", "--config", str(dead)])
    assert result.exit_code == 1
    assert "Sent 0 alerts; 1 pending." in result.output
    assert "1 target(s) could not be reached; their alerts stay pending" in result.output
