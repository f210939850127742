"""Channels and whether the 1420 contact centre is open, in Tehran time."""

from __future__ import annotations

import datetime as dt

import pytest

from services.clock import TEHRAN, FixedClock
from services.info import ClosedReason, InfoService
from services.settings import Settings
from tests.conftest import with_config


def tehran(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TEHRAN)


def info(settings: Settings, **tickets: object) -> InfoService:
    local = with_config(settings, "tickets", **tickets) if tickets else settings
    return InfoService(local, FixedClock(tehran(2024, 8, 3, 10, 0)))


def test_channels(settings: Settings) -> None:
    channels = info(settings).channels()
    assert channels.phone == "1420" and channels.ussd == "*1420*4#"
    assert channels.app_name == "تأمین من"
    assert channels.hours[0].weekday == "saturday"
    friday = channels.hours[-1]
    assert friday.weekday == "friday" and friday.opens is None and friday.closes is None
    thursday = channels.hours[5]
    assert (thursday.opens, thursday.closes) == (dt.time(8), dt.time(16))


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (tehran(2024, 8, 3, 7, 59), False),  # Saturday before eight
        (tehran(2024, 8, 3, 8, 0), True),
        (tehran(2024, 8, 7, 19, 59), True),  # Wednesday
        (tehran(2024, 8, 7, 20, 0), False),
        (tehran(2024, 8, 8, 15, 59), True),  # Thursday is a short day
        (tehran(2024, 8, 8, 16, 0), False),
        (tehran(2024, 8, 9, 11, 0), False),  # Friday
    ],
)
def test_hours_boundaries(settings: Settings, moment: dt.datetime, is_open: bool) -> None:
    assert info(settings).is_open(moment).open is is_open


def test_closed_answers_say_why_and_when(settings: Settings) -> None:
    service = info(settings)
    friday = service.is_open(tehran(2024, 8, 9, 11, 0))
    assert friday.reason is ClosedReason.WEEKEND
    assert friday.next_opening == tehran(2024, 8, 10, 8, 0)
    evening = service.is_open(tehran(2024, 8, 7, 20, 30))
    assert evening.reason is ClosedReason.OUTSIDE_HOURS
    assert evening.next_opening == tehran(2024, 8, 8, 8, 0)
    early = service.is_open(tehran(2024, 8, 3, 6, 0))
    assert early.next_opening == tehran(2024, 8, 3, 8, 0)
    open_now = service.is_open(tehran(2024, 8, 8, 9, 0))
    assert open_now.closes_at == tehran(2024, 8, 8, 16, 0) and open_now.reason is None


def test_holidays_close_the_centre(settings: Settings) -> None:
    # 14 Khordad 1403 (Monday 2024-06-03) and 15 Khordad are in config.yml's recurring list.
    status = info(settings).is_open(tehran(2024, 6, 3, 10, 0))
    assert not status.open and status.reason is ClosedReason.HOLIDAY
    assert status.next_opening == tehran(2024, 6, 5, 8, 0)
    # Ashura 1403 (Tuesday 2024-07-16), derived from the official calendar.
    derived = info(settings, derive_holidays_from_calendar=True).is_open(tehran(2024, 7, 16, 10))
    assert derived.reason is ClosedReason.HOLIDAY and derived.holiday_name
    # Nowruz: the next opening is after the holidays.
    nowruz = info(settings).is_open(tehran(2024, 3, 20, 10, 0))  # 1 Farvardin 1403
    assert nowruz.next_opening == tehran(2024, 3, 24, 8, 0)


def test_time_zones(settings: Settings) -> None:
    service = info(settings)
    utc = dt.datetime(2024, 8, 3, 4, 30, tzinfo=dt.UTC)  # 08:00 in Tehran
    assert service.is_open(utc).open
    assert service.is_open(dt.datetime(2024, 8, 3, 8, 0)).open  # naive = Tehran
    assert service.is_open().open  # the clock: Saturday 10:00


def test_always_open(settings: Settings) -> None:
    local = with_config(settings, "contact_centre", always_open=True)
    service = InfoService(local, FixedClock(tehran(2024, 8, 9, 3, 0)))
    assert service.is_open().open
