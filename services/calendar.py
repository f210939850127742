"""Working days in Iran: Friday and official holidays off (ticket due dates, contact-centre hours).

Holidays come from three places, in this order of precedence:

1. ``not_holidays`` in ``config.yml`` (Jalali ``YYYY-MM-DD``) removes a day;
2. ``holidays`` (Jalali ``YYYY-MM-DD``) and ``recurring_holidays`` (Jalali ``MM-DD``) add days;
3. when ``derive_holidays_from_calendar`` is on, the `holidays` package's Iran calendar, which
   computes the lunar holidays offline. Iran fixes them by moon sighting, which can differ from
   a computed date by a day; the explicit lists above are the override for that.
"""

from __future__ import annotations

import datetime as dt
import functools

import holidays as holidays_package

from persian.jalali import from_jalali, to_jalali
from services.settings import WEEKDAY_NUMBERS, TicketsConfig


@functools.lru_cache(maxsize=64)
def official_holidays(year: int) -> dict[dt.date, str]:
    """Return Iran's official holidays of a Gregorian year with their Persian names."""
    calendar = holidays_package.country_holidays("IR", years=year, language="fa_IR")
    return {day: str(name) for day, name in calendar.items()}


def _parse_jalali_day(text: str) -> dt.date:
    parts = text.strip().split("-")
    if len(parts) != 3:
        raise ValueError(f"a Jalali YYYY-MM-DD date was expected, not {text!r}")
    return from_jalali(int(parts[0]), int(parts[1]), int(parts[2]))


def _parse_month_day(text: str) -> tuple[int, int]:
    parts = text.strip().split("-")
    if len(parts) != 2:
        raise ValueError(f"a Jalali MM-DD day was expected, not {text!r}")
    month, day = int(parts[0]), int(parts[1])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"no such Jalali day: {text!r}")
    return month, day


class WorkingCalendar:
    """Which days are working days, and counting in working days."""

    def __init__(self, config: TicketsConfig) -> None:
        self._weekend = frozenset(WEEKDAY_NUMBERS[name] for name in config.weekend_days)
        self._recurring = frozenset(_parse_month_day(t) for t in config.recurring_holidays)
        self._explicit = frozenset(_parse_jalali_day(t) for t in config.holidays)
        self._removed = frozenset(_parse_jalali_day(t) for t in config.not_holidays)
        self._derive = config.derive_holidays_from_calendar

    def is_weekend(self, day: dt.date) -> bool:
        return day.weekday() in self._weekend

    def is_holiday(self, day: dt.date) -> bool:
        """Return whether ``day`` is an official holiday (weekends aside)."""
        if day in self._removed:
            return False
        if day in self._explicit or to_jalali(day)[1:] in self._recurring:
            return True
        return self._derive and day in official_holidays(day.year)

    def holiday_name(self, day: dt.date) -> str | None:
        """Return the official Persian name of a derived holiday, ``""`` for one from the config
        lists only, or ``None`` when ``day`` is not a holiday."""
        if not self.is_holiday(day):
            return None
        if self._derive:
            return official_holidays(day.year).get(day, "")
        return ""

    def is_working_day(self, day: dt.date) -> bool:
        return not self.is_weekend(day) and not self.is_holiday(day)

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """Return the day on which ``count`` working days after ``start`` have passed.

        ``start`` itself is not counted (a request filed today is answered within N working
        days from tomorrow), so the result is always a working day when ``count`` > 0.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Return the working days in ``(start, end]``."""
        days = (end - start).days
        return sum(
            1 for i in range(1, days + 1) if self.is_working_day(start + dt.timedelta(days=i))
        )
