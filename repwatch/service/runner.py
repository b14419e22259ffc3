"""The scheduler behind ``repwatch run``: APScheduler jobs, their records, a clean stop.

Each crawl job crawls its sources in a subprocess (``python -m crawler.run``: Twisted's
reactor runs once per process), then scores, flags and alerts in this process. The
digest job writes and sends the weekly digest. Every run is a ``job_runs`` row.

No overlap: ``max_instances=1`` per job, so a group's crawl never starts while its
previous run is going (the skipped run is recorded as ``skipped``), and the steps after
a crawl (score, flag, alert) run one job at a time.

Missed runs: the job store is in memory and the database is the memory. At start-up,
each job's newest run is compared with its cron: when a fire time passed after that run
started (the server was down), or the run was interrupted or never finished, the job
runs once at once (not once per missed time), then follows its cron. This survives
config edits, unlike a persistent job store, whose pickled jobs go stale when the
schedule changes.

Stopping (SIGTERM): no new runs start, each running crawl subprocess gets one SIGTERM
and stops at a safe point (Scrapy saves its queue in the crawl's JOBDIR; stored
mentions are committed), scoring stops after the current batch, and the interrupted run
is recorded so the next start resumes it.
"""

from __future__ import annotations

import collections
import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import undefined
from sqlalchemy import Engine

from repwatch.config import Config
from repwatch.errors import ConfigError, RepwatchError
from repwatch.notify import load_targets, run_alerts
from repwatch.service.cron import parse_timezone
from repwatch.service.plan import ScheduledJob, plan_jobs
from repwatch.store import job_runs, open_database, session_scope
from repwatch.store.job_runs import JobRunView, JobStatus

log = logging.getLogger(__name__)

ShouldStop = Callable[[], bool]
# Scores unscored mentions, checking ``should_stop`` between batches; returns a summary.
ScoreStep = Callable[[Engine, ShouldStop], str]
STDERR_TAIL = 40  # lines of a crawl's stderr kept for the run record


class Stopped(Exception):
    """Raised inside a step when the service is stopping; the run is ``interrupted``."""


@dataclass(frozen=True, slots=True)
class CrawlOutcome:
    """How a crawl subprocess ended."""

    summary: dict[str, Any] | None  # the crawler's CrawlSummary, when it printed one
    error: str | None = None

    @property
    def interrupted(self) -> bool:
        return bool(self.summary and self.summary.get("interrupted"))

    def describe(self) -> str:
        if self.summary is None:
            return f"crawl failed: {self.error}"
        s = self.summary
        return (
            f"crawled {s['pages']} pages in {s['seconds']:.0f}s: {s['new']} new, "
            f"{s['updated']} updated, {s['unchanged']} unchanged, {s['errors']} errors"
        )


def due_at_start(trigger: CronTrigger, last: JobRunView | None, now: datetime) -> str | None:
    """Why a job must run at once at start-up, or ``None`` when it waits for its cron.

    A job that never ran has missed nothing and waits.
    """
    if last is None:
        return None
    if last.status == "interrupted":
        return "its last run was interrupted; resuming it"
    if last.status == "running":
        return "its last run never finished (the service was killed); running it again"
    missed = trigger.get_next_fire_time(None, last.started_at + timedelta(seconds=1))
    if missed is not None and missed <= now:
        return f"it missed the run due at {missed.isoformat(timespec='minutes')}"
    return None


def fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The cron time a run starting ``now`` is for: the newest fire time in the last minute
    (``None`` for a catch-up run)."""
    latest = None
    fired = trigger.get_next_fire_time(None, now - timedelta(seconds=59))
    while fired is not None and fired <= now:
        latest = fired
        fired = trigger.get_next_fire_time(fired, fired + timedelta(microseconds=1))
    return latest


class Service:
    """The scheduled jobs of one config. ``run(stop)`` blocks until ``stop`` is set."""

    def __init__(
        self, config: Config, *, score: ScoreStep | None, crawl_log_level: str = "WARNING"
    ) -> None:
        self.config = config
        self.score = score
        self.crawl_log_level = crawl_log_level
        self.jobs = plan_jobs(config)
        if not self.jobs:
            raise ConfigError(
                f"Nothing to schedule in {config.path}: add a source under [sources.NAME], "
                'or set [schedule] crawl and digest to cron expressions instead of "off".'
            )
        self.timezone: tzinfo = parse_timezone(config.settings.schedule.timezone)
        load_targets(config.settings.alerts)  # a missing ${VAR} stops the start, not a run
        self.triggers = {job.id: job.cron.trigger(self.timezone) for job in self.jobs}
        self.stop = threading.Event()
        self._children: dict[int, subprocess.Popen[str]] = {}
        self._children_lock = threading.Lock()
        self._pipeline_lock = threading.Lock()  # score, flag, alert: one job at a time
        self.engine: Engine | None = None

    def run(self, stop: threading.Event | None = None) -> None:
        """Schedule the jobs and run them until ``stop`` (or ``self.stop``) is set."""
        if stop is not None:
            self.stop = stop
        self.engine = open_database(self.config.database_url)
        scheduler = BackgroundScheduler(
            timezone=self.timezone,
            executors={"default": ThreadPoolExecutor(len(self.jobs) + 1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        try:
            self._schedule(scheduler)
            scheduler.start()
            while not self.stop.wait(1.0):
                pass
            log.info("stopping: no new runs; running crawls stop at a safe point")
            scheduler.pause()
            self._stop_children()
            scheduler.shutdown(wait=True)
            log.info("stopped")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self.engine.dispose()

    def _schedule(self, scheduler: BackgroundScheduler) -> None:
        assert self.engine is not None
        now = datetime.now(self.timezone)
        with session_scope(self.engine) as session:
            last = job_runs.last_job_runs(session, [job.id for job in self.jobs])
        for job in self.jobs:
            trigger = self.triggers[job.id]
            reason = due_at_start(trigger, last.get(job.id), now)
            scheduler.add_job(
                self._run_job,
                trigger,
                args=[job],
                id=job.id,
                name=job.id,
                next_run_time=now if reason else undefined,
            )
            what = f"sources {', '.join(job.sources)}" if job.sources else "the weekly digest"
            if reason:
                log.info("job %s (%s) runs now: %s", job.id, what, reason)
            else:
                nxt = trigger.get_next_fire_time(None, now)
                log.info("job %s (%s): %r, next run %s", job.id, what, job.cron.expression, nxt)

    def _skipped(self, event: JobSubmissionEvent) -> None:
        """A run that did not start because the job's previous run was still going."""
        assert self.engine is not None
        when = event.scheduled_run_times[-1]
        log.warning("job %s: run due at %s skipped, the previous run is still going",
                    event.job_id, when)  # fmt: skip
        with session_scope(self.engine) as session:
            job_runs.record_skipped_run(
                session, event.job_id, scheduled_for=when, detail="the previous run was going"
            )

    def _run_job(self, job: ScheduledJob) -> None:
        """One run of ``job``, recorded in ``job_runs`` whatever happens."""
        assert self.engine is not None
        if self.stop.is_set():
            return
        scheduled_for = fire_time(self.triggers[job.id], datetime.now(self.timezone))
        with session_scope(self.engine) as session:
            run_id = job_runs.start_job_run(session, job.id, scheduled_for=scheduled_for)
        log.info("job %s: started", job.id)
        status: JobStatus
        try:
            if job.kind == "crawl":
                status, detail = self._crawl_pipeline(job)
            else:
                status, detail = self._digest()
        except Stopped as exc:
            status, detail = "interrupted", str(exc)
        except RepwatchError as exc:
            status, detail = "failed", str(exc)
        except Exception as exc:  # a failing run must not stop the service
            log.exception("job %s failed", job.id)
            status, detail = "failed", f"{type(exc).__name__}: {exc}"
        with session_scope(self.engine) as session:
            job_runs.finish_job_run(session, run_id, status, detail)
        level = logging.INFO if status == "ok" else logging.WARNING
        log.log(level, "job %s: %s: %s", job.id, status, detail)

    def _crawl_pipeline(self, job: ScheduledJob) -> tuple[JobStatus, str]:
        """Crawl ``job``'s sources, then score, flag and alert."""
        assert self.engine is not None
        outcome = self._crawl(job.sources)
        if outcome.interrupted or (outcome.summary is None and self.stop.is_set()):
            return "interrupted", f"{outcome.describe()}; stopped, resumes at the next start"
        if outcome.summary is None:
            return "failed", outcome.describe()
        parts = [outcome.describe()]
        status: JobStatus = "ok"
        with self._pipeline_lock:
            self._check_stop(parts)
            if self.score is not None:
                parts.append(self.score(self.engine, self.stop.is_set))
            self._check_stop(parts)
            from repwatch.triage import flag_new

            settings = self.config.settings
            parts.append(f"flagged {flag_new(self.engine, settings.flagging, settings.deadlines)}")
            self._check_stop(parts)
            report = run_alerts(self.engine, self.config)
        if report.error == "no [alerts] targets configured":
            parts.append("alerts: no targets")
        elif report.error:
            parts.append(f"alerts: {report.error}")
            status = "failed"
        else:
            parts.append(f"alerts: {len(report.sent)} sent, {report.pending} pending")
            if not report.ok:
                status = "failed"
                parts += [f"{t.target}: {t.error}" for t in report.targets if t.error]
        return status, "; ".join(parts)

    def _check_stop(self, parts: list[str]) -> None:
        if self.stop.is_set():
            raise Stopped("; ".join([*parts, "stopped before the rest"]))

    def _digest(self) -> tuple[JobStatus, str]:
        from repwatch.service.digest_job import run_digest

        result = run_digest(self.config)
        return ("failed" if result.failed else "ok"), result.describe()

    def _crawl(self, sources: tuple[str, ...]) -> CrawlOutcome:
        """``python -m crawler.run`` for ``sources``; its stderr goes to ours, as it comes."""
        command = [
            sys.executable, "-m", "crawler.run",
            "--config", str(self.config.path.resolve()),
            "--log-level", self.crawl_log_level,
        ]  # fmt: skip
        for key in sources:
            command += ["--source", key]
        # A session of its own: a terminal's Ctrl-C reaches the service only, which passes
        # one SIGTERM on (a second signal would make Scrapy stop without saving its state).
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        with self._children_lock:
            self._children[proc.pid] = proc
        if self.stop.is_set():  # the stop came while starting it
            proc.send_signal(signal.SIGTERM)
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        relay = threading.Thread(target=_relay, args=(proc, tail), daemon=True)
        relay.start()
        try:
            assert proc.stdout is not None
            with proc.stdout:
                out = proc.stdout.read()
            code = proc.wait()
            relay.join(timeout=10)
        finally:
            with self._children_lock:
                self._children.pop(proc.pid, None)
        lines = out.strip().splitlines()
        if code == 0 and lines:
            try:
                return CrawlOutcome(json.loads(lines[-1]))
            except json.JSONDecodeError:
                pass
        errors = [line.removeprefix("Error: ") for line in tail if line.startswith("Error: ")]
        reason = errors[-1] if errors else (tail[-1] if tail else "no output")
        return CrawlOutcome(None, f"exit status {code}: {reason}")

    def _stop_children(self) -> None:
        with self._children_lock:
            children = list(self._children.values())
        for proc in children:
            if proc.poll() is None:
                log.info("asking crawl process %d to stop", proc.pid)
                proc.send_signal(signal.SIGTERM)


def _relay(proc: subprocess.Popen[str], tail: collections.deque[str]) -> None:
    """Copy a crawl's stderr (its log) to ours, keeping the last lines."""
    assert proc.stderr is not None
    with proc.stderr:
        for line in proc.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
    sys.stderr.flush()
