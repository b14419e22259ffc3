"""Cron expressions as crontab(5) reads them, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from Monday (0 = Monday), crontab from Sunday (0 and 7 =
Sunday): ``CronTrigger.from_crontab("0 7 * * 1")`` would run on Tuesdays. So the day of
week is parsed here, the crontab way, and handed over as day names. The other fields
mean the same in both and are validated by APScheduler.

Accepted: five fields ``minute hour day month day-of-week``; six when the first is
seconds (``*/10 * * * * *``); ``@hourly``, ``@daily``, ``@weekly``, ``@monthly``;
``off`` for a job that never runs. When both day of month and day of week are
restricted, a run needs both to match (crontab runs when either does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

OFF = "off"
EXAMPLE = '"0 */2 * * *" (every two hours) or "0 7 * * mon" (Mondays at 7:00)'
FIELDS = ("minute", "hour", "day", "month", "day-of-week")
MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * sun",
    "@monthly": "0 0 1 * *",
}
# crontab's numbering: 0 and 7 are Sunday.
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
APS_FIELD = {"second": "second", "minute": "minute", "hour": "hour", "day": "day",
             "month": "month", "day-of-week": "day_of_week"}  # fmt: skip


class CronError(ValueError):
    """An expression that is not a valid cron expression; the message says why."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression: APScheduler's fields (weekdays as names)."""

    expression: str
    fields: tuple[tuple[str, str], ...]  # (APScheduler field, value)

    def trigger(self, timezone: tzinfo) -> CronTrigger:
        """The APScheduler trigger of this expression in ``timezone``."""
        return CronTrigger(**dict(self.fields), timezone=timezone)


def _day(token: str, expression: str) -> int:
    lowered = token.lower()
    if lowered in DAY_NAMES:
        return DAY_NAMES.index(lowered)
    if lowered.isdigit() and 0 <= int(lowered) <= 7:
        return int(lowered)
    raise CronError(
        f"{expression!r}: day of week {token!r} is not 0-7 or sun, mon, tue, wed, thu, fri, sat"
    )


def day_of_week(field: str, expression: str = "") -> str:
    """A crontab day-of-week field as APScheduler day names, e.g. ``1-5`` -> ``mon,...,fri``."""
    expression = expression or field
    days: set[int] = set()
    for item in field.split(","):
        spec, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{expression!r}: step {step_text!r} must be a number above 0")
            step = int(step_text)
        if spec == "*":
            first, last = 0, 6
        elif "-" in spec:
            low, _, high = spec.partition("-")
            first, last = _day(low, expression), _day(high, expression)
            if high.lower() == "sun":  # "fri-sun": Sunday as 7 ends a range
                last = 7
            if first > last:
                raise CronError(f"{expression!r}: day range {spec!r} runs backwards")
        else:
            first = _day(spec, expression)
            last = 6 if step_text else first  # "1/2": from Monday on, every other day
        days.update(n % 7 for n in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    monday_first = sorted(days, key=lambda n: (n + 6) % 7)
    return ",".join(DAY_NAMES[n] for n in monday_first)


def parse_cron(expression: str) -> Cron | None:
    """Parse ``expression``; ``None`` for ``off``. Raises ``CronError`` saying what is wrong."""
    text = " ".join(expression.split())
    if text.lower() == OFF:
        return None
    text = MACROS.get(text.lower(), text)
    parts = text.split(" ")
    names = FIELDS if len(parts) == 5 else ("second", *FIELDS)
    if len(parts) not in (5, 6):
        raise CronError(
            f"{expression!r} has {len(parts)} fields; expected 5 (minute hour day month "
            f"day-of-week), e.g. {EXAMPLE}, or off"
        )
    fields = []
    for name, value in zip(names, parts, strict=True):
        if name == "day-of-week":
            value = day_of_week(value, expression)
        try:
            CronTrigger(**{APS_FIELD[name]: value}, timezone="UTC")
        except ValueError as exc:
            raise CronError(f"{expression!r}: {name} field {value!r} is invalid ({exc})") from exc
        fields.append((APS_FIELD[name], value))
    return Cron(text, tuple(fields))


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``CronError`` when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(
            f"unknown time zone {name!r}; expected an IANA name such as UTC or Europe/Paris"
        ) from exc
