"""The weekly reputation digest: one ISO week's figures as HTML, PDF, CSV or Markdown.

``write_digest(config, "2026-W47", "pdf", Path("out"))`` is what ``repwatch digest`` and
the scheduler's weekly job call. Figures come from ``repwatch.store.views`` (the
dashboard's queries, see ``figures``); the renderers only format them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from repwatch.config import Config
from repwatch.digest.figures import Digest, collect_digest
from repwatch.digest.week import WEEK_FORMAT, IsoWeek, WeekError
from repwatch.errors import RepwatchError
from repwatch.store import open_database, session_scope

log = logging.getLogger(__name__)

Format = Literal["html", "pdf", "csv", "md"]
FORMATS: tuple[Format, ...] = get_args(Format)

__all__ = [
    "FORMATS",
    "WEEK_FORMAT",
    "Digest",
    "DigestError",
    "Format",
    "IsoWeek",
    "WeekError",
    "collect_digest",
    "default_filename",
    "read_digest",
    "render_digest",
    "write_digest",
]


class DigestError(RepwatchError):
    """A digest cannot be written (unknown format, unwritable place)."""


def render_digest(digest: Digest, fmt: Format) -> bytes:
    """The digest in ``fmt``, as the bytes of the file (text formats in UTF-8)."""
    if fmt == "html":
        from repwatch.digest.render_html import digest_html

        return digest_html(digest).encode("utf-8")
    if fmt == "pdf":
        from repwatch.digest.render_pdf import digest_pdf

        return digest_pdf(digest)
    if fmt == "csv":
        from repwatch.digest.render_csv import digest_csv

        return ("\ufeff" + digest_csv(digest)).encode("utf-8")  # BOM: Excel reads UTF-8
    if fmt == "md":
        from repwatch.digest.render_md import digest_markdown

        return digest_markdown(digest).encode("utf-8")
    raise DigestError(f"Unknown digest format {fmt!r}; expected one of {', '.join(FORMATS)}.")


def read_digest(
    config: Config,
    week: IsoWeek | str,
    brand: str | None = None,
    *,
    now: datetime | None = None,
) -> Digest:
    """The figures of ``week`` (``2026-W47``) for ``brand`` (a brand key) or all brands."""
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    engine = open_database(config.database_url)
    try:
        with session_scope(engine) as session:
            return collect_digest(session, config.settings.brands, week, brand=brand, now=now)
    finally:
        engine.dispose()


def default_filename(week: IsoWeek, fmt: Format, brand: str | None = None) -> str:
    """``repwatch-digest-2026-W47.pdf``, or ``repwatch-digest-2026-W47-acme.pdf``."""
    return f"repwatch-digest-{week}{'-' + brand if brand else ''}.{fmt}"


def write_digest(
    config: Config,
    week: IsoWeek | str,
    fmt: Format,
    out: Path,
    brand: str | None = None,
    *,
    now: datetime | None = None,
) -> Path:
    """Write the digest of ``week`` in ``fmt`` to ``out`` and return the file's path.

    ``out`` is a file, or an existing directory to put ``default_filename`` in. The file
    appears whole or not at all (written beside it, then renamed), so a job that mails
    it never sends half a PDF. Raises ``WeekError``, ``ConfigError`` (unknown brand),
    ``DatabaseError`` or ``DigestError``, each saying what to do.
    """
    if fmt not in FORMATS:
        raise DigestError(f"Unknown digest format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    started = time.perf_counter()
    digest = read_digest(config, week, brand, now=now)
    path = Path(out)
    if path.is_dir():
        path = path / default_filename(digest.week, fmt, brand)
    data = render_digest(digest, fmt)
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # e.g. the folder could not be made
            partial.unlink(missing_ok=True)
        raise DigestError(
            f"Cannot write the digest to {path}: {exc.strerror or exc}. "
            "Choose another --out, or check the folder's permissions."
        ) from exc
    log.info(
        "wrote the %s digest of %s (%s) to %s in %.1fs",
        fmt,
        digest.week,
        digest.scope_label,
        path,
        time.perf_counter() - started,
    )
    return path
