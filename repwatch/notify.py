"""Deliver pending alerts through Apprise: e-mail, Slack, Teams, Mattermost, any JSON webhook.

Each ``[alerts] targets`` entry is one Apprise URL; ``${NAME}`` in it is replaced by the
environment variable ``NAME``, so secrets stay out of ``repwatch.toml``. A run sends each
target ONE message holding every alert that target has not had yet, at most
``max_per_hour`` messages an hour per target, and tries a failing target again with
backoff. What was delivered where is recorded, so nothing is sent twice and what failed
is tried again on the next run. ``send_pending`` never raises: a crawl or a scheduler
calling it goes on whatever happens to the alerts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import apprise
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repwatch.config import Alerts, Config
from repwatch.errors import ConfigError
from repwatch.store import alerts as store
from repwatch.store import session_scope
from repwatch.store.alerts import StoredAlert
from repwatch.store.schema import utcnow

log = logging.getLogger(__name__)

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
RETRIES = 3  # tries after the first one, per target and run
BACKOFF_SECONDS = 2.0  # waits 2, 4, 8 s between tries
MAX_LISTED = 50  # alerts spelled out in one message; the rest are counted
APPRISE_WIKI = "https://github.com/caronc/apprise/wiki"


@dataclass(frozen=True, slots=True)
class Target:
    """One place alerts go. ``url`` holds secrets: log ``name``, never ``url``."""

    id: str  # stable: a hash of the URL as configured, before ${VAR} is filled in
    name: str  # Apprise's URL with secrets masked
    url: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What one target got in one run."""

    target: str  # the masked URL
    alerts: int  # how many alerts its message held (0: nothing to send)
    tries: int
    delivered: bool
    error: str | None = None  # why it failed, or why it was skipped


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``send_pending`` run did."""

    sent: tuple[StoredAlert, ...] = ()  # alerts every target now has
    pending: int = 0  # alerts some target still lacks
    targets: tuple[TargetResult, ...] = ()
    error: str | None = None  # the run could not try at all (config, database)

    @property
    def ok(self) -> bool:
        """Nothing failed: every target tried got its message (rate limits are no failure)."""
        return self.error is None and all(t.delivered or t.tries == 0 for t in self.targets)


def _apprise(url: str) -> apprise.Apprise | None:
    """An Apprise object for one URL, or None when Apprise does not understand the URL."""
    asset = apprise.AppriseAsset(app_id="repwatch", app_desc="repwatch alerts")
    notifier = apprise.Apprise(asset=asset)
    with warnings.catch_warnings():
        # Apprise loads its plugins on first use; its PGP support imports imghdr, which
        # Python 3.11 deprecates (Apprise ships a replacement for 3.13, where it is gone).
        warnings.filterwarnings(
            "ignore", message="'imghdr' is deprecated", category=DeprecationWarning
        )
        if not notifier.add(url):
            return None
    return notifier


def expand(template: str, environ: Mapping[str, str]) -> str:
    """``template`` with each ``${NAME}`` replaced by the environment variable ``NAME``.

    Values go in as they are: URL-encode characters like ``@`` or ``/`` in passwords.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ConfigError(
                f"[alerts] targets: environment variable {name} is not set, and the target "
                f"{template!r} needs it. Set {name}, or remove the target."
            )
        return environ[name]

    return VARIABLE.sub(value, template)


def load_targets(settings: Alerts, environ: Mapping[str, str] | None = None) -> list[Target]:
    """The configured targets, ready to send to; ``ConfigError`` says which one is wrong."""
    env = os.environ if environ is None else environ
    targets = []
    for template in settings.targets:
        url = expand(template, env)
        notifier = _apprise(url)
        if notifier is None:
            raise ConfigError(
                f"[alerts] targets: Apprise does not understand {template!r}. Expected a URL "
                f"like mailtos://user:${{SMTP_PASSWORD}}@mail.example.com?to=pr@example.com "
                f"or json://hooks.example.com/repwatch; see {APPRISE_WIKI}"
            )
        name = str(notifier[0].url(privacy=True))  # type: ignore[no-untyped-call]
        digest = hashlib.sha256(template.encode("utf-8")).hexdigest()[:12]
        targets.append(Target(id=digest, name=name, url=url))
    return targets


def compose(alerts: Sequence[StoredAlert]) -> tuple[str, str]:
    """(title, body) of the one message that carries ``alerts``."""
    spikes = sum(1 for a in alerts if a.kind == "spike")
    items = len(alerts) - spikes
    counted = ((spikes, "spike"), (items, "new serious item"))
    parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in counted if n]
    if len(alerts) == 1:
        title = f"repwatch: {alerts[0].title}"
    else:
        title = f"repwatch: {len(alerts)} alerts ({', '.join(parts)})"
    listed = [f"{a.title}\n{a.body}" for a in alerts[:MAX_LISTED]]
    if len(alerts) > MAX_LISTED:
        listed.append(f"… and {len(alerts) - MAX_LISTED} more: see the triage queue.")
    return title, "\n\n".join(listed)


Sleep = Callable[[float], None]


