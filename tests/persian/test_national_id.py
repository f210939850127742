"""The national-ID checksum, exhaustively at its edges, and never through int()."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persian import (
    InvalidNationalId,
    national_id_check_digit,
    normalize_national_id,
    validate_national_id,
)
from persian.national_id import NationalIdProblem

PERSONA_IDS = [
    "6508124226",
    "0536362165",
    "1090583893",
    "2739897952",
    "3486477986",
    "4980594433",
    "8332279291",
]


@pytest.mark.parametrize("national_id", PERSONA_IDS)
def test_demo_personas_are_valid(national_id: str) -> None:
    assert validate_national_id(national_id)


def test_leading_zeros_are_kept() -> None:
    assert normalize_national_id("۰۵۳۶۳۶۲۱۶۵") == "0536362165"


@pytest.mark.parametrize(
    "raw", ["۶۵۰۸۱۲۴۲۲۶", "٦٥٠٨١٢٤٢٢٦", "650-812-4226", " 650 812 4226 ", "6508124226"]
)
def test_any_digits_and_separators(raw: str) -> None:
    assert normalize_national_id(raw) == "6508124226"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NationalIdProblem.EMPTY),
        ("   ", NationalIdProblem.EMPTY),
        ("65081242x6", NationalIdProblem.NOT_DIGITS),
        ("650812422", NationalIdProblem.WRONG_LENGTH),
        ("65081242260", NationalIdProblem.WRONG_LENGTH),
        ("6508124227", NationalIdProblem.CHECKSUM),
        ("1111111111", NationalIdProblem.REPEATED),
        ("0000000000", NationalIdProblem.REPEATED),
    ],
)
def test_refusals_say_why(raw: str, problem: NationalIdProblem) -> None:
    with pytest.raises(InvalidNationalId) as info:
        normalize_national_id(raw)
    assert info.value.problem is problem


@pytest.mark.parametrize("digit", "0123456789")
def test_every_repeated_digit_code_is_invalid(digit: str) -> None:
    assert not validate_national_id(digit * 10)


def _reference_check(first_nine: str) -> str:
    r = sum(int(c) * (10 - i) for i, c in enumerate(first_nine)) % 11
    return str(r if r < 2 else 11 - r)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_is_valid(first_nine: str) -> None:
    check = national_id_check_digit(first_nine)
    assert check == _reference_check(first_nine)
    valid = [d for d in "0123456789" if validate_national_id(first_nine + d)]
    expected = [] if len(set(first_nine + check)) == 1 else [check]
    assert valid == expected


def test_check_digit_needs_nine_ascii_digits() -> None:
    with pytest.raises(ValueError, match="nine"):
        national_id_check_digit("۱۲۳۴۵۶۷۸۹")
