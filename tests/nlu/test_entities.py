"""Entity extraction: every digit script and format, refusals, offsets into the original text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu import EntityExtractor
from persian import national_id_check_digit, to_persian_digits

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
AR = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str, str]]:
    """(entity, value, the original substring its offsets point at)."""
    return [(e.entity, e.value, text[e.start : e.end]) for e in extractor.extract(text)]


@pytest.mark.parametrize("table", [None, FA, AR], ids=["ascii", "persian", "arabic"])
@pytest.mark.parametrize(
    ("template", "digits", "value"),
    [
        ("کد ملی من {} است", "0830166130", "0830166130"),
        ("codemelli:{}", "5260181591", "5260181591"),
        ("کدملی {} لطفا", "013-962459-7", "0139624597"),
        ("ملی {} ", "121 547 2803", "1215472803"),
    ],
)
def test_national_id_in_every_script(
    extractor: EntityExtractor,
    table: dict[int, str] | None,
    template: str,
    digits: str,
    value: str,
) -> None:
    written = digits.translate(table) if table else digits
    text = template.format(written)
    assert found(extractor, text) == [("national_id", value, written)]


@pytest.mark.parametrize("table", [None, FA, AR], ids=["ascii", "persian", "arabic"])
@pytest.mark.parametrize(
    "written",
    [
        "09121234567",
        "0912 123 4567",
        "0912-123-45-67",
        "+989121234567",
        "+98 912 123 4567",
        "00989121234567",
        "989121234567",
        "9121234567",
    ],
)
def test_mobile_in_every_form(
    extractor: EntityExtractor, table: dict[int, str] | None, written: str
) -> None:
    shown = written.translate(table) if table else written
    text = f"موبایلم {shown} هست"
    assert found(extractor, text) == [("mobile", "09121234567", shown)]


@pytest.mark.parametrize(
    "text",
    [
        "کد ملی ۱۲۳۴۵۶۷۸۹۰ بیمه داره؟",  # bad checksum
        "کد ملی ۵۲۶۰۱۸۱۵۹۴",  # one digit off a valid code
        "کدملی 1111111111",  # repeated digit: passes the arithmetic, never issued
        "کد ملی ٠٠٠٠٠٠٠٠٠٠",
        "کد ملی ۰۸۳۰۱۶۶۱",  # too short
        "تلفن ثابت ۰۲۱-۸۸۷۷۶۶۵۵",  # landline
        "شماره ۰۳۱ ۳۲۲۲ ۴۴۵۵",
        "حقوقم ۱۲ ۰۰۰ ۰۰۰ تومنه",  # «تومنه» (is Toman) is read at the wage step, not here
        "سال ۱۴۰۳ بیمه داشتم",  # a year
        "کارت ۶۰۳۷ ۹۹۱۱ ۲۳۴۵ ۶۷۸۹",  # a card number
        "شماره ۰۹۱۲۱۲۳۴۵۶۷۸",  # a mobile with a digit too many
        "کد پیگیری ۱۴۲۰-۱۲۳۴۵",  # five digits after 1420
        "تاریخ ۱۴۰۲/۱۳/۰۱",  # no month 13
        "۳۰ اسفند ۱۴۰۲",  # 1402 is not a leap year
        "کد *1420*4#",
    ],
)
def test_numbers_that_are_not_entities(extractor: EntityExtractor, text: str) -> None:
    assert extractor.extract(text) == []


def test_ten_digits_starting_with_nine_follow_the_words_before_them(
    extractor: EntityExtractor,
) -> None:
    # 9378657974 is a valid national ID and also a mobile written without its 0.
    assert found(extractor, "شماره همراهم 9378657974")[0][:2] == ("mobile", "09378657974")
    assert found(extractor, "کد ملی 9378657974")[0][:2] == ("national_id", "9378657974")
    assert found(extractor, "کد ملی 9378657975") == []


def test_two_numbers_side_by_side_are_split(extractor: EntityExtractor) -> None:
    text = "۳۰۴۳۴۸۳۹۵۲ ۰۹۱۵۵۵۵۴۴۳۳"
    assert found(extractor, text) == [
        ("national_id", "3043483952", "۳۰۴۳۴۸۳۹۵۲"),
        ("mobile", "09155554433", "۰۹۱۵۵۵۵۴۴۳۳"),
    ]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1420-123456", "1420-123456"),
        ("۱۴۲۰-۶۵۴۳۲۱", "1420-654321"),
        ("١٤٢٠ - ٠٠٠١٢٣", "1420-000123"),
        ("1420 –998877", "1420-998877"),
    ],
)
def test_ticket_ids(extractor: EntityExtractor, written: str, value: str) -> None:
    assert found(extractor, f"پیگیری {written} چی شد") == [("ticket_id", value, written)]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("۱۴۰۳/۰۵/۱۲", "1403-05-12"),
        ("1403-5-12", "1403-05-12"),
        ("١٤٠٢.١١.٣٠", "1402-11-30"),
        ("۱۰/۰۹/۱۴۰۲", "1402-09-10"),
        ("۱۲ مرداد ۱۴۰۳", "1403-05-12"),
        ("3 آبان ماه 1403", "1403-08-03"),
        ("۱ فروردين ۱۴۰۳", "1403-01-01"),
        ("۳۰ اسفند ۱۴۰۳", "1403-12-30"),
    ],
)
def test_jalali_dates(extractor: EntityExtractor, written: str, value: str) -> None:
    assert found(extractor, f"از {written} بیمه‌ام قطعه") == [("date", value, written)]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("همسرم", "spouse"),
        ("خانمم", "spouse"),
        ("خانومم", "spouse"),
        ("شوهرم", "spouse"),
        ("عيالم", "spouse"),  # Arabic yeh
        ("پسرم", "son"),
        ("دخترم", "daughter"),
        ("بچه‌ام", "child"),
        ("بچه ام", "child"),
        ("بچم", "child"),
        ("فرزندم", "child"),
        ("نوزادم", "child"),
        ("پدرم", "father"),
        ("بابام", "father"),
        ("مادرم", "mother"),
        ("مامانم", "mother"),
        ("pesaram", "son"),
    ],
)
def test_relations(extractor: EntityExtractor, written: str, value: str) -> None:
    assert found(extractor, f"بیمه {written} رو میخوام") == [("relation", value, written)]


def test_relation_with_colloquial_object_ending(extractor: EntityExtractor) -> None:
    assert found(extractor, "میخوام پسرمو اضافه کنم") == [("relation", "son", "پسرم")]


@pytest.mark.parametrize(
    "text", ["پدربزرگم بیمه داره؟", "مادر بزرگم", "پسرعموم", "پدرخانمم", "دوست پسر", "بابا جان"]
)
def test_words_that_are_not_relations(extractor: EntityExtractor, text: str) -> None:
    assert extractor.extract(text) == []


def test_offsets_survive_what_the_normaliser_removes(extractor: EntityExtractor) -> None:
    # Bidi marks, tatweel, a ZWNJ before a space and diacritics shift every later index.
    text = "\u200fسلامـــ\u200c  كد مَلي\u200e: ۰۸۳۰۱۶۶۱۳۰ و همراه \u202a+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷\u202c"
    assert found(extractor, text) == [
        ("national_id", "0830166130", "۰۸۳۰۱۶۶۱۳۰"),
        ("mobile", "09121234567", "+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷"),
    ]


def test_several_entities_in_order(extractor: EntityExtractor) -> None:
    text = "مادرم با کد ملی 0334018781 از ۱۲ مرداد ۱۴۰۳ بیمه نداره، تیکت ۱۴۲۰-۱۱۱۲۲۲"
    assert [e[0] for e in found(extractor, text)] == [
        "relation",
        "national_id",
        "date",
        "ticket_id",
    ]


def test_ids_keep_their_leading_zeros(extractor: EntityExtractor) -> None:
    [entity] = extractor.extract("کد ملی ۰۰۱۰۰۰۰۰۰۳")
    assert entity.value == "0010000003"


@settings(max_examples=60, deadline=None)
@given(
    first_nine=st.text(alphabet="0123456789", min_size=9, max_size=9),
    script=st.sampled_from(["ascii", "persian", "arabic"]),
    prefix=st.sampled_from(["کد ملی ", "كد ملي: ", "ملی‌ام ", "codemelli "]),
    suffix=st.sampled_from(["", " هست", "، ممنون", "\u200f"]),
)
def test_any_valid_national_id_is_found_with_its_offsets(
    extractor: EntityExtractor, first_nine: str, script: str, prefix: str, suffix: str
) -> None:
    code = first_nine + national_id_check_digit(first_nine)
    if len(set(code)) == 1:
        return
    shown = {"ascii": code, "persian": to_persian_digits(code), "arabic": code.translate(AR)}[
        script
    ]
    text = prefix + shown + suffix
    assert found(extractor, text) == [("national_id", code, shown)]


@pytest.mark.parametrize(
    "text",
    [
        "سلام علیکم پسرم، بیمه‌ام هنوز فعاله؟",
        "سلام دخترم. فیش حقوقی این ماهم رو میخوام",
        "ممنونم مادر!",
        "دستت درد نکنه، خدا خیرت بده پسرم",
        "سلام پسر جان، دفترچه‌ام تموم شده",
        "درود دخترم",
    ],
)
def test_a_relation_word_that_addresses_the_bot_names_nobody(
    extractor: EntityExtractor, text: str
) -> None:
    # Older users call the bot «پسرم/دخترم/مادر»: answering for their son instead of them would
    # be the wrong person's record.
    assert [e for e in found(extractor, text) if e[0] == "relation"] == []


@pytest.mark.parametrize(
    ("text", "relation"),
    [
        ("سلام، پسرم بیمه داره؟", "son"),
        ("سلام پسرم بیمه داره؟", "son"),
        ("سلام علیکم. دخترم زیر بیمه منه؟", "daughter"),
        ("ممنون، مادرم چی؟", "mother"),
        ("پسرم، بیمه‌اش قطع شده", "son"),
    ],
)
def test_a_relation_word_after_a_greeting_that_starts_the_question_is_kept(
    extractor: EntityExtractor, text: str, relation: str
) -> None:
    assert [e[1] for e in found(extractor, text) if e[0] == "relation"] == [relation]
