"""The school timetable: lesson periods on school days only, and the next free window."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from auditor.engine import RunOptions, _refusal
from auditor.inventory import DateRange, Inventory, Period, Schedule
from auditor.model import FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.timetable import in_class_hours, next_free_window, school_day

SH = ZoneInfo("Asia/Shanghai")
WEEK = ["mon", "tue", "wed", "thu", "fri"]
TIMETABLE = Schedule(
    class_hours=[Period(days=WEEK, start=time(8), end=time(11, 50)),
                 Period(days=WEEK, start=time(13, 30), end=time(16, 30))],
    terms=[DateRange(name="秋季学期", start=date(2026, 9, 1), end=date(2027, 1, 22))],
    holidays=[DateRange(name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3)),
              DateRange(name="运动会", start=date(2026, 12, 4), end=date(2026, 12, 4))],
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(("moment", "lesson"), [
    (at(2026, 12, 2, 9, 0), True),        # Wednesday morning in term
    (at(2026, 12, 2, 12, 0), False),      # lunch break
    (at(2026, 12, 2, 16, 30), False),     # the end of a period is free
    (at(2026, 12, 4, 9, 0), False),       # a declared holiday (sports day)
    (at(2026, 12, 5, 9, 0), False),       # Saturday
    (at(2027, 1, 25, 9, 0), False),       # after the term: winter holidays
    (at(2026, 8, 31, 9, 0), False),       # before the term
])
def test_lessons_only_in_term_on_school_days(moment: datetime, lesson: bool) -> None:
    assert (in_class_hours(TIMETABLE, moment) is not None) is lesson


def test_time_zone_is_the_schools() -> None:
    utc_1am = datetime(2026, 12, 2, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Beijing
    assert in_class_hours(TIMETABLE, utc_1am) == "wed 08:00-11:50 (Asia/Shanghai)"


@pytest.mark.parametrize(("moment", "expected"), [
    (at(2026, 12, 2, 9, 0), at(2026, 12, 2, 11, 50)),    # lunch is long enough
    (at(2026, 12, 2, 14, 0), at(2026, 12, 2, 16, 30)),   # after school
    (at(2026, 12, 2, 20, 0), at(2026, 12, 2, 20, 0)),    # already free
    (at(2026, 12, 3, 13, 10), at(2026, 12, 3, 16, 30)),  # 20 min before a lesson is too short
])
def test_next_free_window(moment: datetime, expected: datetime) -> None:
    assert next_free_window(TIMETABLE, moment) == expected


def test_short_gaps_are_skipped_and_days_without_lessons_are_free() -> None:
    packed = Schedule(class_hours=[Period(days=WEEK, start=time(7), end=time(12)),
                                   Period(days=WEEK, start=time(12, 10), end=time(23, 59))])
    friday = at(2026, 12, 4, 8, 0)
    assert next_free_window(packed, friday) == at(2026, 12, 4, 23, 59)
    assert next_free_window(packed, friday, timedelta(hours=2)) == at(2026, 12, 4, 23, 59)
    always = Schedule(class_hours=[Period(days=[*WEEK, "sat", "sun"], start=time(0),
                                          end=time(23, 59, 59))])
    assert next_free_window(always, friday) is None
    assert school_day(TIMETABLE, date(2027, 1, 2)) is False


def test_refusal_names_the_next_free_window() -> None:
    task = ProbeTask("iperf3.bandwidth", "room", None, {}, (), safety=Safety.BANDWIDTH)
    inv = Inventory.model_validate({"school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]}})
    inv = inv.model_copy(update={"schedule": TIMETABLE})
    refusal = _refusal(task, inv, RunOptions(), at(2026, 12, 2, 9, 0))
    assert refusal is not None and refusal[0] is FactStatus.SKIPPED
    assert "deferred" in refusal[1] and "2026-12-02 11:50" in refusal[1]
    assert _refusal(task, inv, RunOptions(allow_class_hours=True), at(2026, 12, 2, 9, 0)) is None
    assert _refusal(task, inv, RunOptions(), at(2026, 12, 4, 9, 0)) is None  # holiday


def test_bad_timetables_are_rejected() -> None:
    with pytest.raises(ValueError, match="must not be before"):
        DateRange(start=date(2027, 1, 3), end=date(2027, 1, 1))
    with pytest.raises(ValueError, match="unknown time zone"):
        Schedule(timezone="Beijing/Haidian")