def deliver(
    target: Target,
    title: str,
    body: str,
    *,
    retries: int = RETRIES,
    backoff: float = BACKOFF_SECONDS,
    sleep: Sleep = time.sleep,
) -> tuple[bool, int, str | None]:
    """Send one message to one target, retrying with backoff: (delivered, tries, error)."""
    error: str | None = None
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        # A fresh Apprise object each try: a used one throttles (up to 5 s for e-mail) on
        # top of this backoff.
        notifier = _apprise(target.url)
        if notifier is None:  # load_targets checked it; the URL cannot have changed since
            return False, attempt, "Apprise does not understand this URL"
        level = logging.WARNING
        capture = apprise.LogCapture(level=level, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as captured:
            delivered = bool(
                notifier.notify(
                    body=body,
                    title=title,
                    notify_type=apprise.NotifyType.WARNING,
                    body_format=apprise.NotifyFormat.TEXT,
                )
            )
        if delivered:
            return True, attempt + 1, None
        # Apprise only says False; the reason is in what it logged.
        lines = [line for line in captured.getvalue().splitlines() if line.strip()]
        error = lines[-1] if lines else "Apprise reported a failure without a reason"
        log.warning("alert delivery to %s failed (try %d): %s", target.name, attempt + 1, error)
    return False, retries + 1, error


def send_pending(
    engine: Engine,
    config: Config,
    *,
    now: datetime | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep = time.sleep,
) -> DeliveryReport:
    """Send every pending alert: one message per target, recorded; never raises.

    A target that failed (after ``retries``, default ``RETRIES``, waiting ``backoff``
    seconds and twice as long each time) or reached ``max_per_hour`` keeps its alerts
    pending for the next run; the others are not sent them again.
    """
    now = now or utcnow()
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    try:
        targets = load_targets(config.settings.alerts)
    except ConfigError as exc:
        log.error("not sending alerts: %s", exc)
        return DeliveryReport(error=str(exc))
    if not targets:
        return DeliveryReport(error="no [alerts] targets configured")
    try:
        return _send(engine, config.settings.alerts, targets, now, retries, backoff, sleep)
    except Exception as exc:  # a broken alert run must not stop the crawl that called it
        log.exception("sending alerts failed")
        return DeliveryReport(error=f"sending alerts failed: {exc}")


class _Run:
    """One run's delivery state: what each pending alert has reached, tried and failed."""

    def __init__(self, pending: list[StoredAlert], targets: list[Target], now: datetime) -> None:
        self.pending = pending
        self.targets = targets
        self.now = now
        self.deliveries = {a.id: dict(a.deliveries) for a in pending}
        self.attempts = {a.id: a.attempts for a in pending}
        self.errors = {a.id: a.last_error for a in pending}
        self.results: list[TargetResult] = []

    def deliver_all(
        self, settings: Alerts, recent: dict[str, int], retries: int, backoff: float, sleep: Sleep
    ) -> None:
        """Send each target one message with the alerts it lacks, unless rate limited."""
        for target in self.targets:
            batch = [a for a in self.pending if target.id not in self.deliveries[a.id]]
            if not batch:
                self.results.append(TargetResult(target.name, 0, 0, True))
                continue
            if recent.get(target.id, 0) >= settings.max_per_hour:
                why = f"rate limited: {settings.max_per_hour} messages in the last hour"
                log.info("not sending %d alerts to %s: %s", len(batch), target.name, why)
                self.results.append(TargetResult(target.name, len(batch), 0, False, why))
                continue
            title, body = compose(batch)
            ok, tries, error = deliver(
                target, title, body, retries=retries, backoff=backoff, sleep=sleep
            )
            self.results.append(TargetResult(target.name, len(batch), tries, ok, error))
            for alert in batch:
                self.attempts[alert.id] += tries
                if ok:
                    self.deliveries[alert.id][target.id] = self.now.isoformat()
                else:
                    self.errors[alert.id] = f"{target.name}: {error}"

    def save(self, session: Session) -> DeliveryReport:
        """Record the run; an alert every target has is sent."""
        wanted = {t.id for t in self.targets}
        sent = []
        for alert in self.pending:
            done = wanted <= self.deliveries[alert.id].keys()
            if done:
                sent.append(alert)
            store.save_delivery(
                session,
                alert.id,
                data=alert.data,
                deliveries=self.deliveries[alert.id],
                attempts=self.attempts[alert.id],
                last_error=self.errors[alert.id],
                sent_at=self.now if done else None,
            )
        if sent:
            log.info("sent %d alerts to %d targets", len(sent), len(self.targets))
        pending = len(self.pending) - len(sent)
        return DeliveryReport(sent=tuple(sent), pending=pending, targets=tuple(self.results))


def _send(
    engine: Engine,
    settings: Alerts,
    targets: list[Target],
    now: datetime,
    retries: int,
    backoff: float,
    sleep: Sleep,
) -> DeliveryReport:
    with session_scope(engine) as session:
        # PostgreSQL: the transaction and its row locks last while the messages go out, so an
        # overlapping run skips these alerts instead of sending them twice. SQLite: a write
        # after a long read would fail if a crawl wrote meanwhile, so read, send, then write.
        hold = session.get_bind().dialect.name == "postgresql"
        pending = store.pending_alerts(session, lock=hold)
        recent = store.messages_since(session, now - timedelta(hours=1))
        run = _Run(pending, targets, now)
        if hold:
            run.deliver_all(settings, recent, retries, backoff, sleep)
            return run.save(session)
    run.deliver_all(settings, recent, retries, backoff, sleep)
    with session_scope(engine) as session:
        return run.save(session)


def run_alerts(engine: Engine, config: Config, *, now: datetime | None = None) -> DeliveryReport:
    """Detect new alerts, store them and send everything pending; never raises.

    For schedulers and crawls: one call, and whatever goes wrong is logged and reported.
    """
    from repwatch.alerts import record_alerts

    try:
        record_alerts(engine, config.settings, now)
    except Exception as exc:  # as in send_pending: never stop the caller
        log.exception("detecting alerts failed")
        return DeliveryReport(error=f"detecting alerts failed: {exc}")
    return send_pending(engine, config, now=now)
