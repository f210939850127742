"""Normalisation of what people type, and the offset map back to the original text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persian import ZWNJ, normalize, normalize_with_map


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("مي‌خوام", "می‌خوام"),  # Arabic yeh
        ("كد ملي", "کد ملی"),  # Arabic kaf and yeh
        ("موسى", "موسی"),  # alef maksura
        ("بيمة", "بیمه"),  # teh marbuta
        ("أحمد إسلامی", "احمد اسلامی"),  # hamza forms of alef
        ("۱۲۳۴", "1234"),  # Persian digits
        ("١٢٣٤", "1234"),  # Arabic-Indic digits
        ("بیــــمه", "بیمه"),  # tatweel
        ("بِیمَه", "بیمه"),  # diacritics
        ("\u200fبیمه\u200e", "بیمه"),  # bidi marks
        ("\u202bبیمه\u202c", "بیمه"),  # embedding marks
        ("  بیمه \t\n  من  ", "بیمه من"),  # whitespace runs
        (f"بیمه{ZWNJ}{ZWNJ}ام", f"بیمه{ZWNJ}ام"),  # ZWNJ runs
        (f"بیمه{ZWNJ} ام", "بیمه ام"),  # ZWNJ next to a space
        ("بیمه \u200dام", "بیمه ام"),  # ZWJ treated as ZWNJ, then dropped next to a space
        (f"{ZWNJ}بیمه{ZWNJ}", "بیمه"),  # ZWNJ at the ends
        ("Estehghagh DARMAN", "estehghagh darman"),  # Finglish lower-cased
        ("", ""),
    ],
)
def test_normalize_cases(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_zwnj_as_space_splits_words() -> None:
    assert normalize(f"می{ZWNJ}خوام بیمه{ZWNJ}ام", zwnj_as_space=True) == "می خوام بیمه ام"


def test_lowercase_can_be_kept() -> None:
    assert normalize("OK", lowercase=False) == "OK"


def test_offsets_point_into_the_original() -> None:
    raw = "  كد ملی من  ۶۵۰۸۱۲۴۲۲۶ است"
    text, index = normalize_with_map(raw)
    start = text.index("6508124226")
    end = start + len("6508124226")
    assert raw[index[start] : index[end - 1] + 1] == "۶۵۰۸۱۲۴۲۲۶"


@given(st.text())
def test_normalize_is_idempotent(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once) == once


@given(st.text())
def test_map_has_one_increasing_index_per_character(raw: str) -> None:
    text, index = normalize_with_map(raw)
    assert len(text) == len(index)
    assert index == sorted(set(index))
    assert all(0 <= i < len(raw) for i in index)


@given(st.text())
def test_result_has_no_untidy_spacing(raw: str) -> None:
    text = normalize(raw)
    assert text == text.strip(f" {ZWNJ}")
    assert "  " not in text
    assert f"{ZWNJ} " not in text and f" {ZWNJ}" not in text and ZWNJ * 2 not in text
