"""The jobs of ``repwatch run``, from ``[schedule]`` and the sources' ``schedule`` keys.

Every source is crawled by exactly one job: its group's (``crawl:group:NAME``), its own
(``crawl:source:KEY``, when it has a ``schedule`` key), or the default ``crawl`` job of
all the other sources. ``digest`` writes the weekly digest. A job whose cron is ``off``
is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from repwatch.config import Config
from repwatch.service.cron import Cron, parse_cron

JobKind = Literal["crawl", "digest"]
DEFAULT_CRAWL_JOB = "crawl"
DIGEST_JOB = "digest"


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """One job: what it does, when, and for crawls which sources."""

    id: str
    kind: JobKind
    cron: Cron
    sources: tuple[str, ...] = ()


def plan_jobs(config: Config) -> list[ScheduledJob]:
    """The jobs ``config`` schedules, crawls first (the config was validated on loading)."""
    settings = config.settings
    schedule = settings.schedule
    jobs: list[ScheduledJob] = []
    grouped: set[str] = set()

    def add(job_id: str, kind: JobKind, expression: str, sources: tuple[str, ...] = ()) -> None:
        cron = parse_cron(expression)
        if cron is not None and (kind == "digest" or sources):
            jobs.append(ScheduledJob(job_id, kind, cron, sources))

    for name, group in sorted(schedule.groups.items()):
        add(f"crawl:group:{name}", "crawl", group.crawl or schedule.crawl, tuple(group.sources))
        grouped.update(group.sources)
    for key, source in sorted(settings.sources.items()):
        if source.schedule is not None and key not in grouped:
            add(f"crawl:source:{key}", "crawl", source.schedule, (key,))
            grouped.add(key)
    rest = tuple(sorted(k for k in settings.sources if k not in grouped))
    add(DEFAULT_CRAWL_JOB, "crawl", schedule.crawl, rest)
    add(DIGEST_JOB, "digest", schedule.digest)
    return jobs
