"""``repwatch doctor``: check config, database and model, and say what to fix."""

from __future__ import annotations

from pathlib import Path

import click

from repwatch.cli.options import config_option
from repwatch.config import Config, load_config
from repwatch.errors import RepwatchError
from repwatch.store import open_database, queries, session_scope


def _ok(what: str, detail: str) -> None:
    click.echo(f"{click.style('ok', fg='green')}    {what}: {detail}")


def _fail(what: str, detail: str) -> None:
    click.echo(f"{click.style('FAIL', fg='red')}  {what}: {detail}")


def _check_database(config: Config) -> bool:
    try:
        engine = open_database(config.database_url)
    except RepwatchError as exc:
        _fail("database", str(exc))
        return False
    with session_scope(engine) as session:
        counts = queries.counts(session)
    engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    _ok("database", f"{where} ({counts.mentions} mentions, {counts.open_items} open items)")
    return True


def _check_model(config: Config) -> bool:
    from sentiment.load import load_scorer

    settings = config.settings.model
    try:
        scorer = load_scorer(settings.name, model_dir=config.model_dir, revision=settings.revision)
    except RepwatchError as exc:
        _fail("model", str(exc))
        return False
    from sentiment.bundled import BundledScorer

    kind = "bundled offline model" if isinstance(scorer, BundledScorer) else "Hugging Face model"
    _ok("model", f"{scorer.model_name} (revision {scorer.revision}; {kind})")
    return True


@click.command()
@config_option
def doctor(config_path: Path) -> None:
    """Check the config, the database and the sentiment model; say what to fix.

    Exits with status 1 when something needs fixing. Example: repwatch doctor --config x.toml
    """
    try:
        config = load_config(config_path)
    except RepwatchError as exc:
        _fail("config", str(exc))
        raise SystemExit(1) from exc
    settings = config.settings
    _ok("config", f"{config.path} ({len(settings.brands)} brands, {len(settings.sources)} sources)")
    healthy = _check_database(config)
    if not settings.sources:
        _fail("sources", "none configured; add a [sources.<key>] table to the config")
        healthy = False
    healthy = _check_model(config) and healthy
    if not healthy:
        raise SystemExit(1)
    click.echo("All checks passed.")
