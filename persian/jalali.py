"""Jalali (Solar Hijri) dates at the edges: internal dates are ``datetime.date``.

Formatting writes Persian digits; parsing accepts any digits and the common forms people type:
``۱۴۰۳/۰۵/۱۲``, ``1403-5-12``, ``1403.05.12`` and «۱۲ مرداد ۱۴۰۳».
"""

import datetime as dt
import functools
import re
from typing import Final

import jdatetime

from persian.digits import to_ascii_digits, to_persian_digits

# jdatetime's own names are never used (see JALALI_MONTHS); naming the locale only stops it from
# reading the process locale for every date it makes.
_JDATETIME_LOCALE: Final = "fa_IR"

JALALI_MONTHS: Final = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
# Spellings people use besides the canonical ones (Arabic letters are normalised beforehand).
_MONTH_ALIASES: Final = {name: i + 1 for i, name in enumerate(JALALI_MONTHS)} | {
    "اردبیهشت": 2,
    "امرداد": 5,
    "ابان": 8,
}
_NUMERIC: Final = re.compile(r"^\s*(\d{4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*$")
_WORDS: Final = re.compile(r"^\s*(\d{1,2})\s+(\S+)\s+(?:ماه\s+)?(?:سال\s+)?(\d{4})\s*$")


@functools.lru_cache(maxsize=4096)
def to_jalali(day: dt.date) -> tuple[int, int, int]:
    """Return the Jalali (year, month, day) of a Gregorian date."""
    # An explicit locale spares jdatetime a look at the process locale on every date.
    j = jdatetime.date.fromgregorian(date=day, locale=_JDATETIME_LOCALE)
    return j.year, j.month, j.day


def from_jalali(year: int, month: int, day: int) -> dt.date:
    """Return the Gregorian date of a Jalali date; raise ``ValueError`` if it does not exist."""
    try:
        result: dt.date = jdatetime.date(year, month, day, locale=_JDATETIME_LOCALE).togregorian()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"no such Jalali date: {year}-{month}-{day}") from exc
    return result


def format_jalali(day: dt.date) -> str:
    """Return ``۱۴۰۳/۰۵/۱۲``."""
    y, m, d = to_jalali(day)
    return to_persian_digits(f"{y:04d}/{m:02d}/{d:02d}")


def format_jalali_long(day: dt.date) -> str:
    """Return «۱۲ مرداد ۱۴۰۳»."""
    y, m, d = to_jalali(day)
    return f"{to_persian_digits(d)} {JALALI_MONTHS[m - 1]} {to_persian_digits(y)}"


def format_jalali_month(year: int, month: int) -> str:
    """Return «مرداد ۱۴۰۳» for a Jalali year and month."""
    if not 1 <= month <= 12:
        raise ValueError(f"no such Jalali month: {month}")
    return f"{JALALI_MONTHS[month - 1]} {to_persian_digits(year)}"


def month_number(name: str) -> int | None:
    """Return 1–12 for a Jalali month name (Arabic letters already normalised), else ``None``."""
    return _MONTH_ALIASES.get(name.strip())


def parse_jalali(text: str) -> dt.date:
    """Parse a typed Jalali date into a Gregorian ``date``; raise ``ValueError`` if it is not one."""
    ascii_text = to_ascii_digits(text).replace("ي", "ی").replace("ك", "ک")
    match = _NUMERIC.match(ascii_text)
    if match:
        return from_jalali(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = _WORDS.match(ascii_text)
    if match:
        month = month_number(match.group(2))
        if month is not None:
            return from_jalali(int(match.group(3)), month, int(match.group(1)))
    raise ValueError(f"not a Jalali date: {text!r}")


# --- arithmetic on the Jalali calendar -----------------------------------------------------


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    """Return full years of age on ``on``, counted on the Jalali calendar.

    Iranians' birthdays are Jalali dates, so a son turns 20 on the Jalali anniversary of his
    birth (which can be a day off the Gregorian one). Someone born on 30 Esfand of a leap year
    has their birthday on 1 Farvardin in common years.
    """
    by, bm, bd = to_jalali(birth_date)
    y, m, d = to_jalali(on)
    return y - by - (1 if (m, d) < (bm, bd) else 0)


def jalali_anniversary(birth_date: dt.date, years: int) -> dt.date:
    """Return the day on which someone born on ``birth_date`` turns ``years`` old."""
    by, bm, bd = to_jalali(birth_date)
    try:
        return from_jalali(by + years, bm, bd)
    except ValueError:  # 30 Esfand in a common year: the next day, 1 Farvardin
        return from_jalali(by + years + 1, 1, 1)


def add_jalali_months(day: dt.date, months: int) -> dt.date:
    """Return the same day ``months`` Jalali months later (clamped to the month's last day)."""
    y, m, d = to_jalali(day)
    index = y * 12 + (m - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = jalali_month_length(year, month)
    return from_jalali(year, month, min(d, last))


def jalali_month_length(year: int, month: int) -> int:
    """Return the number of days of a Jalali month."""
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if jdatetime.date(year, 1, 1).isleap() else 29


def jalali_month_end(year: int, month: int) -> dt.date:
    """Return the Gregorian date of the last day of a Jalali month."""
    return from_jalali(year, month, jalali_month_length(year, month))


def previous_jalali_month(year: int, month: int, back: int = 1) -> tuple[int, int]:
    """Return the Jalali (year, month) ``back`` months before ``(year, month)`` (after it when
    ``back`` is negative)."""
    index = year * 12 + (month - 1) - back
    y, m = divmod(index, 12)
    return y, m + 1


def resolve_month(value: str, today: dt.date) -> tuple[int, int]:
    """Return the Jalali (year, month) a ``month`` entity names, as of ``today``.

    ``"1404-06"`` is that month; ``"07"`` is the latest Mehr up to this month (this year's if it
    has begun, else last year's); ``"-3"`` is three months before this one (``"-0"`` this month).
    Raises ``ValueError`` for anything else.
    """
    year, month, _ = to_jalali(today)
    if value.startswith("-"):
        back = int(value[1:])
        return previous_jalali_month(year, month, back)
    if len(value) == 2:
        named = int(value)
        if not 1 <= named <= 12:
            raise ValueError(f"no such Jalali month: {value}")
        return (year if named <= month else year - 1), named
    y, _, m = value.partition("-")
    if not (y.isdigit() and m.isdigit() and 1 <= int(m) <= 12):
        raise ValueError(f"not a month: {value!r}")
    return int(y), int(m)
