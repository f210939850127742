"""Values written the way the catalogue's templates expect them: Persian digits, Jalali dates.

Handlers pass these results as template values; ``bot.render`` then escapes them.
"""

from __future__ import annotations

import datetime as dt

from bot import texts
from persian import (
    format_amount,
    format_jalali,
    format_jalali_long,
    format_jalali_month,
    to_persian_digits,
)
from services.clock import TEHRAN

__all__ = [
    "amount",
    "code",
    "date",
    "date_long",
    "digits",
    "jalali_moment",
    "month",
    "relation_label",
]


def digits(value: object) -> str:
    """Return ``value`` with Persian digits."""
    return to_persian_digits(value)


# Left-to-right isolate (LRI … PDI). In Persian text a code like 1420-022185 showed reversed
# (۰۲۲۱۸۵-۱۴۲۰): after Arabic letters its digits count as Arabic numbers (bidi rule W2) and the
# hyphen between two such numbers stays neutral, so the two groups were laid out right to left.
# Inside an isolate the digits are European again and the hyphen joins them (rule W4).
LRI = "\u2066"
PDI = "\u2069"


def code(value: object) -> str:
    """Return a tracking code (or any hyphenated number) with Persian digits, isolated LTR."""
    return f"{LRI}{to_persian_digits(value)}{PDI}"


def amount(rial: int) -> str:
    """Return «۱۲٬۵۰۰٬۰۰۰ ریال (۱٬۲۵۰٬۰۰۰ تومان)»."""
    return format_amount(rial)


def date(day: dt.date) -> str:
    """Return ``۱۴۰۳/۰۵/۱۲``."""
    return format_jalali(day)


def date_long(day: dt.date) -> str:
    """Return «۱۲ مرداد ۱۴۰۳»."""
    return format_jalali_long(day)


def month(year: int, month_number: int) -> str:
    """Return «مرداد ۱۴۰۳» for a Jalali year and month."""
    return format_jalali_month(year, month_number)


def time_of_day(time: dt.time) -> str:
    """Return «۰۸:۰۰» for a time of day (opening hours, quiet hours)."""
    return to_persian_digits(time.strftime("%H:%M"))


def clock_time(moment: dt.datetime) -> str:
    """Return «۱۴:۳۰» in Tehran time."""
    return time_of_day(moment.astimezone(TEHRAN).time())


def jalali_moment(moment: dt.datetime) -> str:
    """Return «ساعت ۱۴:۳۰ روز ۱۲ مرداد ۱۴۰۳» (Tehran time)."""
    local = moment.astimezone(TEHRAN)
    return f"ساعت {clock_time(local)} روز {format_jalali_long(local.date())}"


def relation_label(relation: object | None) -> str:
    """Return the Persian name of a dependant relation (``None`` is the insured person)."""
    if relation is None:
        return texts.RELATION_LABELS["self"]
    return texts.RELATION_LABELS.get(str(relation), str(relation))
