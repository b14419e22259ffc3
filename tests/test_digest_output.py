"""The digest as files: the PDF's first page (rendered and read back), what WeasyPrint may
fetch, ``write_digest`` and the ``repwatch digest`` command."""

from __future__ import annotations

import base64
import io
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from repwatch.cli import main
from repwatch.config import Config
from repwatch.digest import DigestError, IsoWeek, write_digest
from repwatch.digest.render_pdf import html_to_pdf
from repwatch.store import open_database
from tests.conftest import write_config
from tests.digest_data import BRANDS, NOW, WEEK, seed_digest_data


def _pixel() -> str:
    """A 1x1 PNG as base64."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "red").save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A config for the generated brands; its SQLite database holds the generated weeks."""
    config = write_config(tmp_path / "site", brands=BRANDS)
    engine = open_database(config.database_url)
    seed_digest_data(engine)
    engine.dispose()
    return config


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.mark.slow  # WeasyPrint and matplotlib: about 3 s
def test_pdf_first_page_shows_the_title_and_the_brands(config, tmp_path, artifacts_dir):
    path = write_digest(config, WEEK, "pdf", tmp_path, now=NOW)
    assert path == tmp_path / "repwatch-digest-2026-W47.pdf"
    assert path.read_bytes().startswith(b"%PDF-")
    png = artifacts_dir / "digest-page1"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", path, png],
        check=True,
    )
    width, height = _png_size(png.with_suffix(".png"))  # A4 at 60 dpi: 8.27 x 11.69 in
    assert abs(width - 496) <= 1
    assert abs(height - 702) <= 1
    page1 = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", path, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Reputation digest: Kestrel Home, Falcon Outdoor" in page1
    assert "Week 47 of 2026 (16\u201322 Nov 2026)" in page1
    for name in ("Kestrel Home", "Falcon Outdoor", "Nimbus Direct", "Own brands", "Competitors"):
        assert name in page1


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that records every path asked for."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def _bait(base: str) -> str:
    return (
        f'<html><head><link rel="stylesheet" href="{base}/style.css"></head><body>'
        f'<img src="{base}/pixel.png"><img src="file:///etc/hostname">'
        f"<div style=\"background: url('{base}/bg.png')\">x</div>"
        f'<img src="data:image/png;base64,{_pixel()}"></body></html>'
    )


def test_pdf_fetches_nothing_but_data_uris(recorder):
    base, seen = recorder
    assert html_to_pdf(_bait(base)).startswith(b"%PDF-")
    assert seen == []
    from weasyprint import HTML  # the same page with WeasyPrint's own fetcher: it does fetch

    HTML(string=_bait(base)).write_pdf()
    assert set(seen) >= {"/style.css", "/pixel.png"}


def test_write_digest_is_whole_or_nothing(config, tmp_path):
    (tmp_path / "taken").write_text("", encoding="utf-8")
    out = tmp_path / "taken" / "digest.md"
    with pytest.raises(DigestError) as error:
        write_digest(config, "2026-W47", "md", out, now=NOW)
    assert str(error.value) == (
        f"Cannot write the digest to {out}: File exists. "
        "Choose another --out, or check the folder's permissions."
    )
    path = write_digest(
        config, "2026-W47", "md", tmp_path / "new" / "d.md", brand="falcon", now=NOW
    )
    assert path.read_text(encoding="utf-8").startswith("# Reputation digest: Falcon Outdoor\n")
    assert [p.name for p in path.parent.iterdir()] == ["d.md"]  # no partial file left


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["digest", *args], catch_exceptions=False)


def test_cli_bad_week_is_one_line_with_the_format(tmp_path):
    result = _run("--week", "2026-47", "--config", str(tmp_path / "none.toml"))
    assert result.exit_code == 1
    assert (
        result.output == "Error: '2026-47' is not an ISO week; expected YYYY-Www, e.g. 2026-W47\n"
    )


def test_cli_writes_each_format(config, tmp_path):
    for fmt in ("csv", "md", "html"):
        result = _run(
            "--config", str(config.path), "--week", "2026-W47", "--brand", "falcon",
            "--format", fmt, "--out", str(tmp_path),
        )  # fmt: skip
        path = tmp_path / f"repwatch-digest-2026-W47-falcon.{fmt}"
        assert result.output == f"Wrote the digest of 2026-W47 to {path}\n"
        assert "Falcon Outdoor" in path.read_text(encoding="utf-8-sig")


def test_cli_defaults_to_the_last_complete_week(config, tmp_path):
    result = _run("--config", str(config.path), "--format", "md", "--out", str(tmp_path / "d.md"))
    week = IsoWeek.last_complete()
    assert result.output == f"Wrote the digest of {week} to {tmp_path / 'd.md'}\n"
    assert week.label in (tmp_path / "d.md").read_text(encoding="utf-8")


def test_cli_unknown_brand(config):
    result = _run("--config", str(config.path), "--week", "2026-W47", "--brand", "acme")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Unknown brand 'acme'; expected one of falcon, kestrel, nimbus "
        "(the [brands] keys in repwatch.toml).\n"
    )


def test_cli_help_has_an_example_and_loads_no_renderer():
    assert "Example: repwatch digest --week 2026-W47" in _run("--help").output
    code = (
        "import sys, repwatch.cli; "
        "print(sorted(m for m in ('matplotlib', 'weasyprint', 'jinja2') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
