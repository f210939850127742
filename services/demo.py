"""Demo data: the four personas other tools rely on, and N synthetic people for load tests.

``tamin-bot demo-data [--people N]`` migrates the database, then loads:

- the personas of issue 2 exactly (national IDs, mobiles, names, dependants), with every fact
  that makes them covered or not computed from the clock's today, so they stay true whenever the
  command runs (their rows are replaced on each run);
- N synthetic people generated deterministically (seeded ``random.Random``) with Persian names,
  valid national IDs, unique mobiles, workshops, contribution histories, pension slips,
  voluntary contracts and dependants. Running it again adds only the people that are missing.

Bulk rows go through Core ``insert()`` executemany in batches with ids assigned here (no
``RETURNING`` round trips), which is what loads 100 000 people in well under two minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persian import national_id_check_digit, validate_national_id
from persian.digits import to_persian_digits
from persian.jalali import (
    from_jalali,
    jalali_anniversary,
    jalali_month_end,
    jalali_month_length,
    previous_jalali_month,
    to_jalali,
)
from services.clock import Clock, SystemClock
from services.db.engine import create_engine
from services.db.migrate import upgrade_database
from services.db.models import (
    REGISTRY_TABLES,
    ContributionMonth,
    Dependant,
    PensionSlip,
    Person,
    VoluntaryContract,
    Workshop,
)
from services.enums import Gender, InsuranceRelation, Relation
from services.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_SEED: Final = 1420
BATCH_PEOPLE: Final = 2000
# A fixed pool, so that synthetic person i is the same whatever N is asked for.
WORKSHOP_POOL: Final = 2500
# Nobody may have this number: tests use it as "a mobile the registry does not know".
UNKNOWN_MOBILE: Final = "09390000000"

# ---------------------------------------------------------------------------------------------
# Personas (issue 2's table; other tools rely on these exact values)
# ---------------------------------------------------------------------------------------------

MARYAM_NID: Final = "6508124226"
SARA_NID: Final = "0536362165"
ALI_NID: Final = "1090583893"
REZA_NID: Final = "2739897952"
HASAN_NID: Final = "3486477986"
FATEMEH_NID: Final = "4980594433"
ZAHRA_NID: Final = "8332279291"

PERSONA_MOBILES: Final = {
    MARYAM_NID: "09121234567",
    REZA_NID: "09351112233",
    HASAN_NID: "09131112233",
    ZAHRA_NID: "09191234567",
}
PERSONA_NIDS: Final = frozenset(
    {MARYAM_NID, SARA_NID, ALI_NID, REZA_NID, HASAN_NID, FATEMEH_NID, ZAHRA_NID}
)
PERSONA_WORKSHOP_CODE: Final = "2010034567"
PERSONA_WORKSHOP_NAME: Final = "شرکت صنایع غذایی نمونه پارس"


@dataclass(frozen=True, slots=True)
class PersonaNote:
    """A line of the summary: how to try a persona."""

    name: str
    national_id: str
    mobile: str
    expectation: str


PERSONA_NOTES: Final = (
    PersonaNote(
        "مریم رضایی",
        MARYAM_NID,
        PERSONA_MOBILES[MARYAM_NID],
        "covered; daughter Sara covered, son Ali (20, no university certificate) not covered",
    ),
    PersonaNote(
        "رضا کاظمی",
        REZA_NID,
        PERSONA_MOBILES[REZA_NID],
        "not covered: last paid month three years ago",
    ),
    PersonaNote(
        "حسن کریمی",
        HASAN_NID,
        PERSONA_MOBILES[HASAN_NID],
        "pensioner, covered, six payslips; wife Fatemeh covered",
    ),
    PersonaNote(
        "زهرا حسینی",
        ZAHRA_NID,
        PERSONA_MOBILES[ZAHRA_NID],
        "voluntary insured, paid through the current month; covered",
    ),
)

# ---------------------------------------------------------------------------------------------
# Vocabulary of the synthetic people
# ---------------------------------------------------------------------------------------------

MALE_NAMES: Final = (
    "محمد", "علی", "حسین", "حسن", "رضا", "مهدی", "امیر", "سعید", "مجید", "حمید", "احمد",
    "محمود", "جواد", "مصطفی", "مرتضی", "عباس", "ابراهیم", "اسماعیل", "یوسف", "کریم", "بهروز",
    "فرهاد", "کامران", "داریوش", "سیاوش", "بابک", "پویا", "آرش", "کیان", "نیما", "میلاد",
    "امید", "وحید", "مسعود", "ناصر", "اکبر", "غلامرضا", "محسن", "هادی", "یاسر", "صادق",
    "باقر", "کاظم", "رسول", "مهران", "شهرام", "پیمان", "سینا", "پارسا", "امیرحسین",
    "محمدرضا", "علیرضا", "حمیدرضا", "سجاد", "روح‌الله", "عبدالله", "فرشید", "کوروش", "بهنام",
)  # fmt: skip
FEMALE_NAMES: Final = (
    "فاطمه", "زهرا", "مریم", "معصومه", "زینب", "سمیه", "لیلا", "نرگس", "الهام", "مهسا",
    "نازنین", "سارا", "نگار", "پریسا", "شیما", "مینا", "رویا", "سمانه", "مرضیه", "طاهره",
    "اعظم", "اشرف", "منیژه", "شهلا", "پروین", "ژیلا", "آزاده", "فرزانه", "فریبا", "مهناز",
    "نسرین", "سیمین", "هانیه", "ریحانه", "کوثر", "حدیث", "یگانه", "ستاره", "بهاره", "آیدا",
    "تینا", "هستی", "فرشته", "شیرین", "ناهید", "عاطفه", "راضیه", "حمیده", "سحر", "مهتاب",
)  # fmt: skip
LAST_NAMES: Final = (
    "محمدی", "حسینی", "احمدی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی", "رحیمی",
    "هاشمی", "قاسمی", "نوری", "کاظمی", "عباسی", "مرادی", "ابراهیمی", "اکبری", "سلطانی",
    "شریفی", "نجفی", "حیدری", "رستمی", "یوسفی", "امیری", "طاهری", "زمانی", "فرهادی",
    "کرمانی", "شیرازی", "تهرانی", "اصفهانی", "خسروی", "بهرامی", "سعیدی", "مختاری", "قربانی",
    "باقری", "یزدانی", "نظری", "ملکی", "فتحی", "جلالی", "پورمحمدی", "علیزاده", "حسن‌زاده",
    "قلی‌زاده", "رحمانی", "عسگری", "بابایی", "توکلی", "میرزایی", "اسدی", "داوودی", "کامرانی",
    "فاضلی", "سبحانی", "مهدوی", "نیک‌نام", "آقایی", "غفاری",
)  # fmt: skip
WORKSHOP_KINDS: Final = (
    "شرکت صنایع غذایی", "شرکت ساختمانی", "شرکت حمل و نقل", "شرکت نساجی", "شرکت داروسازی",
    "شرکت فولاد", "شرکت فناوری اطلاعات", "شرکت پخش", "شرکت لوازم خانگی", "شرکت بازرگانی",
    "تولیدی پوشاک", "شرکت کشت و صنعت", "چاپخانه", "شرکت قطعه‌سازی", "شرکت تجهیزات پزشکی",
    "فروشگاه زنجیره‌ای", "کارخانه کاشی", "شرکت خدمات مهندسی", "نانوایی صنعتی", "رستوران",
)  # fmt: skip
WORKSHOP_BRANDS: Final = (
    "آریا", "پارس", "البرز", "سپهر", "کاوه", "دماوند", "زاگرس", "خزر", "نوین", "آفتاب",
    "مهر", "بهار", "کیان", "سینا", "آرمان", "ستاره", "پیشگام", "امید", "رویش", "تابان",
)  # fmt: skip
CITIES: Final = (
    "تهران", "اصفهان", "مشهد", "شیراز", "تبریز", "کرج", "اهواز", "قم", "کرمانشاه", "رشت",
    "یزد", "کرمان", "اراک", "همدان", "ساری", "قزوین",
)  # fmt: skip
MOBILE_PREFIXES: Final = (
    "0912", "0919", "0935", "0936", "0901", "0902", "0917", "0915", "0911", "0937",
)  # fmt: skip
RELATION_WEIGHTS: Final = (
    (InsuranceRelation.MANDATORY, 60),
    (InsuranceRelation.PENSIONER, 15),
    (InsuranceRelation.SELF_EMPLOYED, 10),
    (InsuranceRelation.VOLUNTARY, 8),
    (InsuranceRelation.UNEMPLOYMENT, 7),
)

# National IDs: an affine bijection on nine-digit numbers gives distinct, scattered codes
# (never sequential) from distinct inputs. People use inputs from 0, replacements for a rare
# unusable code from _REPLACEMENT_BASE, dependants from _DEPENDANT_BASE: all disjoint.
_NID_MULTIPLIER: Final = 387_420_489  # 3**18: coprime with 10**9
_NID_OFFSET: Final = 123_456_789
_REPLACEMENT_BASE: Final = 100_000_000
_DEPENDANT_BASE: Final = 200_000_000


def _nid_from(index: int) -> str:
    nine = f"{(index * _NID_MULTIPLIER + _NID_OFFSET) % 10**9:09d}"
    return nine + national_id_check_digit(nine)


def _usable_nid(index: int, base: int) -> str:
    nid = _nid_from(base + index)
    if not validate_national_id(nid) or nid in PERSONA_NIDS:
        nid = _nid_from(_REPLACEMENT_BASE + base + index)
    return nid


def synthetic_national_id(index: int) -> str:
    """Return the national ID of synthetic person ``index`` (stable across runs)."""
    return _usable_nid(index, 0)


def synthetic_mobile(index: int) -> str:
    """Return the unique mobile of synthetic person ``index`` (never a persona's or 0939…)."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    # Another affine bijection, on seven digits, within each prefix.
    suffix = ((index // len(MOBILE_PREFIXES)) * 1_000_003 + 4_321_987) % 10**7
    mobile = f"{prefix}{suffix:07d}"
    if mobile in PERSONA_MOBILES.values():
        mobile = f"0990{suffix:07d}"  # 0990 is used by no one else here
    return mobile


# ---------------------------------------------------------------------------------------------
# Building rows
# ---------------------------------------------------------------------------------------------


def _wage(year: int, rng: random.Random | None = None, level: float = 1.0) -> int:
    """A plausible monthly wage in Rial for a Jalali year (minimum wage grows ~25 % a year)."""
    base = 100_000_000 * (1.25 ** (year - 1403))
    wage = base * level * (1.0 + (rng.random() * 0.1 if rng else 0.0))
    return int(round(wage, -4))


def _months(start: tuple[int, int], end: tuple[int, int]) -> Iterator[tuple[int, int]]:
    """Jalali (year, month) pairs from ``start`` to ``end`` inclusive."""
    y, m = start
    while (y, m) <= end:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _before_anniversary(birth: dt.date, years: int) -> dt.date:
    return jalali_anniversary(birth, years) - dt.timedelta(days=1)


@dataclass
class _Rows:
    people: list[dict[str, Any]] = field(default_factory=list)
    dependants: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)
    slips: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        for rows in (self.people, self.dependants, self.contributions, self.slips, self.contracts):
            rows.clear()


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the load did; counts are totals in the database afterwards."""

    seconds: float
    added_people: int
    people: int
    dependants: int
    contribution_months: int
    pension_slips: int
    voluntary_contracts: int
    workshops: int
    today: dt.date


class _Builder:
    """Builds the registry rows of one day (``today``) under the rules of ``settings``."""

    def __init__(self, settings: Settings, today: dt.date) -> None:
        self.settings = settings
        self.today = today
        self.jy, self.jm, _ = to_jalali(today)
        self.grace = dt.timedelta(
            days=settings.config.eligibility.grace_days_after_last_paid_month
        )
        self.son_limit = settings.config.dependants.son_age_limit_years
        self.pension_until = today + dt.timedelta(
            days=settings.config.eligibility.pensioner_coverage_days
        )
        self._month_days: dict[tuple[int, int], int] = {}

    def month_days(self, ym: tuple[int, int]) -> int:
        days = self._month_days.get(ym)
        if days is None:
            days = self._month_days[ym] = jalali_month_length(*ym)
        return days

    def coverage_after(self, last_paid: tuple[int, int]) -> dt.date:
        """Coverage-until of a contributor: the end of the last paid month plus the grace."""
        return jalali_month_end(*last_paid) + self.grace

    def jalali_birth(self, years_ago: int, rng: random.Random | None = None) -> dt.date:
        """A birth date ``years_ago`` full years back from today, a few months before."""
        days_back = rng.randint(20, 340) if rng else 100
        anniversary = jalali_anniversary(self.today, -years_ago)
        return anniversary - dt.timedelta(days=days_back)

    def contribution_rows(
        self,
        person_id: int,
        start: tuple[int, int],
        end: tuple[int, int],
        workshop_id: int | None,
        level: float,
        rng: random.Random | None = None,
    ) -> list[dict[str, Any]]:
        rows = []
        for ym in _months(start, end):
            full = self.month_days(ym)
            days = full if rng is None or rng.random() > 0.05 else rng.randint(5, full - 1)
            wage = _wage(ym[0], None, level) * days // full
            rows.append(
                {
                    "person_id": person_id,
                    "year": ym[0],
                    "month": ym[1],
                    "workshop_id": workshop_id,
                    "days": days,
                    "wage": wage,
                }
            )
        return rows


def _person(
    person_id: int | None,
    national_id: str,
    first: str,
    last: str,
    father: str,
    birth: dt.date,
    gender: Gender,
    mobile: str | None,
    relation: InsuranceRelation,
    since: dt.date | None,
    until: dt.date | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "national_id": national_id,
        "first_name": first,
        "last_name": last,
        "father_name": father,
        "birth_date": birth,
        "gender": gender.value,
        "mobile": mobile,
        "insurance_relation": relation.value,
        "insured_since": since,
        "coverage_until": until,
    }
    if person_id is not None:
        row["id"] = person_id
    return row


def _dependant(
    insured_id: int,
    national_id: str,
    first: str,
    last: str,
    relation: Relation,
    birth: dt.date,
    until: dt.date | None,
    **facts: bool,
) -> dict[str, Any]:
    return {
        "insured_id": insured_id,
        "national_id": national_id,
        "first_name": first,
        "last_name": last,
        "relation": relation.value,
        "birth_date": birth,
        "gender": relation.gender.value,
        "has_university_certificate": facts.get("university", False),
        "has_original_birth_certificate": facts.get("birth_certificate", True),
        "disabled": facts.get("disabled", False),
        "married": facts.get("married", False),
        "employed": facts.get("employed", False),
        "has_own_pension": facts.get("own_pension", False),
        "coverage_until": until,
    }


# ---------------------------------------------------------------------------------------------
# Personas
# ---------------------------------------------------------------------------------------------


async def _upsert_workshop(
    conn: AsyncConnection, code: str, name: str, branch_code: str, branch_name: str
) -> int:
    existing = await conn.scalar(select(Workshop.id).where(Workshop.code == code))
    if existing is not None:
        return int(existing)
    result = await conn.execute(
        insert(Workshop).values(
            code=code, name=name, branch_code=branch_code, branch_name=branch_name
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


async def _insert_person(conn: AsyncConnection, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(Person).values(**row))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


async def load_personas(conn: AsyncConnection, settings: Settings, today: dt.date) -> None:
    """Replace the four personas' rows with ones true on ``today`` (inside the caller's
    transaction). Their dependants, records, slips and contracts go with them (cascade)."""
    b = _Builder(settings, today)
    jy, jm = b.jy, b.jm
    previous = previous_jalali_month(jy, jm)
    await conn.execute(delete(Person).where(Person.national_id.in_(PERSONA_MOBILES)))

    food = await _upsert_workshop(
        conn, PERSONA_WORKSHOP_CODE, PERSONA_WORKSHOP_NAME, "21", "شعبه ۲۱ تهران"
    )
    builder_co = await _upsert_workshop(
        conn, "2010098765", "شرکت ساختمانی البرز بنا", "8", "شعبه ۸ تهران"
    )
    shop = await _upsert_workshop(
        conn, "2010055501", "فروشگاه‌های زنجیره‌ای آفتاب", "4", "شعبه ۴ اصفهان"
    )

    # مریم رضایی: mandatory since 1395, paid every month up to the month before today's.
    maryam_until = b.coverage_after(previous)
    maryam = await _insert_person(
        conn,
        _person(
            None, MARYAM_NID, "مریم", "رضایی", "حسین", from_jalali(1360, 6, 15),
            Gender.FEMALE, PERSONA_MOBILES[MARYAM_NID], InsuranceRelation.MANDATORY,
            from_jalali(1395, 1, 1), maryam_until,
        ),
    )  # fmt: skip
    await conn.execute(
        insert(ContributionMonth), b.contribution_rows(maryam, (1395, 1), previous, food, 1.6)
    )
    sara_birth = b.jalali_birth(14)
    ali_birth = b.jalali_birth(20)
    await conn.execute(
        insert(Dependant),
        [
            _dependant(
                maryam, SARA_NID, "سارا", "رضایی", Relation.DAUGHTER, sara_birth, maryam_until
            ),
            # The seed's case: a son of 20 full years without a university certificate.
            _dependant(
                maryam, ALI_NID, "علی", "رضایی", Relation.SON, ali_birth,
                min(maryam_until, _before_anniversary(ali_birth, b.son_limit)),
                university=False,
            ),
        ],
    )  # fmt: skip

    # رضا کاظمی: mandatory, last paid month three years ago.
    reza_last = (jy - 3, jm)
    reza = await _insert_person(
        conn,
        _person(
            None, REZA_NID, "رضا", "کاظمی", "محمود", from_jalali(1355, 3, 20), Gender.MALE,
            PERSONA_MOBILES[REZA_NID], InsuranceRelation.MANDATORY, from_jalali(1385, 7, 1),
            b.coverage_after(reza_last),
        ),
    )  # fmt: skip
    await conn.execute(
        insert(ContributionMonth),
        b.contribution_rows(reza, (1385, 7), reza_last, builder_co, 1.2),
    )

    # حسن کریمی: pensioner since 1395, payslips for the last six months; wife فاطمه.
    hasan = await _insert_person(
        conn,
        _person(
            None, HASAN_NID, "حسن", "کریمی", "عباس", from_jalali(1330, 11, 2), Gender.MALE,
            PERSONA_MOBILES[HASAN_NID], InsuranceRelation.PENSIONER, from_jalali(1395, 1, 1),
            b.pension_until,
        ),
    )  # fmt: skip
    await conn.execute(
        insert(ContributionMonth),
        b.contribution_rows(hasan, (1365, 1), (1394, 12), builder_co, 1.0),
    )
    slips = []
    for back in range(1, 7):
        y, m = previous_jalali_month(jy, jm, back)
        gross = _wage(y, None, 1.4)
        deductions = gross * 2 // 100  # the pensioner's share of treatment cover
        slips.append(
            {
                "person_id": hasan,
                "year": y,
                "month": m,
                "gross": gross,
                "deductions": deductions,
                "net": gross - deductions,
                "paid_on": from_jalali(y, m, 25),
            }
        )
    await conn.execute(insert(PensionSlip), slips)
    await conn.execute(
        insert(Dependant),
        [
            _dependant(
                hasan, FATEMEH_NID, "فاطمه", "کریمی", Relation.WIFE, from_jalali(1335, 4, 9),
                b.pension_until,
            )
        ],
    )  # fmt: skip

    # زهرا حسینی: voluntary insured, contract paid through the current month.
    contract_date = from_jalali(jy - 2, 7, 10)
    paid_through = jalali_month_end(jy, jm)
    zahra = await _insert_person(
        conn,
        _person(
            None, ZAHRA_NID, "زهرا", "حسینی", "مصطفی", from_jalali(1365, 2, 11),
            Gender.FEMALE, PERSONA_MOBILES[ZAHRA_NID], InsuranceRelation.VOLUNTARY,
            contract_date, paid_through + b.grace,
        ),
    )  # fmt: skip
    await conn.execute(
        insert(ContributionMonth), b.contribution_rows(zahra, (1390, 1), (1398, 12), shop, 1.0)
    )
    wage_base = 150_000_000
    await conn.execute(
        insert(ContributionMonth),
        [
            {**row, "wage": wage_base * row["days"] // b.month_days((row["year"], row["month"]))}
            for row in b.contribution_rows(zahra, (jy - 2, 7), (jy, jm), None, 1.0)
        ],
    )
    await conn.execute(
        insert(VoluntaryContract).values(
            person_id=zahra,
            contract_number=f"{jy - 2}07{ZAHRA_NID[-6:]}",
            contract_date=contract_date,
            wage_base=wage_base,
            rate_percent=Decimal(str(settings.config.voluntary.rate_percent)),
            paid_through=paid_through,
            medical_exam_exempt=True,
        )
    )


# ---------------------------------------------------------------------------------------------
# Synthetic people
# ---------------------------------------------------------------------------------------------


def _workshop_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for k in range(count):
        city = CITIES[k % len(CITIES)]
        branch_no = 1 + (k // len(CITIES)) % 30
        rows.append(
            {
                "code": f"3{k:09d}",
                "name": f"{rng.choice(WORKSHOP_KINDS)} {rng.choice(WORKSHOP_BRANDS)}",
                "branch_code": f"{k % len(CITIES):02d}{branch_no:02d}",
                "branch_name": f"شعبه {to_persian_digits(branch_no)} {city}",
            }
        )
    return rows


class _Synthetic:
    """Generates synthetic person ``i`` after person ``i - 1`` from one seeded stream."""

    def __init__(self, builder: _Builder, seed: int, workshop_ids: list[int]) -> None:
        self.b = builder
        self.rng = random.Random(seed)
        self.workshops = workshop_ids
        self.dependant_counter = 0

    def _relation(self) -> InsuranceRelation:
        roll = self.rng.randrange(100)
        for relation, weight in RELATION_WEIGHTS:
            if roll < weight:
                return relation
            roll -= weight
        return InsuranceRelation.MANDATORY

    def person(self, index: int, person_id: int, out: _Rows | None) -> None:
        """Generate person ``index``; add its rows to ``out`` unless it is ``None`` (already
        loaded: the random stream still advances so later people stay the same)."""
        rng, b = self.rng, self.b
        relation = self._relation()
        gender = Gender.MALE if rng.random() < 0.6 else Gender.FEMALE
        first = rng.choice(MALE_NAMES if gender is Gender.MALE else FEMALE_NAMES)
        last = rng.choice(LAST_NAMES)
        father = rng.choice(MALE_NAMES)
        if relation is InsuranceRelation.PENSIONER:
            age = rng.randint(55, 85)
        elif relation is InsuranceRelation.VOLUNTARY:
            age = rng.randint(25, 50)
        else:
            age = rng.randint(19, 62)
        birth = b.jalali_birth(age, rng)
        level = 1.0 + rng.random() * 2.5
        jy, jm = b.jy, b.jm

        contributions: list[dict[str, Any]] = []
        slips: list[dict[str, Any]] = []
        contract: dict[str, Any] | None = None
        since_ym: tuple[int, int]
        if relation is InsuranceRelation.PENSIONER:
            retired = rng.randint(1, 15)
            since_ym = (jy - retired, rng.randint(1, 12))
            until = b.pension_until
            for back in range(1, 7):
                y, m = previous_jalali_month(jy, jm, back)
                gross = _wage(y, rng, level * 0.8)
                deductions = gross * 2 // 100
                slips.append(
                    {
                        "person_id": person_id, "year": y, "month": m, "gross": gross,
                        "deductions": deductions, "net": gross - deductions,
                        "paid_on": from_jalali(y, m, 25),
                    }
                )  # fmt: skip
        elif relation is InsuranceRelation.VOLUNTARY:
            months = rng.randint(3, 36)
            since_ym = previous_jalali_month(jy, jm, months)
            stopped = rng.random() < 0.2
            last_ym = previous_jalali_month(jy, jm, rng.randint(3, 12)) if stopped else (jy, jm)
            wage_base = _wage(jy, rng, level)
            contributions = b.contribution_rows(person_id, since_ym, last_ym, None, level)
            for row in contributions:
                row["wage"] = wage_base * row["days"] // b.month_days((row["year"], row["month"]))
            until = b.coverage_after(last_ym)
            contract = {
                "person_id": person_id,
                "contract_number": f"V{index:09d}",
                "contract_date": from_jalali(since_ym[0], since_ym[1], rng.randint(1, 28)),
                "wage_base": wage_base,
                "rate_percent": Decimal(str(b.settings.config.voluntary.rate_percent)),
                "paid_through": jalali_month_end(*last_ym),
                "medical_exam_exempt": rng.random() < 0.8,
            }
        else:
            months = min(rng.randint(6, 60), max(6, (age - 18) * 12))
            stopped = rng.random() < 0.3
            last_ym = (
                previous_jalali_month(jy, jm, rng.randint(3, 48))
                if stopped
                else previous_jalali_month(jy, jm)
            )
            since_ym = previous_jalali_month(*last_ym, months - 1)
            workshop = (
                None if relation is InsuranceRelation.SELF_EMPLOYED else rng.choice(self.workshops)
            )
            contributions = b.contribution_rows(person_id, since_ym, last_ym, workshop, level, rng)
            if workshop is not None and months > 24 and rng.random() < 0.4:
                # A change of job: the older half of the history at another workshop.
                other = rng.choice(self.workshops)
                for row in contributions[: months // 2]:
                    row["workshop_id"] = other
            until = b.coverage_after(last_ym)

        mobile = synthetic_mobile(index) if rng.random() < 0.97 else None
        dependants = self._dependants(person_id, gender, age, last, until)
        if out is None:
            return
        out.people.append(
            _person(
                person_id, synthetic_national_id(index), first, last, father, birth, gender,
                mobile, relation, from_jalali(since_ym[0], since_ym[1], 1), until,
            )
        )  # fmt: skip
        out.contributions.extend(contributions)
        out.slips.extend(slips)
        out.dependants.extend(dependants)
        if contract is not None:
            out.contracts.append(contract)

    def _dependant_nid(self) -> str:
        nid = _usable_nid(self.dependant_counter, _DEPENDANT_BASE)
        self.dependant_counter += 1
        return nid

    def _dependants(
        self, person_id: int, gender: Gender, age: int, last: str, until: dt.date
    ) -> list[dict[str, Any]]:
        rng, b = self.rng, self.b
        rows: list[dict[str, Any]] = []
        if age < 24 or rng.random() > 0.7:
            return rows
        if gender is Gender.MALE:
            wife_age = max(18, age - rng.randint(0, 8))
            rows.append(
                _dependant(
                    person_id, self._dependant_nid(), rng.choice(FEMALE_NAMES),
                    rng.choice(LAST_NAMES), Relation.WIFE, b.jalali_birth(wife_age, rng), until,
                )
            )  # fmt: skip
        elif rng.random() < 0.1:
            husband_age = age + rng.randint(0, 10)
            disabled = husband_age < 60 and rng.random() < 0.5
            ok = husband_age >= 60 or disabled
            rows.append(
                _dependant(
                    person_id, self._dependant_nid(), rng.choice(MALE_NAMES),
                    rng.choice(LAST_NAMES), Relation.HUSBAND, b.jalali_birth(husband_age, rng),
                    until if ok else b.today - dt.timedelta(days=rng.randint(30, 900)),
                    disabled=disabled,
                )
            )  # fmt: skip
        for _ in range(rng.randint(0, 3)):
            child_age = rng.randint(0, min(30, age - 18))
            birth = b.jalali_birth(child_age, rng)
            child_last = last if gender is Gender.MALE else rng.choice(LAST_NAMES)
            if rng.random() < 0.5:
                student = child_age >= b.son_limit and rng.random() < 0.5
                child_until = (
                    until if student else min(until, _before_anniversary(birth, b.son_limit))
                )
                rows.append(
                    _dependant(
                        person_id, self._dependant_nid(), rng.choice(MALE_NAMES), child_last,
                        Relation.SON, birth, child_until, university=student,
                    )
                )  # fmt: skip
            else:
                married = child_age >= 20 and rng.random() < 0.4
                certificate = rng.random() > 0.03
                child_until = (
                    until
                    if certificate and not married
                    else b.today - dt.timedelta(days=rng.randint(1, 400))
                )
                rows.append(
                    _dependant(
                        person_id, self._dependant_nid(), rng.choice(FEMALE_NAMES), child_last,
                        Relation.DAUGHTER, birth, child_until,
                        married=married, birth_certificate=certificate,
                    )
                )  # fmt: skip
        if rng.random() < 0.08:
            father_age = age + rng.randint(20, 35)
            pension = rng.random() < 0.3
            rows.append(
                _dependant(
                    person_id, self._dependant_nid(), rng.choice(MALE_NAMES), last,
                    Relation.FATHER, b.jalali_birth(father_age, rng),
                    until if father_age >= 60 and not pension else b.today - dt.timedelta(days=1),
                    own_pension=pension,
                )
            )  # fmt: skip
        return rows


async def _next_id(conn: AsyncConnection, column: Any) -> int:
    return int(await conn.scalar(select(func.coalesce(func.max(column), 0)))) + 1


async def _insert_batch(conn: AsyncConnection, rows: _Rows) -> None:
    copy = conn.dialect.name == "postgresql"
    driver: Any = None
    if copy:
        # A first statement through SQLAlchemy opens the transaction on the driver's
        # connection, so the COPYs below belong to it (a batch lands whole or not at all).
        await conn.execute(select(1))
        driver = (await conn.get_raw_connection()).driver_connection
    for model, data in (
        (Person, rows.people),
        (Dependant, rows.dependants),
        (ContributionMonth, rows.contributions),
        (PensionSlip, rows.slips),
        (VoluntaryContract, rows.contracts),
    ):
        if not data:
            continue
        if copy:
            # PostgreSQL's COPY is several times faster than even a batched INSERT for
            # millions of rows; asyncpg speaks it natively on the same connection.
            columns = list(data[0])
            await driver.copy_records_to_table(
                model.__tablename__,
                records=[tuple(row[c] for c in columns) for row in data],
                columns=columns,
            )
        else:
            await conn.execute(insert(model), data)


async def _fix_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: move the id sequences past the ids we assigned ourselves."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("people", "workshops"):
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        )


async def load_synthetic(
    engine: AsyncEngine, settings: Settings, today: dt.date, people: int, seed: int
) -> int:
    """Add the synthetic people ``0 … people-1`` that are missing; return how many were added."""
    if people <= 0:
        return 0
    b = _Builder(settings, today)
    async with engine.begin() as conn:
        wanted = _workshop_rows(WORKSHOP_POOL, random.Random(seed))
        have = set((await conn.scalars(select(Workshop.code))).all())
        missing = [row for row in wanted if row["code"] not in have]
        if missing:
            next_id = await _next_id(conn, Workshop.id)
            for offset, row in enumerate(missing):
                row["id"] = next_id + offset
            await conn.execute(insert(Workshop), missing)
        codes = [row["code"] for row in wanted]
        result = await conn.execute(select(Workshop.code, Workshop.id))
        ids_by_code = {code: workshop_id for code, workshop_id in result.all()}
        workshop_ids = [ids_by_code[c] for c in codes]
        existing = set((await conn.scalars(select(Person.national_id))).all())
        next_person = await _next_id(conn, Person.id)
        await _fix_sequences(conn)

    generator = _Synthetic(b, seed, workshop_ids)
    rows = _Rows()
    added = 0
    for start in range(0, people, BATCH_PEOPLE):
        for index in range(start, min(start + BATCH_PEOPLE, people)):
            if synthetic_national_id(index) in existing:
                generator.person(index, 0, None)
                continue
            generator.person(index, next_person, rows)
            next_person += 1
            added += 1
        if rows.people:
            async with engine.begin() as conn:
                await _insert_batch(conn, rows)
            rows.clear()
    async with engine.begin() as conn:
        await _fix_sequences(conn)
    if added and engine.dialect.name == "postgresql":
        await _vacuum_analyze(engine)
    elif added and engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            # Fold the bulk load's write-ahead log into the database file now, so that the
            # first commits of the bot do not pay for checkpointing it, and let SQLite gather
            # the statistics its planner wants.
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await conn.execute(text("PRAGMA optimize"))
    return added


async def _vacuum_analyze(engine: AsyncEngine) -> None:
    """PostgreSQL after a bulk load: fresh planner statistics and visibility map now, rather
    than an autovacuum storm competing with the first inquiries."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in REGISTRY_TABLES:
            await autocommit.execute(text(f'VACUUM (ANALYZE) "{table}"'))


async def _count(conn: AsyncConnection, model: Any) -> int:
    return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def load_demo_data(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    people: int = 0,
    seed: int = DEFAULT_SEED,
) -> DemoSummary:
    """Load the personas (replaced) and the missing synthetic people into a migrated database."""
    started = time.perf_counter()
    today = clock.today()
    async with engine.begin() as conn:
        await load_personas(conn, settings, today)
        await _fix_sequences(conn)
    added = await load_synthetic(engine, settings, today, people, seed)
    async with engine.connect() as conn:
        return DemoSummary(
            seconds=time.perf_counter() - started,
            added_people=added,
            people=await _count(conn, Person),
            dependants=await _count(conn, Dependant),
            contribution_months=await _count(conn, ContributionMonth),
            pension_slips=await _count(conn, PensionSlip),
            voluntary_contracts=await _count(conn, VoluntaryContract),
            workshops=await _count(conn, Workshop),
            today=today,
        )


def render_summary(summary: DemoSummary) -> str:
    """The short report ``tamin-bot demo-data`` prints."""
    lines = [
        f"Demo data loaded in {summary.seconds:.1f} s for {summary.today.isoformat()} "
        f"(added {summary.added_people} synthetic people).",
        f"  people {summary.people}, dependants {summary.dependants}, "
        f"contribution months {summary.contribution_months}, pension slips "
        f"{summary.pension_slips}, voluntary contracts {summary.voluntary_contracts}, "
        f"workshops {summary.workshops}",
        "Personas — share a contact with the mobile, then type the national ID:",
    ]
    lines.extend(
        f"  {note.national_id}  {note.mobile}  {note.name}: {note.expectation}"
        for note in PERSONA_NOTES
    )
    lines.append(f"  Nobody has the mobile {UNKNOWN_MOBILE} (try it for a mismatch).")
    return "\n".join(lines)


async def run_demo_data(
    settings: Settings,
    people: int = 0,
    *,
    clock: Clock | None = None,
    seed: int = DEFAULT_SEED,
) -> int:
    """Migrate, load the personas and ``people`` synthetic people, print a summary; exit code."""
    if people < 0:
        print("--people must be zero or more")
        return 2
    await upgrade_database(settings)
    engine = create_engine(settings)
    try:
        summary = await load_demo_data(engine, settings, clock or SystemClock(), people, seed)
        # The console's demo accounts (services.agents.DEMO_AGENTS; passwords in the README).
        from services.agents import DEMO_AGENTS, AgentService
        from services.db.engine import create_session_factory

        async with create_session_factory(engine)() as session, session.begin():
            await AgentService(session, settings, clock or SystemClock()).ensure_demo_agents()
    finally:
        await engine.dispose()
    print(render_summary(summary))
    print(
        "Console accounts (local use only): "
        + ", ".join(
            f"{username} / {password} ({role.value})"
            for username, _, password, role in DEMO_AGENTS
        )
    )
    return 0
