"""Rial and Toman amounts: written the Persian way, and read back from what people type.

Amounts are ``int`` Rial everywhere inside; one Toman is ten Rial.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from persian.digits import to_ascii_digits, to_persian_digits

PERSIAN_THOUSANDS: Final = "٬"  # U+066C ARABIC THOUSANDS SEPARATOR, as Persian typography uses
Unit = Literal["rial", "toman"]

_SCALES: Final = {
    "هزار": 1_000,
    "میلیون": 1_000_000,
    "ملیون": 1_000_000,
    "میلیارد": 1_000_000_000,
    "ملیارد": 1_000_000_000,
    "k": 1_000,
    "m": 1_000_000,
}
_UNITS: Final[dict[str, Unit]] = {
    "ریال": "rial",
    "rial": "rial",
    "تومان": "toman",
    "تومن": "toman",
    "toman": "toman",
}
_NUMBER: Final = re.compile(r"\d[\d,٬،']*(?:[.٫/]\d+)?")


def _group(amount: int) -> str:
    return to_persian_digits(f"{amount:,}").replace(",", PERSIAN_THOUSANDS)


def format_rial(amount: int) -> str:
    """Return «۱۲٬۵۰۰٬۰۰۰ ریال»."""
    return f"{_group(amount)} ریال"


def format_toman(amount_rial: int) -> str:
    """Return the Toman form of a Rial amount, «۱٬۲۵۰٬۰۰۰ تومان» (rounded to whole Toman)."""
    toman = (amount_rial + 5) // 10 if amount_rial >= 0 else -((-amount_rial + 5) // 10)
    return f"{_group(toman)} تومان"


def format_amount(amount_rial: int) -> str:
    """Return «۱۲٬۵۰۰٬۰۰۰ ریال (۱٬۲۵۰٬۰۰۰ تومان)», the form replies use."""
    return f"{format_rial(amount_rial)} ({format_toman(amount_rial)})"


def parse_amount(text: str, *, default_unit: Unit = "toman") -> int | None:
    """Read an amount people typed and return it in Rial, or ``None`` when there is none.

    Accepts any digits, thousands separators, decimals with a scale word («۱۲.۵ میلیون»), scale
    words (هزار، میلیون، میلیارد) and a unit (ریال / تومان); without a unit ``default_unit``
    applies. «۱۵ میلیون تومان» → 150 000 000.
    """
    ascii_text = to_ascii_digits(text).lower().replace("ي", "ی").replace("ك", "ک")
    match = _NUMBER.search(ascii_text)
    if match is None:
        return None
    raw = match.group(0)
    digits = re.sub(r"[,٬،']", "", raw).replace("٫", ".").replace("/", ".")
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    rest = ascii_text[match.end() :]
    words = re.findall(r"[a-z]+|[^\W\d_]+", rest)
    unit: Unit = default_unit
    for word in words[:3]:
        if word in _SCALES:
            value *= _SCALES[word]
        elif word in _UNITS:
            unit = _UNITS[word]
            break
    rial = value * 10 if unit == "toman" else value
    return int(rial.to_integral_value())
