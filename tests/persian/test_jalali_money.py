"""Jalali dates and Rial/Toman amounts at the edges."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persian import (
    format_amount,
    format_jalali,
    format_jalali_long,
    format_jalali_month,
    format_rial,
    format_toman,
    parse_amount,
    parse_jalali,
    to_jalali,
)


def test_known_dates() -> None:
    assert to_jalali(dt.date(2024, 8, 2)) == (1403, 5, 12)
    assert to_jalali(dt.date(2020, 5, 21)) == (1399, 3, 1)  # end of booklet crediting
    assert format_jalali(dt.date(2024, 8, 2)) == "۱۴۰۳/۰۵/۱۲"
    assert format_jalali_long(dt.date(2024, 8, 2)) == "۱۲ مرداد ۱۴۰۳"
    assert format_jalali_month(1403, 12) == "اسفند ۱۴۰۳"


@pytest.mark.parametrize(
    "raw",
    ["۱۴۰۳/۰۵/۱۲", "1403-5-12", "1403.05.12", "١٤٠٣/٥/١٢", "۱۲ مرداد ۱۴۰۳", "12 مرداد ماه 1403"],
)
def test_parse_forms(raw: str) -> None:
    assert parse_jalali(raw) == dt.date(2024, 8, 2)


@pytest.mark.parametrize(
    "raw", ["1403/13/01", "1403/12/31", "سلام", "۳۲ مرداد ۱۴۰۳", "12 فلان 1403"]
)
def test_parse_refuses(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_jalali(raw)


def test_leap_year_end() -> None:
    assert parse_jalali("1403/12/30") == dt.date(2025, 3, 20)  # 1403 is a leap year


@given(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_format_parse_round_trip(day: dt.date) -> None:
    assert parse_jalali(format_jalali(day)) == day
    assert parse_jalali(format_jalali_long(day)) == day


def test_amounts_are_written_the_persian_way() -> None:
    assert format_rial(125_000_000) == "۱۲۵٬۰۰۰٬۰۰۰ ریال"
    assert format_toman(125_000_000) == "۱۲٬۵۰۰٬۰۰۰ تومان"
    assert format_amount(0) == "۰ ریال (۰ تومان)"
    assert format_toman(125) == "۱۳ تومان"  # rounded to whole Toman


@pytest.mark.parametrize(
    ("raw", "rial"),
    [
        ("۱۵ میلیون تومان", 150_000_000),
        ("15 ملیون تومن", 150_000_000),
        ("۱۲.۵ میلیون", 125_000_000),
        ("۱۵٬۰۰۰٬۰۰۰ ریال", 15_000_000),
        ("15,000,000", 150_000_000),
        ("500 هزار تومان", 5_000_000),
        ("حقوقم ۲۰ میلیون تومنه", 200_000_000),
        ("دو میلیون", None),
        ("", None),
    ],
)
def test_parse_amount(raw: str, rial: int | None) -> None:
    assert parse_amount(raw) == rial


def test_parse_amount_default_unit() -> None:
    assert parse_amount("1000", default_unit="rial") == 1000
