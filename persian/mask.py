"""Masking of personal identifiers for logs and for agents who have not opened a record."""

import re
from typing import Final

from persian.digits import to_ascii_digits

# What the bot's own parsers (persian.mobile, persian.national_id) skip between digits: spaces,
# dashes, underscores, dots, brackets, the half-space and bidi marks. Whatever they would read
# as an ID or a mobile must be masked, or «650.812.4226» reaches an agent in clear.
_SEP_CHARS: Final = r"\s\-_.()\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# A run of digits in any script (``\d`` matches Persian and Arabic-Indic digits too), possibly
# with +98/0098, an opening bracket, and short runs of separators inside, that is not part of a
# longer number.
DIGIT_RUN: Final = re.compile(
    rf"(?<!\d)\(?(?:\+|00)?\(?\d(?:\d|[{_SEP_CHARS}]{{1,3}}(?=\d)){{9,15}}(?!\d)"
)
_SEPARATORS: Final = re.compile(rf"[{_SEP_CHARS}+]")
_MOBILE: Final = re.compile(r"^(?:98|0098|0)?(9\d{9})$")


def mask_national_id(national_id: str) -> str:
    """Return ``6508****26``-style masking: the first three and last two digits stay."""
    if len(national_id) < 6:
        return "*" * len(national_id)
    return national_id[:3] + "*" * (len(national_id) - 5) + national_id[-2:]


def mask_mobile(mobile: str) -> str:
    """Return ``0912***4567``-style masking: operator prefix and last four digits stay."""
    if len(mobile) < 8:
        return "*" * len(mobile)
    return mobile[:4] + "*" * (len(mobile) - 8) + mobile[-4:]


def _mask_run(match: re.Match[str]) -> str:
    digits = _SEPARATORS.sub("", to_ascii_digits(match.group(0)))
    mobile = _MOBILE.match(digits)
    if mobile:
        return mask_mobile("0" + mobile.group(1))
    if len(digits) < 10:
        # Separators count towards the run's length: a short number spaced out is no ID.
        return match.group(0)
    # Long numbers that are not national IDs are masked too: card and account numbers are
    # personal as well.
    return mask_national_id(digits)


def mask_identifiers(text: str) -> str:
    """Return ``text`` with national IDs, mobiles and other long numbers masked."""
    return DIGIT_RUN.sub(_mask_run, text)
