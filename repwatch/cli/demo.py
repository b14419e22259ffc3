"""``repwatch demo``: the whole pipeline on a bundled demo review site, in one command."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from repwatch.cli import steps
from repwatch.cli.options import friendly
from repwatch.config import CONFIG_FILENAME, Config, load_config
from repwatch.config_template import BrandEntry, SourceEntry, render_config
from repwatch.demo import BRANDS, DemoSite
from repwatch.errors import RepwatchError

DEMO_MARKER = "# repwatch demo configuration, written by `repwatch demo`."
DEMO_SITE_PORT = 8765
DEMO_BRANDS = (
    BrandEntry("kestrel", BRANDS["kestrel"], ("Kestrel", "kestrel.example")),
    BrandEntry("nimbus", BRANDS["nimbus"], ("Nimbus",), competitor=True),
)


def write_demo_config(directory: Path, site_url: str) -> Config:
    """Write (or refresh) the demo's repwatch.toml pointing at the demo site."""
    path = directory / CONFIG_FILENAME
    if path.exists() and not path.read_text(encoding="utf-8").startswith(DEMO_MARKER):
        raise RepwatchError(
            f"{path} exists and was not written by `repwatch demo`; "
            "pass another --dir so it is not overwritten."
        )
    sources = tuple(
        SourceEntry(f"{b.key}-reviews", b.key, f"{site_url}/{b.key}/reviews", allow_private=True)
        for b in DEMO_BRANDS
    )
    directory.mkdir(parents=True, exist_ok=True)
    text = render_config(DEMO_BRANDS, sources, download_delay=0.0)
    path.write_text(f"{DEMO_MARKER}\n{text}", encoding="utf-8")
    return load_config(path)


def start_demo_site(port: int) -> DemoSite:
    site = DemoSite(port=port)
    try:
        site.start()
    except OSError as exc:
        raise RepwatchError(
            f"Cannot serve the demo site on 127.0.0.1:{port}: {exc.strerror}. "
            "Is another `repwatch demo` running? Pass --site-port with a free port."
        ) from exc
    return site


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("repwatch-demo"),
    show_default=True,
    help="Working directory for the demo's config and database.",
)
@click.option("--no-dashboard", is_flag=True, help="Stop after flagging and print the counts.")
@click.option("--serve-only", is_flag=True, help="Only serve the demo site and print its URL.")
@click.option(
    "--site-port", type=click.IntRange(0, 65535), default=DEMO_SITE_PORT, show_default=True
)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True,
              help="Port of the dashboard.")  # fmt: skip
@friendly
def demo(directory: Path, no_dashboard: bool, serve_only: bool, site_port: int, port: int) -> None:
    """Try repwatch on a local demo site: crawl, score, flag, then open the dashboard.

    The site holds about 200 fictional reviews of Kestrel Home and its competitor Nimbus
    Direct in English, French, Swedish, Russian, German and Spanish. Sentiment is scored
    offline by the bundled model, with nothing to download. Re-running it stores nothing twice.

    Examples: repwatch demo; repwatch demo --no-dashboard; repwatch demo --serve-only
    """
    site = start_demo_site(site_port)
    try:
        if serve_only:
            click.echo(f"Demo review site on {site.url} (Ctrl-C to stop)")
            for key in BRANDS:
                click.echo(f"  {site.url}/{key}/reviews")
            threading.Event().wait()
        config = write_demo_config(directory, site.url)
        click.echo(f"Demo site on {site.url}; config in {config.path}")
        crawl = steps.run_crawl(config)
        steps.score_or_explain(config)
        steps.run_flag(config)
        counts = steps.database_counts(config)
        click.echo(
            f"Demo: {crawl.pages} pages crawled, {counts.mentions} mentions stored, "
            f"{counts.analysed} scored, {counts.flagged} flagged ({counts.open_items} open)."
        )
        username, password = steps.demo_user(config)
        click.echo(f"Sign in to the dashboard as {username!r} with password {password!r}.")
        if no_dashboard:
            return
        from dashboard.launch import run_dashboard

        click.echo(f"Dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
        code = run_dashboard(config.path.resolve(), port=port)
        if code:
            raise click.exceptions.Exit(code)
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        site.stop()
