"""Masking identifiers inside free text (what the console shows and the logs keep)."""

import pytest

from persian import mask_identifiers


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("کد ۶۵۰۸۱۲۴۲۲۶ و +98 912 123 4567", "کد 650*****26 و 0912***4567"),
        ("شماره‌ام 0912-123-4567 است", "شماره‌ام 0912***4567 است"),
        ("۰۰۹۸۹۱۲۱۲۳۴۵۶۷", "0912***4567"),
        ("٩١٢١٢٣٤٥٦٧", "0912***4567"),
        # A card number is personal too.
        ("کارت 6037991812345678", "کارت 603***********78"),
    ],
)
def test_identifiers_are_masked_in_any_digits_and_spacing(text: str, masked: str) -> None:
    assert mask_identifiers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "سال ۱۴۰۳",
        "update 1071 in 12.5 ms",
        # Nine digits spaced out reach the run's length but are no identifier.
        "1 2 3 4 5 6 7 8 9",
        # Part of a longer number: not cut out of it.
        "12345678901234567890",
    ],
)
def test_short_numbers_and_other_text_stay(text: str) -> None:
    assert mask_identifiers(text) == text
