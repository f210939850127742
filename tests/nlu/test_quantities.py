"""The ``amount`` and ``month`` entities, and the tracking codes and Finglish relations of
issue 14: every digit script, number words, Toman and Rial, and relative months resolved
against a fixed today."""

from __future__ import annotations

import datetime as dt

import pytest

from nlu import EntityExtractor
from persian.jalali import from_jalali, resolve_month

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def found(extractor: EntityExtractor, text: str, name: str) -> list[tuple[str, str]]:
    """(value, surface) of every ``name`` entity in ``text``."""
    return [(e.value, text[e.start : e.end]) for e in extractor.extract(text) if e.entity == name]


@pytest.mark.parametrize("table", [None, PERSIAN, ARABIC], ids=["ascii", "persian", "arabic"])
@pytest.mark.parametrize(
    ("written", "rial"),
    [
        ("5 میلیون تومان", 50_000_000),
        ("12.5 میلیون", 125_000_000),
        ("2/5 میلیون تومن", 25_000_000),
        ("150,000,000 ریال", 150_000_000),
        ("120 000 000 ریال", 120_000_000),
        ("15000000 تومن", 150_000_000),
        ("500 هزار تومان", 5_000_000),
        ("20 تومن", 200),  # the literal amount; the wage step reads it in context
        ("1 میلیارد ریال", 1_000_000_000),
    ],
)
def test_amounts_in_digits_of_every_script(
    extractor: EntityExtractor, table: dict[int, str] | None, written: str, rial: int
) -> None:
    shown = written.translate(table) if table else written
    text = f"حق بیمه با دستمزد {shown} چقدر میشه"
    assert found(extractor, text, "amount") == [(str(rial), shown)]


@pytest.mark.parametrize(
    ("written", "rial"),
    [
        ("پونزده میلیون", 150_000_000),
        ("پانزده میلیون تومان", 150_000_000),
        ("دو میلیون و پانصد", 25_000_000),
        ("دو میلیون و پانصد هزار تومان", 25_000_000),
        ("بیست و پنج میلیون", 250_000_000),
        ("صد و بیست میلیون ریال", 120_000_000),
        ("یه میلیارد", 10_000_000_000),
        ("سیصد هزار تومن", 3_000_000),
        ("dah million toman", None),  # Latin number words are not read
    ],
)
def test_amounts_in_words(extractor: EntityExtractor, written: str, rial: int | None) -> None:
    amounts = found(extractor, f"دستمزدم {written} است", "amount")
    assert amounts == ([] if rial is None else [(str(rial), written)])


@pytest.mark.parametrize(
    "text",
    [
        "سال ۱۴۰۳ بیمه داشتم",  # a year
        "۲۷ درصد حقوق",  # a percentage
        "سه تا بچه دارم",  # a count
        "۲۰ روز مهلت",
        "کد ملی ۰۴۹۹۳۷۰۸۹۹",
    ],
)
def test_a_bare_number_is_no_amount(extractor: EntityExtractor, text: str) -> None:
    assert found(extractor, text, "amount") == []


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("فیش شهریور ۱۴۰۴", "1404-06", "شهریور ۱۴۰۴"),
        ("فیش شهریور ماه سال 1404", "1404-06", "شهریور ماه سال 1404"),
        ("فیش ۱۴۰۴/۰۶", "1404-06", "۱۴۰۴/۰۶"),
        ("فیش ١٤٠٣-٠٧", "1403-07", "١٤٠٣-٠٧"),
        ("فیش مهر", "07", "مهر"),
        ("فیش حقوقی مهر ماه", "07", "مهر ماه"),
        ("حقوق اسفند رو بده", "12", "اسفند"),
        ("فیش سه ماه پیش", "-3", "سه ماه پیش"),
        ("فیش ۲ ماه قبل", "-2", "۲ ماه قبل"),
        ("فیش ماه گذشته", "-1", "ماه گذشته"),
        ("بیمه ماه پیشم رد شده؟", "-1", "ماه پیشم"),
        ("فیش این ماه", "-0", "این ماه"),
    ],
)
def test_months(extractor: EntityExtractor, text: str, value: str, surface: str) -> None:
    assert found(extractor, text, "month") == [(value, surface)]


@pytest.mark.parametrize(
    "text",
    [
        "مهر اعتبار دفترچه",  # a seal, not Mehr
        "دفترچه رو باید ببرم شعبه مهر بزنن",
        "تیر خورد",  # an arrow
        "آذر خانم زنگ زد",  # a name
        "از ۳۱ شهریور بیمه‌ام رد نشده",  # a day of Shahrivar, not the month
        "۱۲ مرداد ۱۴۰۳",  # a date
        "دیروز رفتم شعبه",
        "مهریه همسرم",
    ],
)
def test_words_that_are_not_months(extractor: EntityExtractor, text: str) -> None:
    assert found(extractor, text, "month") == []


def test_relative_months_resolve_against_today() -> None:
    today = from_jalali(1405, 9, 15)  # 15 Azar 1405
    assert resolve_month("-3", today) == (1405, 6)
    assert resolve_month("-0", today) == (1405, 9)
    assert resolve_month("-12", today) == (1404, 9)
    # A month name alone is the latest one up to this month.
    assert resolve_month("07", today) == (1405, 7)
    assert resolve_month("09", today) == (1405, 9)
    assert resolve_month("10", today) == (1404, 10)
    assert resolve_month("1404-06", today) == (1404, 6)
    early = from_jalali(1405, 1, 2)
    assert resolve_month("-1", early) == (1404, 12)
    assert resolve_month("07", early) == (1404, 7)
    assert resolve_month("07", dt.date(2026, 12, 6)) == (1405, 7)
    for bad in ("13", "x", "1404-13", ""):
        with pytest.raises(ValueError):
            resolve_month(bad, today)


@pytest.mark.parametrize("table", [None, PERSIAN, ARABIC], ids=["ascii", "persian", "arabic"])
@pytest.mark.parametrize("code", ["1234567890", "123456789012"])
def test_other_tracking_codes_after_a_tracking_word(
    extractor: EntityExtractor, table: dict[int, str] | None, code: str
) -> None:
    shown = code.translate(table) if table else code
    assert found(extractor, f"کد رهگیری {shown} چی شد", "ticket_id") == [(code, shown)]
    assert found(extractor, f"پیگیری درخواست {shown}", "ticket_id") == [(code, shown)]
    # Without a tracking word ten digits are no code (here: a bad-checksum national ID).
    assert found(extractor, f"کد ملی {shown}", "ticket_id") == []


@pytest.mark.parametrize(
    ("text", "relation"),
    [
        ("pesaram bime dare?", "son"),
        ("dokhtaram tahte takafole?", "daughter"),
        ("khanumam bime dare", "spouse"),
        ("hamsaram ro ezafe konam", "spouse"),
        ("babam bime dare?", "father"),
        ("maman bime dare?", "mother"),
    ],
)
def test_finglish_relations(extractor: EntityExtractor, text: str, relation: str) -> None:
    assert [v for v, _ in found(extractor, text, "relation")] == [relation]
