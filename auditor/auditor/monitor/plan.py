"""When throughput tests run: school days, the day's windows, random times inside them (pure).

A school day is a day the timetable counts (in a term, not a holiday: :mod:`auditor.timetable`)
that has lessons, or, for a timetable without lessons, a weekday. The windows are the
inventory's ``monitoring.throughput.windows`` (school time); without them, before school (the
40 minutes before the first lesson), lunch (the longest break between lessons, if it is at least
30 minutes) and after school (the hour after the last lesson), from the timetable; without a
timetable 07:00-07:40, 12:00-13:00 and 17:00-18:00. Lessons are cut out of every window unless
``allow_class_hours``. Test times are drawn uniformly over the windows' free time, at least one
test's length apart, so two never overlap.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

from auditor.inventory import Inventory, Schedule, Throughput, _window_times
from auditor.timetable import lessons_on, school_day, zone

DEFAULT_WINDOWS = ("07:00-07:40", "12:00-13:00", "17:00-18:00")
BEFORE_SCHOOL = timedelta(minutes=40)
AFTER_SCHOOL = timedelta(hours=1)
MIN_LUNCH = timedelta(minutes=30)
Span = tuple[datetime, datetime]


def is_school_day(schedule: Schedule, day: date) -> bool:
    if not school_day(schedule, day):
        return False
    if schedule.class_hours:
        return bool(lessons_on(schedule, day))
    return day.weekday() < 5


def windows(inv: Inventory, day: date) -> list[Span]:
    """The day's test windows (school time), lessons cut out unless allowed."""
    schedule, conf = inv.schedule, inv.monitoring.throughput
    tz = zone(schedule)
    busy = lessons_on(schedule, day)
    spans: list[Span]
    if conf.windows is not None:
        spans = [_span(day, text, tz) for text in conf.windows]
    elif busy:
        spans = [(busy[0][0] - BEFORE_SCHOOL, busy[0][0])]
        gaps = [(a[1], b[0]) for a, b in itertools.pairwise(busy) if b[0] - a[1] >= MIN_LUNCH]
        if gaps:
            spans.append(max(gaps, key=lambda g: g[1] - g[0]))
        spans.append((busy[-1][1], busy[-1][1] + AFTER_SCHOOL))
    else:
        spans = [_span(day, text, tz) for text in DEFAULT_WINDOWS]
    if not conf.allow_class_hours:
        spans = [piece for span in spans for piece in _minus(span, busy)]
    return sorted(spans)


def _span(day: date, text: str, tz: object) -> Span:
    start, end = _window_times(text)
    return datetime.combine(day, start, tz), datetime.combine(day, end, tz)  # type: ignore[arg-type]


def _minus(span: Span, busy: list[Span]) -> list[Span]:
    pieces = [span]
    for b_start, b_end in busy:
        out: list[Span] = []
        for start, end in pieces:
            if b_end <= start or b_start >= end:
                out.append((start, end))
                continue
            if start < b_start:
                out.append((start, b_start))
            if b_end < end:
                out.append((b_end, end))
        pieces = out
    return [p for p in pieces if p[1] > p[0]]


def round_length(conf: Throughput, uplinks: int) -> timedelta:
    """How long one round of tests takes at most: both directions of every uplink, one after
    another, each with its time limit."""
    return timedelta(seconds=max(1, uplinks) * 2 * (conf.duration_s * 3 + 13))


def plan_day(inv: Inventory, day: date, rng: random.Random, uplinks: int | None = None) -> list[datetime]:
    """The day's test start times (school time, sorted): ``tests_per_day`` random times inside
    the windows, each round finished before the next starts and before its window ends. Fewer
    when the windows are too short; none on a day that is not a school day."""
    conf = inv.monitoring.throughput
    count = len(inv.uplinks()) if uplinks is None else uplinks
    if conf.tests_per_day == 0 or count == 0 or not is_school_day(inv.schedule, day):
        return []
    length = round_length(conf, count)
    # start times that leave room for the round inside the window
    room = [(s, e - length) for s, e in windows(inv, day) if e - length >= s]
    if not room:
        return []
    chosen: list[datetime] = []
    for _ in range(conf.tests_per_day):
        for _attempt in range(50):
            at = _draw(room, rng)
            if all(abs(at - c) >= length for c in chosen):
                chosen.append(at)
                break
    return sorted(chosen)


def _draw(room: list[Span], rng: random.Random) -> datetime:
    total = sum((e - s).total_seconds() for s, e in room)
    point = rng.uniform(0, total)
    for s, e in room:
        seconds = (e - s).total_seconds()
        if point <= seconds:
            return (s + timedelta(seconds=point)).replace(microsecond=0)
        point -= seconds
    return room[-1][1]


def day_rng(seed: str, day: date) -> random.Random:
    """The day's random source: the same plan after a restart, different plans on different days
    and for different schools."""
    return random.Random(f"{seed}/{day.isoformat()}")  # noqa: S311 - scheduling, not secrets


def local_day(inv: Inventory, moment: datetime) -> date:
    return moment.astimezone(zone(inv.schedule)).date()

