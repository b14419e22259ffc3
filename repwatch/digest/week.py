"""ISO weeks (``2026-W47``): what a digest covers, Monday 00:00 to Monday 00:00 UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from repwatch.errors import RepwatchError

_WEEK = re.compile(r"(\d{4})-W(\d{2})", re.IGNORECASE)
WEEK_FORMAT = "YYYY-Www, e.g. 2026-W47"
DASH = "\u2013"


class WeekError(RepwatchError):
    """A week string is not an ISO week, or the week has not started yet."""


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """One ISO 8601 week; weeks start on Monday and week 1 holds the year's first Thursday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` as an ``IsoWeek``; ``WeekError`` with the expected format otherwise."""
        match = _WEEK.fullmatch(text.strip())
        if match:
            year, week = int(match[1]), int(match[2])
            try:
                date.fromisocalendar(year, week, 1)
            except ValueError:
                raise WeekError(
                    f"{text!r} is not a week of {year} (it has "
                    f"{date(year, 12, 28).isocalendar().week} weeks); expected {WEEK_FORMAT}"
                ) from None
            return cls(year, week)
        raise WeekError(f"{text!r} is not an ISO week; expected {WEEK_FORMAT}")

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The week ``day`` falls in."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: datetime | None = None) -> IsoWeek:
        """The newest week that has ended by ``now`` (default: now, UTC)."""
        today = (now or datetime.now(UTC)).astimezone(UTC).date()
        return cls.of(today - timedelta(days=7))

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def since(self) -> datetime:
        """Monday 00:00 UTC, inclusive."""
        monday = self.monday
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The next Monday 00:00 UTC, exclusive."""
        return self.since + timedelta(days=7)

    @property
    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7))

    @property
    def label(self) -> str:
        """``Week 47 of 2026 (16-22 Nov 2026)`` for titles, with an en dash."""
        first, last = self.monday, self.sunday
        if first.month == last.month:
            span = f"{first.day}{DASH}{last.day} {last:%b %Y}"
        elif first.year == last.year:
            span = f"{first.day} {first:%b} {DASH} {last.day} {last:%b %Y}"
        else:
            span = f"{first.day} {first:%b %Y} {DASH} {last.day} {last:%b %Y}"
        return f"Week {self.week} of {self.year} ({span})"

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
