"""``repwatch run``: the long-running service that works through ``[schedule]``."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from repwatch.cli.options import config_option, friendly
from repwatch.config import Config, load_config
from repwatch.errors import ModelInvalid, ModelMissing
from repwatch.service.runner import Service, ShouldStop, Stopped

log = logging.getLogger(__name__)


class ScoringStep:
    """Languages, then sentiment and topics, of the mentions a crawl stored; the model loads once.

    A missing model is no reason to stop the service: the run says why nothing was
    scored (flagging then goes by star ratings) and the next run tries to load it again.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.scorer: Any = None
        self.topics: Any = None

    def __call__(self, engine: Engine, should_stop: ShouldStop) -> str:
        from sentiment.language import DEFAULT_LANGUAGES, LanguageDetector
        from sentiment.languages_step import detect_languages
        from sentiment.load import load_scorer
        from sentiment.score import score_unscored
        from sentiment.topics import detector_for_model

        def check(done: int, total: int, seconds: float) -> None:
            if should_stop():  # after a committed batch: a safe point
                raise Stopped(f"stopped while scoring ({done} of {total} done)")

        settings = self.config.settings.model
        detector = LanguageDetector(tuple(settings.languages) or DEFAULT_LANGUAGES)
        detect_languages(engine, detector, progress=check)
        if self.scorer is None:
            try:
                self.scorer = load_scorer(
                    settings.name,
                    model_dir=self.config.model_dir,
                    revision=settings.revision,
                    batch_size=settings.batch_size,
                )
            except (ModelMissing, ModelInvalid) as exc:
                log.warning("not scoring: %s", exc)
                return f"not scored: {exc}"
        if self.topics is None:
            self.topics = detector_for_model(self.config.settings.topics, self.scorer)
        summary = score_unscored(
            engine,
            self.scorer,
            batch_size=settings.batch_size,
            progress=check,
            topics=self.topics,
        )
        return f"scored {summary.scored}"


@click.command("run")
@config_option
@friendly
def run(config_path: Path) -> None:
    """Run the schedule of [schedule] in repwatch.toml until stopped (SIGTERM or Ctrl-C).

    Each crawl job crawls its sources, then scores, flags and sends alerts; the digest
    job writes the weekly digest to digest_dir and sends it to the alert targets. A run
    missed while the service was down runs once at start-up; an interrupted crawl
    resumes. Every run is listed on the dashboard's Sources page.

    Example: repwatch run --config /srv/repwatch/repwatch.toml
    """
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    # A service says what it runs and when, even without --verbose.
    logging.getLogger("repwatch.service").setLevel(logging.INFO)
    config = load_config(config_path)
    service = Service(
        config, score=ScoringStep(config), crawl_log_level="INFO" if verbose else "WARNING"
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.warning("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo(f"repwatch run: {len(service.jobs)} jobs from {config.path}; SIGTERM stops it.")
    service.run(stop)
