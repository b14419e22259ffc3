"""``repwatch digest``: the weekly reputation digest as HTML, PDF, CSV or Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from repwatch.cli.options import config_option, friendly
from repwatch.config import load_config
from repwatch.digest import FORMATS, Format, IsoWeek, write_digest


@click.command("digest")
@config_option
@click.option(
    "--week",
    metavar="YYYY-Www",
    help="ISO week, e.g. 2026-W47 (Monday to Sunday, UTC). Default: the last complete week.",
)
@click.option("--brand", metavar="KEY", help="Only this brand (a [brands] key) and competitors.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="html and pdf have charts; csv has the same numbers for spreadsheets.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="File to write, or a folder for repwatch-digest-WEEK[-BRAND].FORMAT.",
)
@friendly
def digest(config_path: Path, week: str | None, brand: str | None, fmt: str, out: Path) -> None:
    """Write the weekly reputation digest: volume and sentiment per brand against the week
    before and competitors, ratings, topics that changed, the most serious items and
    whether they were answered, items past their deadline, response times, new sources.

    Example: repwatch digest --week 2026-W47 --format pdf --out digest.pdf
    """
    iso = IsoWeek.parse(week) if week is not None else IsoWeek.last_complete()
    config = load_config(config_path)
    path = write_digest(config, iso, cast(Format, fmt), out, brand)
    click.echo(f"Wrote the digest of {iso} to {path}")
