"""Digit scripts in and out."""

from hypothesis import given
from hypothesis import strategies as st

from persian import to_ascii_digits, to_persian_digits


def test_all_scripts_to_ascii() -> None:
    assert to_ascii_digits("۰۱۲۳۴۵۶۷۸۹ ٠١٢٣٤٥٦٧٨٩ 0123456789") == (
        "0123456789 0123456789 0123456789"
    )


def test_output_is_persian() -> None:
    assert to_persian_digits("1420 و ٤") == "۱۴۲۰ و ۴"
    assert to_persian_digits(2024) == "۲۰۲۴"


@given(st.text(alphabet="0123456789"))
def test_round_trip(digits: str) -> None:
    assert to_ascii_digits(to_persian_digits(digits)) == digits
