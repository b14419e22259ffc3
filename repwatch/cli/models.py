"""``repwatch models``: download hub models, and (re)train the bundled offline model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from repwatch.cli.options import config_option, friendly
from repwatch.config import load_config

if TYPE_CHECKING:
    from repwatch.config import Config
    from sentiment.corpus_io import LabelledText
    from sentiment.topics import TopicExample


@click.group()
def models() -> None:
    """Manage sentiment models on this machine."""


@models.command("pull")
@click.argument("model_id")
@config_option
@click.option("--revision", help="Branch, tag or commit of the model.")
@friendly
def models_pull(model_id: str, config_path: Path, revision: str | None) -> None:
    """Download a Hugging Face model into the model directory, for offline servers.

    Example: repwatch models pull lxyuan/distilbert-base-multilingual-cased-sentiments-student
    """
    from sentiment.pull import pull_model

    model_dir = load_config(config_path).model_dir if config_path.exists() else Path("models")
    path = pull_model(model_id, model_dir, revision)
    click.echo(f"Stored {model_id} in {path}")


@models.command("train")
@config_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the model (default: the shipped model, or with --with-corrections "
    "<model dir>/bundled-corrections).",
)
@click.option("--seed", type=int, help="Random seed (default: the one the shipped model uses).")
@click.option(
    "--with-corrections",
    is_flag=True,
    help="Add the sentiment and topic corrections staff made in the dashboard.",
)
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Training corpus directory of <lang>.jsonl files (default: the built-in corpus).",
)
@friendly
def models_train(
    config_path: Path,
    out: Path | None,
    seed: int | None,
    with_corrections: bool,
    corpus_dir: Path | None,
) -> None:
    """Rebuild the bundled offline model from the corpus, reproducibly (same seed, same bytes).

    With --with-corrections, also learn from the team's dashboard corrections (sentiment, and
    topics, which are saved beside the model as topics.jsonl): the model goes into the model
    directory (the shipped one is left alone), with before/after quality on a held-out split.
    Select it with [model] name = "bundled-corrections".

    Examples: repwatch models train --out /tmp/model; repwatch models train --with-corrections
    """
    from sentiment.bundled import BUNDLED_DIR, revision_of
    from sentiment.corpus_io import CORPUS_DIR, read_corpus
    from sentiment.train import CORRECTED_NAME, DEFAULT_SEED, train_bundled

    corpus = read_corpus(corpus_dir or CORPUS_DIR)
    corrections: list[LabelledText] = []
    topic_fixes: list[TopicExample] = []
    name = "bundled"
    if with_corrections:
        config = load_config(config_path)
        corrections, topic_fixes = _corrections(config.database_url)
        if not corrections and not topic_fixes:
            raise click.ClickException(
                "No sentiment or topic corrections in the database yet. Correct some "
                "mentions in the dashboard, then run this again."
            )
        out = out or config.model_dir / CORRECTED_NAME
        name = CORRECTED_NAME
    out = out or BUNDLED_DIR
    click.echo(
        f"Training on {len(corpus)} corpus examples"
        + (f" and {len(corrections)} corrections" if corrections else "")
        + " ..."
    )
    try:
        report = train_bundled(
            corpus,
            out,
            seed=DEFAULT_SEED if seed is None else seed,
            corrections=corrections,
            name=name,
        )
    except OSError as exc:  # e.g. a read-only install: the shipped model cannot change
        raise click.ClickException(
            f"Cannot write the model to {out}: {exc.strerror or exc}. Pass --out DIR."
        ) from exc
    if report.before and report.after:
        click.echo("Held-out split (corpus and corrections):")
        click.echo(f"  before (corpus only):        {report.before.line()}")
        click.echo(f"  after (with corrections):    {report.after.line()}")
    if report.before_corrections and report.after_corrections:
        click.echo("Held-out corrections only:")
        click.echo(f"  before: {report.before_corrections.line()}")
        click.echo(f"  after:  {report.after_corrections.line()}")
    revision = report.revision
    if with_corrections:
        _train_topics(config, out, topic_fixes)
        revision = revision_of(out)  # the topic corrections are part of the model
    click.echo(f"Wrote {name} (revision {revision}) to {out}")
    if with_corrections:
        click.echo(
            f'Use it with [model] name = "{CORRECTED_NAME}" in the config, then: repwatch score'
        )


def _train_topics(config: Config, out: Path, fixes: list[TopicExample]) -> None:
    """Save the topic corrections beside the model; print before/after on held-out ones."""
    from sentiment.bundled import TOPICS_FILE
    from sentiment.topics import build_detector, topic_f1, write_topic_examples
    from sentiment.train import is_held_out

    out.mkdir(parents=True, exist_ok=True)
    path = out / TOPICS_FILE
    if not fixes:
        path.unlink(missing_ok=True)  # from an earlier run: the team has no topic labels now
        return
    held = [e for e in fixes if is_held_out(e.text)]
    if held:
        rest = [e for e in fixes if not is_held_out(e.text)]
        before = build_detector(config.settings.topics)
        after = build_detector(config.settings.topics, extra=rest)
        if before is not None and after is not None:
            old, new = topic_f1(before, held), topic_f1(after, held)
            click.echo(f"Topics, held-out corrections ({len(held)} mentions): "
                       f"micro-F1 before {old:.3f}, after {new:.3f}")  # fmt: skip
    write_topic_examples(path, fixes)
    click.echo(f"Saved {len(fixes)} topic-corrected mentions to {path}")


def _corrections(database_url: str) -> tuple[list[LabelledText], list[TopicExample]]:
    """The dashboard's sentiment and topic corrections as training examples."""
    from repwatch.store import open_database, session_scope
    from repwatch.store.corrections import sentiment_corrections, topic_corrections
    from sentiment.corpus_io import LabelledText
    from sentiment.score import text_to_score
    from sentiment.topics import TopicExample

    engine = open_database(database_url)
    try:
        with session_scope(engine) as session:
            rows = sentiment_corrections(session)
            topic_rows = topic_corrections(session)
    finally:
        engine.dispose()
    topics = [
        TopicExample(text_to_score(r.mention), r.topics, r.mention.language) for r in topic_rows
    ]
    return [
        LabelledText(
            lang=r.mention.language or "unknown",
            text=text_to_score(r.mention),
            label=r.label,
            origin="correction",
        )
        for r in rows
    ], topics
