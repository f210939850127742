"""Mobile numbers from every form people type them in."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persian import (
    InvalidMobile,
    mask_mobile,
    mask_national_id,
    normalize_mobile,
    to_persian_digits,
    try_normalize_mobile,
)


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "+989121234567",
        "00989121234567",
        "989121234567",
        "+98 912 123 4567",
        "0912-123-4567",
        "(0912) 123 45 67",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "+۹۸۹۱۲۱۲۳۴۵۶۷",
        "\u200e+98 912 123 4567\u200f",
    ],
)
def test_forms_normalise(raw: str) -> None:
    assert normalize_mobile(raw) == "09121234567"


@pytest.mark.parametrize(
    "raw",
    ["", "02112345678", "0912123456", "091212345678", "+19121234567", "08121234567", "abc"],
)
def test_not_mobiles(raw: str) -> None:
    with pytest.raises(InvalidMobile):
        normalize_mobile(raw)
    assert try_normalize_mobile(raw) is None


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_prefix_form_agrees(rest: str) -> None:
    canonical = "09" + rest
    for prefix in ("09", "9", "+989", "00989", "989"):
        assert normalize_mobile(prefix + rest) == canonical
        assert normalize_mobile(to_persian_digits(prefix + rest)) == canonical


def test_masks_hide_the_middle() -> None:
    assert mask_mobile("09121234567") == "0912***4567"
    assert mask_national_id("6508124226") == "650*****26"
    assert "1234567" not in mask_mobile("09121234567")
