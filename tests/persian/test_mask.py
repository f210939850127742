"""Masking identifiers inside free text (what the console shows and the logs keep)."""

import pytest

from persian import mask_identifiers, normalize_mobile, normalize_national_id, to_ascii_digits


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


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("کد ملی 650.812.4226", "کد ملی 650*****26"),
        ("0912.123.4567", "0912***4567"),
        ("شماره (0912) 123 4567 است", "شماره 0912***4567 است"),
        ("(+98) 912-123-4567", "0912***4567"),
        ("۶۵۰\u200c۸۱۲\u200c۴۲۲۶", "650*****26"),
        ("650_812_4226", "650*****26"),
        ("\u2066650 812 4226\u2069", "\u2066650*****26\u2069"),
    ],
)
def test_every_separator_the_parsers_accept_is_masked(text: str, masked: str) -> None:
    assert mask_identifiers(text) == masked


@pytest.mark.parametrize(
    "typed",
    ["650.812.4226", "650\u200c812\u200c4226", "650-812-4226", "650_812_4226", "650 812 4226"],
)
def test_no_national_id_the_bot_accepts_survives_masking(typed: str) -> None:
    # The promise is tied to the parser: what it reads as an ID must not appear in clear.
    assert normalize_national_id(typed) == "6508124226"
    assert "6508124226" not in to_ascii_digits(mask_identifiers(f"کد من {typed} است"))
    assert "812" not in mask_identifiers(f"کد من {typed} است")


@pytest.mark.parametrize(
    "typed", ["0912.123.4567", "(0912) 123 4567", "0912\u200c123\u200c4567", "+98 (912) 123-4567"]
)
def test_no_mobile_the_bot_accepts_survives_masking(typed: str) -> None:
    assert normalize_mobile(typed) == "09121234567"
    assert mask_identifiers(f"شماره‌ام {typed}") == "شماره‌ام 0912***4567"
