"""N synthetic people for load tests, generated deterministically.

A seeded ``random.Random`` gives Persian names, valid national IDs, unique mobiles, workshops,
contribution histories, pension slips, voluntary contracts and dependants: synthetic person
``i`` is the same whatever N is asked for, and running again adds only the people missing.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from demo.personas import PERSONA_MOBILES, PERSONA_NIDS
from demo.rows import (
    RowBatch,
    RowBuilder,
    day_before_anniversary,
    dependant_row,
    first_free_id,
    fix_sequences,
    insert_batch,
    monthly_wage,
    person_row,
    vacuum_analyze,
)
from persian import national_id_check_digit, validate_national_id
from persian.digits import to_persian_digits
from persian.jalali import (
    from_jalali,
    jalali_month_end,
    previous_jalali_month,
)
from services.db.models import (
    Person,
    Workshop,
)
from services.enums import Gender, InsuranceRelation, Relation
from services.settings import Settings

DEFAULT_SEED: Final = 1420
BATCH_PEOPLE: Final = 2000
# A fixed pool, so that synthetic person i is the same whatever N is asked for.
WORKSHOP_POOL: Final = 2500

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

    def __init__(self, builder: RowBuilder, seed: int, workshop_ids: list[int]) -> None:
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

    def person(self, index: int, person_id: int, out: RowBatch | None) -> None:
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
                gross = monthly_wage(y, rng, level * 0.8)
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
            wage_base = monthly_wage(jy, rng, level)
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
            person_row(
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
                dependant_row(
                    person_id, self._dependant_nid(), rng.choice(FEMALE_NAMES),
                    rng.choice(LAST_NAMES), Relation.WIFE, b.jalali_birth(wife_age, rng), until,
                )
            )  # fmt: skip
        elif rng.random() < 0.1:
            husband_age = age + rng.randint(0, 10)
            disabled = husband_age < 60 and rng.random() < 0.5
            ok = husband_age >= 60 or disabled
            rows.append(
                dependant_row(
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
                    until if student else min(until, day_before_anniversary(birth, b.son_limit))
                )
                rows.append(
                    dependant_row(
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
                    dependant_row(
                        person_id, self._dependant_nid(), rng.choice(FEMALE_NAMES), child_last,
                        Relation.DAUGHTER, birth, child_until,
                        married=married, birth_certificate=certificate,
                    )
                )  # fmt: skip
        if rng.random() < 0.08:
            father_age = age + rng.randint(20, 35)
            pension = rng.random() < 0.3
            rows.append(
                dependant_row(
                    person_id, self._dependant_nid(), rng.choice(MALE_NAMES), last,
                    Relation.FATHER, b.jalali_birth(father_age, rng),
                    until if father_age >= 60 and not pension else b.today - dt.timedelta(days=1),
                    own_pension=pension,
                )
            )  # fmt: skip
        return rows


async def load_synthetic(
    engine: AsyncEngine, settings: Settings, today: dt.date, people: int, seed: int
) -> int:
    """Add the synthetic people ``0 … people-1`` that are missing; return how many were added."""
    if people <= 0:
        return 0
    b = RowBuilder(settings, today)
    async with engine.begin() as conn:
        wanted = _workshop_rows(WORKSHOP_POOL, random.Random(seed))
        have = set((await conn.scalars(select(Workshop.code))).all())
        missing = [row for row in wanted if row["code"] not in have]
        if missing:
            next_id = await first_free_id(conn, Workshop.id)
            for offset, row in enumerate(missing):
                row["id"] = next_id + offset
            await conn.execute(insert(Workshop), missing)
        codes = [row["code"] for row in wanted]
        result = await conn.execute(select(Workshop.code, Workshop.id))
        ids_by_code = {code: workshop_id for code, workshop_id in result.all()}
        workshop_ids = [ids_by_code[c] for c in codes]
        existing = set((await conn.scalars(select(Person.national_id))).all())
        next_person = await first_free_id(conn, Person.id)
        await fix_sequences(conn)

    generator = _Synthetic(b, seed, workshop_ids)
    rows = RowBatch()
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
                await insert_batch(conn, rows)
            rows.clear()
    async with engine.begin() as conn:
        await fix_sequences(conn)
    if added and engine.dialect.name == "postgresql":
        await vacuum_analyze(engine)
    elif added and engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            # Fold the bulk load's write-ahead log into the database file now, so that the
            # first commits of the bot do not pay for checkpointing it, and let SQLite gather
            # the statistics its planner wants.
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await conn.execute(text("PRAGMA optimize"))
    return added
