"""Iranian mobile numbers, normalised to the eleven-digit ``09xxxxxxxxx`` form."""

import re
from typing import Final

from persian.digits import to_ascii_digits

# Separators people put inside numbers: spaces, dashes, dots, brackets, ZWNJ, bidi marks.
_SEPARATORS: Final = re.compile(r"[\s\-_.()\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_FORMS: Final = re.compile(r"^(?:\+98|0098|98|0)?(9\d{9})$")


class InvalidMobile(ValueError):
    """The text is not an Iranian mobile number."""


def normalize_mobile(raw: str) -> str:
    """Return ``09xxxxxxxxx`` for 09…, 9…, +989…, 00989… or 989… in any digits and spacing."""
    text = _SEPARATORS.sub("", to_ascii_digits(raw.strip()))
    match = _FORMS.match(text)
    if match is None:
        raise InvalidMobile(raw)
    return "0" + match.group(1)


def try_normalize_mobile(raw: str) -> str | None:
    """Return the normalised mobile, or ``None`` when ``raw`` is not one."""
    try:
        return normalize_mobile(raw)
    except InvalidMobile:
        return None
