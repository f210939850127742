"""Digit scripts: Persian (۰–۹), Arabic-Indic (٠–٩) and ASCII (0–9)."""

from typing import Final

PERSIAN_DIGITS: Final = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS: Final = "٠١٢٣٤٥٦٧٨٩"
ASCII_DIGITS: Final = "0123456789"

_TO_ASCII: Final = str.maketrans(PERSIAN_DIGITS + ARABIC_DIGITS, ASCII_DIGITS * 2)
_TO_PERSIAN: Final = str.maketrans(ASCII_DIGITS + ARABIC_DIGITS, PERSIAN_DIGITS * 2)


def to_ascii_digits(text: str) -> str:
    """Return ``text`` with Persian and Arabic-Indic digits replaced by ASCII ones."""
    return text.translate(_TO_ASCII)


def to_persian_digits(text: object) -> str:
    """Return ``str(text)`` with ASCII and Arabic-Indic digits written in Persian, for output."""
    return str(text).translate(_TO_PERSIAN)
