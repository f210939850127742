"""Iranian national ID (کد ملی): ten digits, the last a checksum of the first nine.

The check: r = Σ dᵢ·(10−i) mod 11 over the first nine digits (i = 0…8); the check digit is r
when r < 2, else 11 − r. Codes of one repeated digit pass the arithmetic but are not issued.
A national ID is a string, never an int: leading zeros are significant.
"""

import re
from enum import StrEnum
from typing import Final

from persian.digits import to_ascii_digits

_SEPARATORS: Final = re.compile(r"[\s\-_.\u200c]+")


class NationalIdProblem(StrEnum):
    """Why a typed national ID was refused, so the caller can explain it."""

    EMPTY = "empty"
    NOT_DIGITS = "not_digits"
    WRONG_LENGTH = "wrong_length"
    REPEATED = "repeated"
    CHECKSUM = "checksum"


class InvalidNationalId(ValueError):
    """The text is not a valid national ID; ``problem`` says why."""

    def __init__(self, problem: NationalIdProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def national_id_check_digit(first_nine: str) -> str:
    """Return the check digit for nine ASCII digits."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("nine ASCII digits expected")
    r = sum((ord(c) - 48) * (10 - i) for i, c in enumerate(first_nine)) % 11
    return str(r if r < 2 else 11 - r)


def normalize_national_id(raw: str) -> str:
    """Return the ten ASCII digits of a typed national ID, or raise :class:`InvalidNationalId`.

    Accepts Persian, Arabic-Indic and ASCII digits, with spaces, dashes or dots between them.
    """
    text = _SEPARATORS.sub("", to_ascii_digits(raw.strip()))
    if not text:
        raise InvalidNationalId(NationalIdProblem.EMPTY)
    if not (text.isascii() and text.isdigit()):
        raise InvalidNationalId(NationalIdProblem.NOT_DIGITS)
    if len(text) != 10:
        raise InvalidNationalId(NationalIdProblem.WRONG_LENGTH)
    if text == text[0] * 10:
        raise InvalidNationalId(NationalIdProblem.REPEATED)
    if national_id_check_digit(text[:9]) != text[9]:
        raise InvalidNationalId(NationalIdProblem.CHECKSUM)
    return text


def validate_national_id(raw: str) -> bool:
    """Return whether ``raw`` is a valid national ID (see :func:`normalize_national_id`)."""
    try:
        normalize_national_id(raw)
    except InvalidNationalId:
        return False
    return True
