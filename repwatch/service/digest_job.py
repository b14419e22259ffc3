"""The scheduled digest: write last week's digest in every configured format, then send it.

The files go to ``[schedule] digest_dir`` (``repwatch-digest-2026-W47.pdf`` and so on);
when ``[alerts] targets`` are configured each target gets one message with the Markdown
digest as its text and the files attached.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import apprise

from repwatch.config import Config
from repwatch.digest import IsoWeek, read_digest, render_digest, write_digest
from repwatch.notify import load_targets

log = logging.getLogger(__name__)
MAX_BODY_CHARS = 20_000  # chat services cut long messages; the files hold everything


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one scheduled digest did."""

    week: IsoWeek
    files: tuple[Path, ...]
    sent_to: tuple[str, ...]  # masked target URLs that got it
    failed: tuple[str, ...]  # masked target URLs that did not, with why

    def describe(self) -> str:
        names = ", ".join(p.name for p in self.files)
        out = f"digest {self.week}: wrote {names}"
        if self.sent_to:
            out += f"; sent to {len(self.sent_to)} target(s)"
        if self.failed:
            out += f"; not sent to {'; '.join(self.failed)}"
        return out


def digest_dir(config: Config) -> Path:
    """``[schedule] digest_dir``, relative to the config file."""
    path = Path(config.settings.schedule.digest_dir).expanduser()
    return path if path.is_absolute() else config.directory / path


def run_digest(config: Config, now: datetime | None = None) -> DigestRun:
    """Write the digest of the last complete week and send it to the alert targets.

    Raises what ``write_digest`` and ``load_targets`` raise (each says what to fix).
    """
    week = IsoWeek.last_complete(now)
    out = digest_dir(config)
    out.mkdir(parents=True, exist_ok=True)
    files = tuple(
        write_digest(config, week, fmt, out, now=now)
        for fmt in config.settings.schedule.digest_formats
    )
    targets = load_targets(config.settings.alerts)
    if not targets:
        return DigestRun(week, files, (), ())
    text = render_digest(read_digest(config, week, now=now), "md").decode("utf-8")
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + "\n\n… (the attached files hold the whole digest)"
    title = f"repwatch digest {week}"
    sent, failed = [], []
    for target in targets:
        error = _send(target.url, title, text, files)
        if error is None:
            sent.append(target.name)
        else:
            log.warning("digest not sent to %s: %s", target.name, error)
            failed.append(f"{target.name}: {error}")
    return DigestRun(week, files, tuple(sent), tuple(failed))


def _send(url: str, title: str, body: str, files: tuple[Path, ...]) -> str | None:
    """Send one message with attachments; ``None`` when delivered, else why not."""
    asset = apprise.AppriseAsset(app_id="repwatch", app_desc="repwatch digest")
    notifier = apprise.Apprise(asset=asset)
    with warnings.catch_warnings():
        # As in repwatch.notify: Apprise's PGP plugin imports the deprecated imghdr.
        warnings.filterwarnings(
            "ignore", message="'imghdr' is deprecated", category=DeprecationWarning
        )
        notifier.add(url)
    attach = apprise.AppriseAttachment([str(p) for p in files])
    capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
    with capture as captured:
        ok = bool(
            notifier.notify(
                body=body,
                title=title,
                body_format=apprise.NotifyFormat.MARKDOWN,
                attach=attach,
            )
        )
    if ok:
        return None
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else "Apprise reported a failure without a reason"
