"""What to alert on: new serious triage items, and spikes of negative mentions.

A spike compares the negative mentions of a brand (or a topic) in the last
``spike_window_hours`` with the same hours of the week in each of the past
``spike_baseline_weeks`` weeks, so a Monday morning is compared with Monday mornings, not
with Sunday nights. The baseline is robust: the median of those weeks, and their spread as
the median absolute deviation, so one unusual past week moves neither. It is a spike when::

    count >= spike_min_count  and  count > max(spike_factor * median, median + 3 * MAD * 1.4826)

Each alert has a stable key, so it is stored and sent once; a spike that lasts several hours
is reported once per window. Delivery is ``repwatch.notify``'s job.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repwatch.config import Alerts, Settings
from repwatch.store import alerts as store
from repwatch.store import session_scope
from repwatch.store.alerts import Alert, ItemForAlert, SpikeSubject
from repwatch.store.schema import utcnow

__all__ = [
    "Alert",
    "Spike",
    "detect_alerts",
    "find_spikes",
    "item_alerts",
    "record_alerts",
    "spike_threshold",
]

log = logging.getLogger(__name__)

# Items flagged longer ago than this are not news any more: turning alerts on for the first
# time does not announce the whole backlog.
ITEM_LOOKBACK = timedelta(days=2)
MAD_TO_SIGMA = 1.4826  # scales the MAD to a standard deviation for normal data
MAD_MULTIPLIER = 3.0
# A baseline needs this many past weeks with data (fewer when fewer are configured).
MIN_BASELINE_WEEKS = 2
EXCERPT_CHARS = 280


@dataclass(frozen=True, slots=True)
class Spike:
    """Negative mentions of one brand or topic far above their usual level."""

    subject_kind: SpikeSubject
    subject: str  # brand key or topic key
    label: str  # what people call it: the brand's name, or the topic key
    count: int
    baseline: tuple[int, ...]  # the same window in each past week, newest first
    median: float
    threshold: float
    window_start: datetime
    window_end: datetime

    @property
    def key(self) -> str:
        """``spike:brand:kestrel:2026-11-23T10``: the subject and the hour the window ends."""
        hour = self.window_end.strftime("%Y-%m-%dT%H")
        return f"spike:{self.subject_kind}:{self.subject}:{hour}"


def spike_threshold(baseline: Sequence[int], *, factor: float) -> tuple[float, float]:
    """(median, threshold) of a baseline: the count must exceed the threshold to be a spike."""
    median = float(statistics.median(baseline))
    mad = float(statistics.median(abs(n - median) for n in baseline)) * MAD_TO_SIGMA
    return median, max(factor * median, median + MAD_MULTIPLIER * mad)


def baseline_windows(end: datetime, *, hours: int, weeks: int) -> list[tuple[datetime, datetime]]:
    """The window ending at ``end``, then the same hours of the week in each past week."""
    width, week = timedelta(hours=hours), timedelta(weeks=1)
    return [(end - k * week - width, end - k * week) for k in range(weeks + 1)]


def find_spikes(session: Session, settings: Settings, now: datetime) -> list[Spike]:
    """Brands and topics whose negative mentions in the window ending ``now`` spiked.

    Topics are counted over the team's own brands (not competitors). A subject needs
    ``MIN_BASELINE_WEEKS`` past windows after its first stored mention; newer ones are
    not judged yet, as no usual level is known.
    """
    cfg = settings.alerts
    windows = baseline_windows(now, hours=cfg.spike_window_hours, weeks=cfg.spike_baseline_weeks)
    brands = sorted(settings.brands)
    own = [key for key, brand in settings.brands.items() if not brand.competitor] or brands
    seen = store.first_seen(session)
    spikes: list[Spike] = []
    subjects: tuple[tuple[SpikeSubject, list[str]], ...] = (("brand", brands), ("topic", own))
    for kind, scope in subjects:
        counts = [store.negative_counts(session, s, e, by=kind, brands=scope) for s, e in windows]
        known = [seen[b] for b in scope if b in seen]
        for subject in sorted(counts[0]):
            if kind == "brand":
                since = seen.get(subject)
                label = settings.brands[subject].name
            else:
                since = min(known) if known else None
                label = subject
            spike = _judge(kind, subject, label, counts, windows, since, cfg)
            if spike is not None:
                spikes.append(spike)
    return spikes


def _judge(
    kind: SpikeSubject,
    subject: str,
    label: str,
    counts: list[dict[str, int]],
    windows: list[tuple[datetime, datetime]],
    since: datetime | None,
    cfg: Alerts,
) -> Spike | None:
    # Only past windows that start after the subject's first mention say what is usual.
    baseline = tuple(
        c.get(subject, 0)
        for c, (start, _end) in zip(counts[1:], windows[1:], strict=True)
        if since is not None and start >= since
    )
    if len(baseline) < min(MIN_BASELINE_WEEKS, cfg.spike_baseline_weeks):
        return None
    count = counts[0][subject]
    median, threshold = spike_threshold(baseline, factor=cfg.spike_factor)
    if count < cfg.spike_min_count or count <= threshold:
        return None
    start, end = windows[0]
    return Spike(kind, subject, label, count, baseline, median, threshold, start, end)


def spike_alert(spike: Spike, cfg: Alerts) -> Alert:
    """The alert telling people about a spike."""
    what = "mentions of" if spike.subject_kind == "brand" else "mentions about"
    hours = cfg.spike_window_hours
    title = (
        f"Spike: {spike.count} negative {what} {spike.label} in the last {hours} h "
        f"(usually {spike.median:g})"
    )
    body = (
        f"{spike.window_start:%Y-%m-%d %H:%M} to {spike.window_end:%H:%M} UTC. The same hours in "
        f"the past {len(spike.baseline)} weeks: {', '.join(map(str, spike.baseline))}; "
        f"a spike is above {spike.threshold:g}."
    )
    data = {
        "subject_kind": spike.subject_kind,
        "subject": spike.subject,
        "count": spike.count,
        "baseline": list(spike.baseline),
        "median": spike.median,
        "threshold": spike.threshold,
        "window_start": spike.window_start.isoformat(),
        "window_end": spike.window_end.isoformat(),
    }
    return Alert(spike.key, "spike", title, body, data)


def item_alert(item: ItemForAlert, settings: Settings) -> Alert:
    """The alert telling people about a new serious item."""
    brand = settings.brands[item.brand].name if item.brand in settings.brands else item.brand
    stars = "" if item.rating is None else f", {1 + 4 * item.rating:.0f}/5 stars"
    title = f"Priority {item.priority:g}: {brand} on {item.source}{stars}"
    text = " ".join(item.text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    quote = f"{item.title}: {text}" if item.title else text
    body = (
        f"“{quote}”\n{item.url}\n{item.reason}; answer by "
        f"{item.deadline_at:%Y-%m-%d %H:%M} UTC (item {item.item_id})."
    )
    data = {
        "item_id": item.item_id,
        "mention_id": item.mention_id,
        "priority": item.priority,
        "brand": item.brand,
        "source": item.source,
        "url": item.url,
        "deadline_at": item.deadline_at.isoformat(),
    }
    return Alert(f"item:{item.item_id}", "item", title, body, data)


def item_alerts(session: Session, settings: Settings, now: datetime) -> list[Alert]:
    """Alerts for new items of at least ``[alerts] min_priority`` flagged recently."""
    items = store.new_items_for_alerts(
        session, min_priority=settings.alerts.min_priority, flagged_since=now - ITEM_LOOKBACK
    )
    return [item_alert(item, settings) for item in items]


def detect_alerts(session: Session, settings: Settings, now: datetime) -> list[Alert]:
    """Alerts not stored yet: new serious items first, then spikes.

    A spike of a subject that was already reported for an overlapping window (one that
    ended less than ``spike_window_hours`` ago) is the same spike, still going on.
    """
    cfg = settings.alerts
    window_start = now - timedelta(hours=cfg.spike_window_hours)
    recent = store.alerts_after(session, window_start, kind="spike")
    ongoing = {(a.data.get("subject_kind"), a.data.get("subject")) for a in recent}
    spikes = [
        spike_alert(s, cfg)
        for s in find_spikes(session, settings, now)
        if (s.subject_kind, s.subject) not in ongoing
    ]
    candidates = item_alerts(session, settings, now) + spikes
    stored = store.existing_keys(session, (a.key for a in candidates))
    return [a for a in candidates if a.key not in stored]


def record_alerts(engine: Engine, settings: Settings, now: datetime | None = None) -> list[Alert]:
    """Detect and store new alerts (pending, to be sent); returns the ones stored now."""
    now = now or utcnow()
    with session_scope(engine) as session:
        alerts = detect_alerts(session, settings, now)
        added = set(store.add_alerts(session, alerts, created_at=now))
    new = [a for a in alerts if a.key in added]
    if new:
        log.info("%d new alerts: %s", len(new), ", ".join(a.key for a in new))
    return new
