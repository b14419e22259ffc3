"""``repwatch alert``: detect new serious items and spikes, and send them to the targets."""

from __future__ import annotations

from pathlib import Path

import click

from repwatch.cli.options import config_option, friendly
from repwatch.config import load_config
from repwatch.errors import ConfigError
from repwatch.store import open_database, session_scope
from repwatch.store.schema import utcnow

NO_TARGETS = (
    "No alert targets configured. Add Apprise URLs to [alerts] targets in {path}, e.g. "
    'targets = ["mailtos://alerts:${{SMTP_PASSWORD}}@mail.example.com?to=pr@example.com"], '
    "or use --dry-run to see what would be sent."
)


@click.command("alert")
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would be sent; store and send nothing.")
@friendly
def alert(config_path: Path, dry_run: bool) -> None:
    """Send new serious items and spikes of negative mentions to the alert targets.

    Each alert is sent once, all of a run's alerts in one message per target, at most
    [alerts] max_per_hour messages an hour; failed targets are tried again on the next run.
    Exits with status 1 when a target could not be reached.

    Example: repwatch alert --dry-run
    """
    from repwatch.alerts import detect_alerts, record_alerts
    from repwatch.notify import load_targets, send_pending
    from repwatch.store import alerts as store

    config = load_config(config_path)
    now = utcnow()
    # Check the targets first: a missing ${VAR} stops here, before anything is stored.
    if not dry_run and not load_targets(config.settings.alerts):
        raise ConfigError(NO_TARGETS.format(path=config.path))
    engine = open_database(config.database_url)
    try:
        if dry_run:
            with session_scope(engine) as session:
                new = detect_alerts(session, config.settings, now)
                waiting = store.pending_alerts(session)
            click.echo(f"Would send {len(new) + len(waiting)} alerts (dry run, nothing stored):")
            for title in [a.title for a in waiting] + [a.title for a in new]:
                click.echo(f"  {title}")
            return
        record_alerts(engine, config.settings, now)
        report = send_pending(engine, config, now=now)
    finally:
        engine.dispose()
    if report.error:
        raise click.ClickException(report.error)
    click.echo(f"Sent {len(report.sent)} alerts; {report.pending} pending.")
    for sent in report.sent:
        click.echo(f"  {sent.title}")
    for target in report.targets:
        if target.error:
            click.echo(f"  {target.target}: {target.error}", err=True)
    if not report.ok:
        failed = sum(1 for t in report.targets if t.tries and not t.delivered)
        raise click.ClickException(
            f"{failed} target(s) could not be reached; their alerts stay pending and are "
            "tried again on the next run."
        )
