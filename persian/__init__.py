"""Persian text and Iranian identifiers: the ground floor of the project.

Pure functions with no dependency on the rest of the code base: normalisation of what people
type (Arabic letters, three digit scripts, half-spaces, bidi marks), national-ID and mobile
validation, Jalali dates and Rial/Toman amounts written the Persian way.
"""

from persian.digits import to_ascii_digits, to_persian_digits
from persian.jalali import (
    JALALI_MONTHS,
    format_jalali,
    format_jalali_long,
    format_jalali_month,
    parse_jalali,
    to_jalali,
)
from persian.mask import mask_identifiers, mask_mobile, mask_national_id
from persian.mobile import InvalidMobile, normalize_mobile, try_normalize_mobile
from persian.money import format_amount, format_rial, format_toman, parse_amount
from persian.national_id import (
    InvalidNationalId,
    national_id_check_digit,
    normalize_national_id,
    validate_national_id,
)
from persian.text import ZWNJ, normalize, normalize_with_map, strip_control, visible_length

__all__ = [
    "JALALI_MONTHS",
    "ZWNJ",
    "InvalidMobile",
    "InvalidNationalId",
    "format_amount",
    "format_jalali",
    "format_jalali_long",
    "format_jalali_month",
    "format_rial",
    "format_toman",
    "mask_identifiers",
    "mask_mobile",
    "mask_national_id",
    "national_id_check_digit",
    "normalize",
    "normalize_mobile",
    "normalize_national_id",
    "normalize_with_map",
    "parse_amount",
    "parse_jalali",
    "strip_control",
    "to_ascii_digits",
    "to_jalali",
    "to_persian_digits",
    "try_normalize_mobile",
    "validate_national_id",
    "visible_length",
]
