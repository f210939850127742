"""Rule-based entity extraction: national_id, mobile, ticket_id, date, relation, amount, month.

Identifiers have exact formats and checksums, so rules beat a statistical tagger here: they are
exact, need no training examples per digit script, and refuse numbers that merely look right
(bad checksums, landlines, amounts, years). Extraction runs on the normalised text, where all
digits are ASCII, and every match is mapped back to offsets in the ORIGINAL message through the
normaliser's index map. IDs stay strings throughout: ``int()`` would drop leading zeros.

The relation vocabulary is data, not code: the ``relation`` lookup table and the synonyms in
``nlu/data/lookups.yml`` (Rasa's lookup-table and synonym blocks) give the surface forms and the
canonical values; the trained model persists the compiled vocabulary with itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from nlu.quantities import find_amounts, find_months
from persian import normalize_with_map, validate_national_id
from persian.jalali import from_jalali, month_number

ENTITY_NAMES: Final = (
    "national_id",
    "mobile",
    "relation",
    "ticket_id",
    "date",
    "amount",
    "month",
)
RELATION_VALUES: Final = frozenset({"spouse", "son", "daughter", "child", "father", "mother"})
EXTRACTOR_NAME: Final = "RuleEntityExtractor"

_ZWNJ: Final = "\u200c"
# Dashes people type between digit groups (ASCII, Unicode dashes, minus, underscore).
_DASH: Final = r"[-\u2010\u2011\u2012\u2013\u2014\u2212_]"
_TICKET: Final = re.compile(rf"(?<![0-9])1420\s*{_DASH}\s*([0-9]{{6}})(?![0-9])")
# The bot's other codes (a dependant request's ten digits, an eligibility inquiry's twelve) look
# like national IDs or mobiles; after a tracking word they are codes («کد رهگیری ۱۲۳…»).
_OTHER_CODE: Final = re.compile(
    r"(?:رهگیری|پیگیری|peygiri|peigiri|rahgiri)[^0-9]{0,20}?(?<![0-9])([0-9]{10}|[0-9]{12})(?![0-9])"
)
_DATE_YMD: Final = re.compile(
    r"(?<![0-9/.\-])([0-9]{4})\s*([/.\-])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})(?![0-9/])"
)
_DATE_DMY: Final = re.compile(
    r"(?<![0-9/.\-])([0-9]{1,2})\s*([/.\-])\s*([0-9]{1,2})\s*\2\s*([0-9]{4})(?![0-9/])"
)
# «۱۲ مرداد ۱۴۰۳», «۱۲ام مرداد ماه سال ۱۴۰۳», «12 مردادماه 1403».
_DATE_WORDS: Final = re.compile(
    r"(?<![0-9])([0-9]{1,2})\s*(?:ام|م)?\s+([\u0600-\u06ff]+?)(?:[\u200c ]?ماه)?"
    r"\s+(?:سال\s+)?([0-9]{4})(?![0-9])"
)
# A chain of digit groups joined by single spaces or dashes, as people format long numbers
# (0912 123 4567, ۰۰۱-۲۳۴۵۶۷-۹, +98 912 …). It is split into entities afterwards.
_CHAIN: Final = re.compile(rf"(?<![0-9+])\+?[0-9]+(?:(?: |{_DASH})[0-9]+)*")
_GROUP: Final = re.compile(r"[0-9]+")
_MOBILE_FORMS: Final = re.compile(r"^(?:98|0098|0)?(9[0-9]{9})$")
# Words before a number that tell a mobile from a national ID when the digits alone cannot
# (ten digits starting with 9 are both a mobile without its 0 and a possible national ID).
_NID_HINT: Final = re.compile(r"(?:کد|کُد|شماره)[\u200c ]?ملی|ملیم|ملی|melli|meli|national")
_MOBILE_HINT: Final = re.compile(r"موبایل|موبایلم|همراه|تلفن|شماره|mobile|mobail|shomare")
_HINT_WINDOW: Final = 30
# Compounds that contain a relation word but name someone else (grandfather, father-in-law,
# cousin …): checked right after a bare relation word.
_NOT_RELATION_AFTER: Final = (
    r"(?![\u200c ]?(?:بزرگ|خانم|خانوم|زن|شوهر|عمو|عمه|خاله|دایی|خوانده|خونده|اندر|بچه))"
)
# A relation word used to address the bot, as older users write («سلام علیکم پسرم، …»،
# «… خدا خیرت بده دخترم»، «ممنونم مادر!»), names nobody: it is a vocative when a greeting,
# thanks or blessing comes right before it (no comma between) and a comma, a stop or the end of
# the message right after it (optionally «جان/جون»). «سلام، پسرم بیمه داره؟» keeps its son: the
# comma closes the greeting and the word starts the question.
_VOCATIVE_BEFORE: Final = re.compile(
    r"(?:سلام|علیکم|درود|وقت ?بخیر|خسته نباشی[دن]?|ممنونم?|مرسی|متشکرم|قربونت برم|قربانت|"
    r"خیرت بده|خیر ببینی|عمرت دراز|ببخشید|salam)[ \u200c]*$"
)
_VOCATIVE_AFTER: Final = re.compile(
    r"^[ \u200c]*(?:(?:جان|جون)(?![\w\u200c]))?[ \u200c]*(?:[،,!.؛:؟?]|$)"
)
# Colloquial endings that may follow a relation word: «پسرمو» (object), «مادرمه» (is).
_RELATION_TAIL: Final = r"(?=(?:و|ه|رو)?(?![\w\u200c]))"


@dataclass(frozen=True, slots=True)
class Entity:
    """An extracted entity; ``start``/``end`` index the original message."""

    entity: str
    value: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence_entity": 1.0,
            "extractor": EXTRACTOR_NAME,
        }


def _surface_pattern(surface: str) -> str:
    """Regex for a normalised surface form whose spaces and half-spaces may vary or vanish."""
    norm, _ = normalize_with_map(surface)
    pieces = re.split(r"[ \u200c]+", norm)
    return r"[\u200c ]?".join(re.escape(p) for p in pieces if p)


class EntityExtractor:
    """Extract the entities of the assistant from a message."""

    def __init__(self, relation_lexicon: Mapping[str, str]) -> None:
        bad = {v for v in relation_lexicon.values() if v not in RELATION_VALUES}
        if bad:
            raise ValueError(f"unknown relation values: {sorted(bad)}")
        self.relation_lexicon: dict[str, str] = dict(relation_lexicon)
        self._relation_value: dict[str, str] = {}
        alternatives: list[str] = []
        for surface, value in relation_lexicon.items():
            norm, _ = normalize_with_map(surface)
            self._relation_value[self._relation_key(norm)] = value
            pattern = _surface_pattern(surface)
            # A bare word (پدر، پسر) may start a compound; a possessive (پدرم) may not.
            if not norm.endswith(("م", "ام", "m")):
                pattern += _NOT_RELATION_AFTER
            alternatives.append(pattern)
        alternatives.sort(key=len, reverse=True)
        self._relation = (
            re.compile(r"(?<![\w\u200c])(?:" + "|".join(alternatives) + ")" + _RELATION_TAIL)
            if alternatives
            else None
        )

    @staticmethod
    def _relation_key(norm: str) -> str:
        return norm.replace(" ", "").replace(_ZWNJ, "")

    @classmethod
    def from_lookups(
        cls, lookups: Mapping[str, list[str]], synonyms: Mapping[str, str]
    ) -> EntityExtractor:
        """Build from Rasa lookup tables and synonyms: the ``relation`` table's forms, each
        resolved to its canonical value through the synonyms (or itself when canonical)."""
        lexicon: dict[str, str] = {}
        for surface in lookups.get("relation", []):
            value = synonyms.get(surface, surface)
            if value not in RELATION_VALUES:
                raise ValueError(f"relation form {surface!r} has no canonical value")
            lexicon[surface] = value
        return cls(lexicon)

    def to_json(self) -> dict[str, Any]:
        return {"relation_lexicon": self.relation_lexicon}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntityExtractor:
        return cls(dict(data["relation_lexicon"]))

    def extract(self, text: str) -> list[Entity]:
        """Return the entities in ``text`` ordered by position, offsets into ``text``."""
        norm, index = normalize_with_map(text)
        found: list[tuple[int, int, str, str]] = []
        # Spans already claimed are blanked so that, for example, a ticket's digits are not
        # read again as part of a phone number.
        work = list(norm)

        def claim(start: int, end: int, entity: str, value: str) -> None:
            found.append((start, end, entity, value))
            for i in range(start, end):
                work[i] = "#"

        for m in _TICKET.finditer(norm):
            claim(m.start(), m.end(), "ticket_id", f"1420-{m.group(1)}")
        for m in _OTHER_CODE.finditer("".join(work)):
            claim(m.start(1), m.end(1), "ticket_id", m.group(1))
        for start, end, value in self._dates("".join(work)):
            claim(start, end, "date", value)
        for start, end, value in find_months("".join(work)):
            claim(start, end, "month", value)
        for start, end, value in find_amounts("".join(work)):
            claim(start, end, "amount", value)
        current = "".join(work)
        for m in _CHAIN.finditer(current):
            for start, end, entity, value in self._split_chain(current, m):
                claim(start, end, entity, value)
        if self._relation is not None:
            current = "".join(work)
            for m in self._relation.finditer(current):
                relation = self._relation_value.get(self._relation_key(m.group(0)))
                if relation is not None and not _is_vocative(current, m.start(), m.end()):
                    claim(m.start(), m.end(), "relation", relation)
        found.sort()
        return [Entity(e, v, index[s], index[t - 1] + 1) for s, t, e, v in found]

    @staticmethod
    def _dates(text: str) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        taken: list[tuple[int, int]] = []

        def add(start: int, end: int, y: int, mth: int, d: int) -> None:
            if not 1200 <= y <= 1499 or any(s < end and start < e for s, e in taken):
                return
            try:
                from_jalali(y, mth, d)
            except ValueError:
                return
            taken.append((start, end))
            out.append((start, end, f"{y:04d}-{mth:02d}-{d:02d}"))

        for m in _DATE_YMD.finditer(text):
            add(m.start(), m.end(), int(m.group(1)), int(m.group(3)), int(m.group(4)))
        for m in _DATE_DMY.finditer(text):
            add(m.start(), m.end(), int(m.group(4)), int(m.group(3)), int(m.group(1)))
        for m in _DATE_WORDS.finditer(text):
            month = month_number(m.group(2))
            if month is not None:
                add(m.start(), m.end(), int(m.group(3)), month, int(m.group(1)))
        return out

    @staticmethod
    def _classify(digits: str, plus: bool, before: str) -> str | None:
        """Say whether a run of digits is a mobile, a national ID, or neither."""
        if plus and not digits.startswith("98"):
            return None
        if len(digits) == 10 and not plus:
            nid_ok = validate_national_id(digits)
            if digits[0] == "9":
                hint = _nearest_hint(before)
                if hint == "mobile":
                    return "mobile"
                if hint == "national_id":
                    return "national_id" if nid_ok else None
                return "national_id" if nid_ok else "mobile"
            return "national_id" if nid_ok else None
        return "mobile" if _MOBILE_FORMS.match(digits) else None

    def _split_chain(self, text: str, chain: re.Match[str]) -> list[tuple[int, int, str, str]]:
        """Cut a chain of digit groups into mobiles and national IDs, longest first."""
        groups = [
            (chain.start() + g.start(), chain.start() + g.end(), g.group(0))
            for g in _GROUP.finditer(chain.group(0))
        ]
        plus_at = chain.start() if chain.group(0).startswith("+") else None
        out: list[tuple[int, int, str, str]] = []
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                digits = "".join(g[2] for g in groups[i : j + 1])
                plus = i == 0 and plus_at is not None
                start = plus_at if plus and plus_at is not None else groups[i][0]
                before = text[max(0, start - _HINT_WINDOW) : start]
                kind = self._classify(digits, plus, before)
                if kind is None:
                    continue
                value = "0" + digits[-10:] if kind == "mobile" else digits
                out.append((start, groups[j][1], kind, value))
                i = j + 1
                break
            else:
                i += 1
        return out


def _is_vocative(text: str, start: int, end: int) -> bool:
    """Whether the relation word at ``text[start:end]`` addresses the bot (see _VOCATIVE_BEFORE)."""
    return bool(_VOCATIVE_BEFORE.search(text[:start]) and _VOCATIVE_AFTER.match(text[end:]))


def _nearest_hint(before: str) -> str | None:
    """Which kind of number the words just before it announce, the nearest word winning."""
    nid = [m.end() for m in _NID_HINT.finditer(before)]
    mob = [m.end() for m in _MOBILE_HINT.finditer(before)]
    last_nid = max(nid, default=-1)
    # «شماره ملی» also matches the mobile hint «شماره»: the national-ID phrase wins a tie.
    last_mob = max((e for e in mob if e not in nid and e + 4 not in nid), default=-1)
    if last_nid < 0 and last_mob < 0:
        return None
    return "national_id" if last_nid >= last_mob else "mobile"
