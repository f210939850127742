"""Working days: Friday and holidays off; counting; the derived official calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from persian.jalali import from_jalali
from services.calendar import WorkingCalendar, official_holidays
from services.clock import TEHRAN, FixedClock, SystemClock
from services.settings import TicketsConfig


def calendar(**values: object) -> WorkingCalendar:
    base = {"derive_holidays_from_calendar": False, "weekend_days": ("friday",)}
    return WorkingCalendar(TicketsConfig.model_validate(base | values))


def test_friday_is_not_a_working_day() -> None:
    cal = calendar()
    friday = dt.date(2024, 8, 2)
    assert friday.weekday() == 4
    assert cal.is_weekend(friday) and not cal.is_working_day(friday)
    assert cal.is_working_day(dt.date(2024, 8, 1))  # Thursday is a (short) working day


def test_recurring_and_one_off_holidays() -> None:
    cal = calendar(recurring_holidays=("03-14",), holidays=("1403-05-20",))
    assert cal.is_holiday(from_jalali(1403, 3, 14))
    assert cal.is_holiday(from_jalali(1404, 3, 14))  # every year
    assert cal.is_holiday(from_jalali(1403, 5, 20))
    assert not cal.is_holiday(from_jalali(1404, 5, 20))  # that year only
    assert cal.holiday_name(from_jalali(1403, 5, 20)) == ""
    assert cal.holiday_name(from_jalali(1403, 5, 21)) is None


def test_add_working_days_skips_friday_and_holidays() -> None:
    cal = calendar(holidays=("1403-05-15",))  # Monday 2024-08-05
    wednesday = dt.date(2024, 7, 31)
    # Thu 1, (Fri 2 off), Sat 3
    assert cal.add_working_days(wednesday, 2) == dt.date(2024, 8, 3)
    # Sat 3, Sun 4, (Mon 5 holiday), Tue 6
    assert cal.add_working_days(dt.date(2024, 8, 2), 3) == dt.date(2024, 8, 6)
    assert cal.add_working_days(wednesday, 0) == wednesday
    with pytest.raises(ValueError):
        cal.add_working_days(wednesday, -1)


def test_derived_lunar_holidays_and_override() -> None:
    ashura_1403 = dt.date(2024, 7, 16)  # 1403/04/26
    derived = calendar(derive_holidays_from_calendar=True)
    assert derived.is_holiday(ashura_1403)
    assert "عاشورا" in (derived.holiday_name(ashura_1403) or "")
    assert ashura_1403 in official_holidays(2024)
    assert not calendar().is_holiday(ashura_1403)
    # Iran's sighting moved it: the explicit lists win over the computed day.
    moved = calendar(
        derive_holidays_from_calendar=True, not_holidays=("1403-04-26",), holidays=("1403-04-27",)
    )
    assert not moved.is_holiday(ashura_1403)
    assert moved.is_holiday(ashura_1403 + dt.timedelta(days=1))


def test_bad_config_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        calendar(recurring_holidays=("13-01",))
    with pytest.raises(ValueError):
        calendar(holidays=("1403-12-31",))  # 1403 Esfand has 30 days


DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2027, 12, 31))
HOLIDAY_SETS = st.lists(st.integers(min_value=0, max_value=60), max_size=8)


@hsettings(max_examples=200, deadline=None)
@given(start=DAYS, count=st.integers(min_value=1, max_value=10), offsets=HOLIDAY_SETS)
def test_add_working_days_properties(start: dt.date, count: int, offsets: list[int]) -> None:
    holidays = []
    for offset in offsets:
        from persian.jalali import to_jalali

        y, m, d = to_jalali(start + dt.timedelta(days=offset))
        holidays.append(f"{y}-{m:02d}-{d:02d}")
    cal = calendar(holidays=tuple(holidays))
    due = cal.add_working_days(start, count)
    assert due > start
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == count
    # Nothing shorter would do: the day before has one working day fewer.
    assert cal.working_days_between(start, due - dt.timedelta(days=1)) == count - 1
    # Each week holds six working days at most, so the span is bounded.
    assert (due - start).days <= count + count // 6 + 1 + len(offsets)


def test_clocks() -> None:
    fixed = FixedClock(dt.datetime(2024, 8, 2, 21, 0, tzinfo=dt.UTC))
    assert fixed.now().tzinfo == TEHRAN
    assert fixed.today() == dt.date(2024, 8, 3)  # 00:30 on Saturday in Tehran
    fixed.advance(dt.timedelta(hours=1))
    assert fixed.now().hour == 1
    fixed.set(dt.date(2024, 1, 1))
    assert fixed.now() == dt.datetime(2024, 1, 1, 10, 0, tzinfo=TEHRAN)
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(hours=3, minutes=30)
