"""Amounts of money and months as people write them, for the entity extractor.

Both run on the normaliser's output (ASCII digits, Persian letters, lower-case Latin):

- ``amount``: digits or number words with a scale word (هزار، میلیون، میلیارد) or a currency
  (تومان، تومن، ریال), «۵ میلیون تومان», «پونزده میلیون», «دو میلیون و پانصد», «20 تومن». The
  value is whole Rial as a string; Toman is the default, as people speak. A bare number is never
  an amount (it may be a year, an ID or a count).
- ``month``: a Jalali month with its year («شهریور ۱۴۰۴», «۱۴۰۴/۰۶») is ``"1404-06"``; a month
  name alone («مهر», «مهر ماه») is ``"07"`` and a relative month («سه ماه پیش», «ماه قبل», «این
  ماه») is ``"-3"``, ``"-1"``, ``"-0"``. The NLU has no clock: the last two are resolved against
  today by whoever has one (``persian.jalali.resolve_month``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from persian.jalali import month_number

NUMBER_WORDS: Final = {
    "صفر": 0,
    "یک": 1,
    "یه": 1,
    "دو": 2,
    "سه": 3,
    "چهار": 4,
    "چار": 4,
    "پنج": 5,
    "شش": 6,
    "شیش": 6,
    "هفت": 7,
    "هشت": 8,
    "نه": 9,
    "ده": 10,
    "یازده": 11,
    "دوازده": 12,
    "سیزده": 13,
    "چهارده": 14,
    "چارده": 14,
    "پانزده": 15,
    "پونزده": 15,
    "شانزده": 16,
    "شونزده": 16,
    "هفده": 17,
    "هیفده": 17,
    "هجده": 18,
    "هیجده": 18,
    "نوزده": 19,
    "بیست": 20,
    "سی": 30,
    "چهل": 40,
    "پنجاه": 50,
    "شصت": 60,
    "هفتاد": 70,
    "هشتاد": 80,
    "نود": 90,
    "صد": 100,
    "یکصد": 100,
    "دویست": 200,
    "سیصد": 300,
    "چهارصد": 400,
    "پانصد": 500,
    "پونصد": 500,
    "ششصد": 600,
    "شیشصد": 600,
    "هفتصد": 700,
    "هشتصد": 800,
    "نهصد": 900,
}
SCALES: Final = {
    "هزار": 1_000,
    "میلیون": 1_000_000,
    "ملیون": 1_000_000,
    "میلیارد": 1_000_000_000,
    "ملیارد": 1_000_000_000,
    "hezar": 1_000,
    "million": 1_000_000,
    "milion": 1_000_000,
    "melyon": 1_000_000,
    "milyon": 1_000_000,
}
CURRENCIES: Final = {
    "تومان": 10,
    "تومن": 10,
    "toman": 10,
    "tomen": 10,
    "ریال": 1,
    "rial": 1,
}
_TOMAN_TO_RIAL: Final = 10
_AND: Final = frozenset({"و", "o"})
# A number in digits: thousands groups (comma, Arabic separator, apostrophe or space) only with
# three digits after each separator (so «۵، ۶» is a list, not 56), then an optional decimal part («۱۲.۵», «۲/۵ میلیون»).
_TOKEN: Final = re.compile(
    r"[0-9]{1,3}(?:[ ,\u066c'][0-9]{3})+(?:[./\u066b][0-9]+)?|[0-9]+(?:[./\u066b][0-9]+)?"
    r"|[^\W\d_]+"
)
# Month names that are also ordinary words or given names (a seal, an arrow, «آذر», «بهمن»):
# taken only with «ماه» after them, a year, or a payslip word before them.
_AMBIGUOUS_MONTHS: Final = frozenset({"مهر", "دی", "تیر", "آذر", "بهمن"})
_MONTH_CONTEXT: Final = re.compile(
    r"(?:فیش|حقوق|مستمری|مستمریِ|حقوقِ|پرداختی|واریزی|ماه|برای|بابت)[\u200c ]*$"
)
_NAME: Final = r"([\u0600-\u06ff]+)"
_MONTH_YEAR: Final = re.compile(
    rf"(?<![\w\u200c]){_NAME}(?:[\u200c ]?ماه)?\s+(?:سال\s+)?([0-9]{{4}})(?![0-9])"
)
_NUMERIC_MONTH: Final = re.compile(
    r"(?<![0-9/.\-])([0-9]{4})\s*[/.\-]\s*([0-9]{1,2})(?![0-9/.\-])"
)
_MONTH_ALONE: Final = re.compile(rf"(?<![\w\u200c]){_NAME}((?:[\u200c ]?ماه)?)(?![\w\u200c])")
_DAY_BEFORE: Final = re.compile(r"[0-9]{1,2}\s*(?:ام|م)?\s*$")
_RELATIVE: Final = re.compile(
    r"(?<![\w\u200c])(?:([0-9]{1,3}|[\u0600-\u06ff]+)\s+)?ماه[\u200c ]?(?:پیش|قبل|گذشته)م?"
    r"(?![\w\u200c])"
)
_THIS_MONTH: Final = re.compile(r"(?<![\w\u200c])(?:این|همین)\s+ماه(?![\w\u200c])|ماه\s+جاری")
MAX_MONTHS_BACK: Final = 240


def _number(token: str) -> Decimal | None:
    if token[0].isdigit():
        try:
            return Decimal(
                re.sub(r"[ ,\u066c']", "", token).replace("/", ".").replace("\u066b", ".")
            )
        except InvalidOperation:
            return None
    value = NUMBER_WORDS.get(token)
    return None if value is None else Decimal(value)


def find_amounts(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, rial)`` for every amount in normalised ``text``."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        found = _amount_at(tokens, i)
        if found is None:
            i += 1
            continue
        end_index, rial = found
        out.append((tokens[i][0], tokens[end_index][1], str(rial)))
        i = end_index + 1
    return out


def _amount_at(tokens: list[tuple[int, int, str]], i: int) -> tuple[int, int] | None:
    """Read an amount starting at token ``i``: (index of its last token, Rial), or None."""
    if _number(tokens[i][2]) is None:
        return None
    total = Decimal(0)
    group = Decimal(0)
    last_scale = 0
    after_and = False
    marked = False  # a scale or a currency: what makes a number an amount
    rate = _TOMAN_TO_RIAL
    last = i
    j = i
    previous_digits = False
    while j < len(tokens):
        word = tokens[j][2]
        value = _number(word)
        if value is not None:
            digits = word[0].isdigit()
            if j > i and (digits or previous_digits) and not after_and:
                break  # two numbers side by side are two things («۲ ۳۰۰»)
            if j > i and tokens[j][0] - tokens[j - 1][1] > 2:
                break
            group += value
            previous_digits = digits
            after_and = False
            last = j
        elif word in SCALES and j > i:
            total += (group or Decimal(1)) * SCALES[word]
            group = Decimal(0)
            last_scale = SCALES[word]
            marked = True
            after_and = False
            previous_digits = False
            last = j
        elif word in CURRENCIES and j > i:
            rate = CURRENCIES[word]
            marked = True
            last = j
            break
        elif word in _AND and j > i and j + 1 < len(tokens) and _number(tokens[j + 1][2]):
            after_and = True
        else:
            break
        j += 1
    if not marked:
        return None
    if group and last_scale >= 1_000_000 and group < 1000:
        # «دو میلیون و پانصد»: the tail counts in the next scale down (thousands).
        group *= last_scale // 1000
    total += group
    rial = int((total * rate).to_integral_value())
    return (last, rial) if rial > 0 else None


def find_months(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, value)`` for every month in normalised ``text`` (see the module)."""
    out: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e, _ in out)

    for m in _MONTH_YEAR.finditer(text):
        month = month_number(m.group(1))
        year = int(m.group(2))
        if (
            month is not None
            and 1300 <= year <= 1499
            and not _DAY_BEFORE.search(text[: m.start()])
        ):
            out.append((m.start(), m.end(), f"{year:04d}-{month:02d}"))
    for m in _NUMERIC_MONTH.finditer(text):
        year, month = int(m.group(1)), int(m.group(2))
        if 1300 <= year <= 1499 and 1 <= month <= 12 and free(m.start(), m.end()):
            out.append((m.start(), m.end(), f"{year:04d}-{month:02d}"))
    for m in _MONTH_ALONE.finditer(text):
        name = m.group(1)
        month = month_number(name)
        if month is None or not free(m.start(), m.end()):
            continue
        before = text[: m.start()]
        if _DAY_BEFORE.search(before):
            continue  # «۳۱ شهریور»: a day, not a month
        if name in _AMBIGUOUS_MONTHS and not m.group(2) and not _MONTH_CONTEXT.search(before):
            continue
        out.append((m.start(), m.end(), f"{month:02d}"))
    for m in _RELATIVE.finditer(text):
        count = m.group(1)
        back: int | None = 1
        start = m.start()
        if count is not None:
            if count.isdigit():
                back = int(count)
            else:
                back = NUMBER_WORDS.get(count)
                if back is None:  # «بیمه ماه پیش»: the word before is no number
                    back, start = 1, m.start(0) + len(count) + 1
        if back is not None and 0 < back <= MAX_MONTHS_BACK and free(start, m.end()):
            out.append((start, m.end(), f"-{back}"))
    for m in _THIS_MONTH.finditer(text):
        if free(m.start(), m.end()):
            out.append((m.start(), m.end(), "-0"))
    out.sort()
    return out
