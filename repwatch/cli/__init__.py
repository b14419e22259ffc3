"""The ``repwatch`` command line.

This package is the only part of ``repwatch`` that imports ``crawler``, ``sentiment`` and
``dashboard``, and only inside commands, so ``repwatch --help`` loads neither Scrapy nor torch.
It is also the only place where ``RepwatchError`` becomes an exit message.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from repwatch import __version__
from repwatch.cli import steps
from repwatch.cli.options import config_option, friendly
from repwatch.config import CONFIG_FILENAME, load_config
from repwatch.config_template import render_config
from repwatch.store import open_database

log = logging.getLogger(__name__)


@click.group()
@click.version_option(__version__, prog_name="repwatch")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens in detail.")
def main(verbose: bool) -> None:
    """repwatch: crawl public reviews and mentions, score them, triage the negative ones.

    Start with `repwatch demo`, or `repwatch init` to watch your own brands.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
@click.option("--force", is_flag=True, help="Overwrite an existing repwatch.toml.")
@friendly
def init(directory: Path, force: bool) -> None:
    """Write a commented repwatch.toml and create the database.

    Example: repwatch init --dir /srv/repwatch
    """
    path = directory / CONFIG_FILENAME
    if path.exists() and not force:
        raise click.ClickException(
            f"{path} already exists. Use --force to overwrite it, or edit it."
        )
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(), encoding="utf-8")
    config = load_config(path)
    open_database(config.database_url).dispose()
    click.echo(f"Wrote {path}. Edit the brands and sources in it, then run: repwatch crawl")


@main.command()
@config_option
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@friendly
def crawl(config_path: Path, sources: tuple[str, ...]) -> None:
    """Crawl the configured sources and store new and edited mentions.

    Re-running is safe: nothing is stored twice. With [crawl] redis_url set, every
    `repwatch crawl` on the same config joins one distributed crawl (README: distributed
    crawling). Example: repwatch crawl --source acme-reviews
    """
    config = load_config(config_path)
    summary = steps.run_crawl(config, list(sources) or None)
    click.echo(
        f"Crawled {summary.pages} pages in {summary.seconds:.1f}s: {summary.new} new, "
        f"{summary.updated} updated, {summary.unchanged} unchanged mentions, "
        f"{summary.errors} errors."
    )
    if summary.errors:
        click.echo("See each source's errors with: repwatch sources")
    if summary.interrupted:
        click.echo("The crawl was interrupted; run the same command again to resume it.")


@main.command()
@config_option
@click.option(
    "--model",
    help='"bundled", a Hugging Face id or a local directory (default: [model] name in config).',
)
@click.option("--limit", type=click.IntRange(min=1), help="Score at most this many mentions.")
@friendly
def score(config_path: Path, model: str | None, limit: int | None) -> None:
    """Score the sentiment of every mention not yet scored by the model.

    The default model, "bundled", works offline. Example: repwatch score --model ./models/my-model
    """
    config = load_config(config_path)
    summary = steps.run_score(config, model=model, limit=limit)
    click.echo(f"Scored {summary.scored} mentions ({summary.per_second:.1f}/s).")


@main.command()
@config_option
@friendly
def flag(config_path: Path) -> None:
    """Put negative mentions in the triage queue with a priority and a deadline.

    Example: repwatch flag
    """
    config = load_config(config_path)
    added = steps.run_flag(config)
    click.echo(f"Flagged {added} new items.")


@main.command()
@config_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@friendly
def dashboard(config_path: Path, port: int, host: str) -> None:
    """Open the triage dashboard in the browser.

    Example: repwatch dashboard --port 8600
    """
    config = load_config(config_path)
    open_database(config.database_url).dispose()
    from dashboard.launch import run_dashboard

    click.echo(f"Dashboard on http://{host}:{port} (Ctrl-C to stop)")
    sys.exit(run_dashboard(config.path.resolve(), port=port, host=host))


# Registered last: these modules use the helpers above.
from repwatch.cli.alerts import alert  # noqa: E402
from repwatch.cli.demo import demo  # noqa: E402
from repwatch.cli.digest import digest  # noqa: E402
from repwatch.cli.doctor import doctor  # noqa: E402
from repwatch.cli.models import models  # noqa: E402
from repwatch.cli.run import run  # noqa: E402
from repwatch.cli.sources import sources  # noqa: E402
from repwatch.cli.users import users  # noqa: E402

main.add_command(demo)
main.add_command(doctor)
main.add_command(models)
main.add_command(sources)
main.add_command(users)
main.add_command(run)
main.add_command(alert)
main.add_command(digest)
