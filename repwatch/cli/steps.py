"""The pipeline steps behind the commands: crawl, score, flag, with progress on a terminal."""

from __future__ import annotations

import sys
from typing import Any

import click

from repwatch.config import Config
from repwatch.errors import ModelInvalid, ModelMissing
from repwatch.records import Counts
from repwatch.store import open_database, queries, session_scope


def run_crawl(config: Config, sources: list[str] | None = None) -> Any:
    """Crawl with a progress line on a terminal; returns the crawler's summary."""
    from crawler.run import crawl as crawl_sources

    tty = sys.stderr.isatty()

    def progress(p: Any) -> None:
        if tty:
            click.echo(f"\rcrawled {p.pages} pages, {p.items} reviews", nl=False, err=True)

    summary = crawl_sources(config, sources, progress=progress)
    if tty:
        click.echo(err=True)
    return summary


def run_languages(config: Config) -> int:
    """Detect the language of mentions that have none yet; returns how many got one."""
    from sentiment.language import DEFAULT_LANGUAGES, LanguageDetector
    from sentiment.languages_step import detect_languages

    detector = LanguageDetector(tuple(config.settings.model.languages) or DEFAULT_LANGUAGES)
    engine = open_database(config.database_url)
    try:
        with click.progressbar(
            length=1, label="languages", hidden=not sys.stderr.isatty(), file=sys.stderr
        ) as bar:

            def progress(done: int, total: int, seconds: float) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            return detect_languages(engine, detector, progress=progress)
    finally:
        engine.dispose()


def run_score(config: Config, *, model: str | None = None, limit: int | None = None) -> Any:
    """Load the model, detect languages, then score unscored mentions, with progress bars.

    The model is loaded first: a missing or broken one stops the run before anything stored
    is touched.
    """
    from sentiment.load import load_scorer
    from sentiment.score import score_unscored
    from sentiment.topics import detector_for_model

    settings = config.settings.model
    scorer = load_scorer(
        model or settings.name,
        model_dir=config.model_dir,
        revision=settings.revision,
        batch_size=settings.batch_size,
    )
    run_languages(config)
    engine = open_database(config.database_url)
    try:
        with click.progressbar(
            length=1, label="scoring", hidden=not sys.stderr.isatty(), file=sys.stderr
        ) as bar:

            def progress(done: int, total: int, seconds: float) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)
                bar.label = f"scoring ({done / seconds if seconds else 0:.0f}/s)"

            return score_unscored(
                engine,
                scorer,
                batch_size=settings.batch_size,
                limit=limit,
                progress=progress,
                topics=detector_for_model(config.settings.topics, scorer),
            )
    finally:
        engine.dispose()


def run_flag(config: Config) -> int:
    from repwatch.triage import flag_new

    engine = open_database(config.database_url)
    try:
        return flag_new(engine, config.settings.flagging, config.settings.deadlines)
    finally:
        engine.dispose()


def database_counts(config: Config) -> Counts:
    engine = open_database(config.database_url)
    try:
        with session_scope(engine) as session:
            return queries.counts(session)
    finally:
        engine.dispose()


def score_or_explain(config: Config) -> bool:
    """Score (offline with the bundled default); if a configured model is missing, say why."""
    try:
        run_score(config)
    except (ModelMissing, ModelInvalid) as exc:
        click.secho(f"Not scoring: {exc}", fg="yellow", err=True)
        click.echo("Flagging by star ratings only.", err=True)
        return False
    return True


def demo_user(config: Config) -> tuple[str, str]:
    """The demo's admin account, with a fresh password: (username, password)."""
    from repwatch.auth import ensure_demo_user

    engine = open_database(config.database_url)
    try:
        return ensure_demo_user(engine)
    finally:
        engine.dispose()
