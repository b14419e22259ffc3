"""``repwatch sources``: the health of every configured source, from its newest crawl run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from repwatch.cli.options import config_option, friendly
from repwatch.config import load_config
from repwatch.store import open_database, session_scope
from repwatch.store.crawl_runs import SourceHealth, source_health

COLUMNS = (
    "SOURCE",
    "KIND",
    "STARTED (UTC)",
    "FINISHED",
    "STATUS",
    "PAGES",
    "NEW",
    "UPDATED",
    "ERRORS",
)
NUMERIC = frozenset({"PAGES", "NEW", "UPDATED"})


def _when(value: datetime | None, start: datetime | None = None) -> str:
    if value is None:
        return "-"
    if start is not None and value.date() == start.date():
        return f"{value:%H:%M:%S}"
    return f"{value:%Y-%m-%d %H:%M}"


def _errors(health: SourceHealth) -> str:
    if not health.errors_by_kind:
        return "-"
    return ", ".join(f"{kind} {n}" for kind, n in sorted(health.errors_by_kind.items()))


def _row(key: str, kind: str, health: SourceHealth | None) -> tuple[str, ...]:
    if health is None or health.status is None:
        return (key, kind, "never crawled", "-", "-", "0", "0", "0", "-")
    return (
        key,
        kind,
        _when(health.started_at),
        _when(health.finished_at, health.started_at),
        health.status,
        str(health.pages),
        str(health.items_new),
        str(health.items_updated),
        _errors(health),
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [
            cell.rjust(w) if COLUMNS[i] in NUMERIC else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


@click.command()
@config_option
@friendly
def sources(config_path: Path) -> None:
    """Show each configured source's newest crawl: when, status, pages, items, errors.

    "failed" means the source gave no page or the crawl broke off; the last error of each
    source is listed below the table. Example: repwatch sources --config /srv/repwatch.toml
    """
    config = load_config(config_path)
    configured = config.settings.sources
    if not configured:
        click.echo(f"No sources in {config.path}; add a [sources.<key>] table.")
        return
    engine = open_database(config.database_url)
    try:
        with session_scope(engine) as session:
            health = {h.key: h for h in source_health(session, list(configured))}
    finally:
        engine.dispose()
    rows = [_row(key, s.kind, health.get(key)) for key, s in sorted(configured.items())]
    for line in _table(rows):
        click.echo(line)
    last = [(key, h) for key, h in sorted(health.items()) if h.last_error is not None]
    if last:
        click.echo("\nLast error of each source:")
    for key, h in last:
        assert h.last_error is not None
        error = h.last_error
        click.echo(f"  {key}: {error.url}: {error.reason} ({error.kind})")
