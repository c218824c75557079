"""The school timetable: when lessons run, and the next window free of them.

Bandwidth tests saturate links, so they never run during lessons unless forced. Lessons are
the inventory's ``schedule.class_hours`` periods, on school days only: inside a declared term
(when ``terms`` are given) and not on a holiday. Times are the school's (``schedule.timezone``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditor.errors import InputError
from auditor.inventory import Schedule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 400  # a little over a year: a window is always found unless lessons never stop


def zone(schedule: Schedule) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"schedule.timezone: unknown time zone {schedule.timezone!r}") from None


def school_day(schedule: Schedule, day: date) -> bool:
    """Whether lessons can happen on ``day``: inside a term (if terms are declared), no holiday."""
    if schedule.terms and not any(t.start <= day <= t.end for t in schedule.terms):
        return False
    return not any(h.start <= day <= h.end for h in schedule.holidays)


def in_class_hours(schedule: Schedule, now: datetime) -> str | None:
    """The lesson period ``now`` falls in, as text, or None."""
    local = now.astimezone(zone(schedule))
    if not school_day(schedule, local.date()):
        return None
    day = WEEKDAYS[local.weekday()]
    for period in schedule.class_hours:
        if day in period.days and period.start <= local.time() < period.end:
            return f"{day} {period.start:%H:%M}-{period.end:%H:%M} ({schedule.timezone})"
    return None


def lessons_on(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The day's lessons (school time), merged where they touch; none on a day that is not a
    school day (outside the terms, a holiday)."""
    if not school_day(schedule, day):
        return []
    tz = zone(schedule)
    name = WEEKDAYS[day.weekday()]
    spans = sorted((datetime.combine(day, p.start, tz), datetime.combine(day, p.end, tz))
                   for p in schedule.class_hours if name in p.days)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def next_free_window(schedule: Schedule, now: datetime,
                     length: timedelta = timedelta(minutes=30)) -> datetime | None:
    """The earliest moment at or after ``now`` with ``length`` free of lessons (school time).

    None only when no such window exists within a year (lessons around the clock).
    """
    tz = zone(schedule)
    cursor = now.astimezone(tz)
    busy: list[tuple[datetime, datetime]] = []
    for offset in range(_SEARCH_DAYS + 1):
        busy += lessons_on(schedule, cursor.date() + timedelta(days=offset))
    for start, end in busy:
        if end <= cursor:
            continue
        if start - cursor >= length:
            return cursor
        cursor = max(cursor, end)
    horizon = now.astimezone(tz).date() + timedelta(days=_SEARCH_DAYS)
    return cursor if cursor.date() < horizon else None
