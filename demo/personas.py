"""The four demo personas other tools rely on (issue 2's table), true whenever they are loaded.

Every fact that makes them covered or not is computed from the clock's today, so they stay
true whenever the command runs (their rows are replaced on each run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from demo.rows import (
    RowBuilder,
    day_before_anniversary,
    dependant_row,
    insert_person,
    monthly_wage,
    person_row,
    upsert_workshop,
)
from persian.jalali import (
    from_jalali,
    jalali_month_end,
    previous_jalali_month,
)
from services.db.models import (
    ContributionMonth,
    Dependant,
    PensionSlip,
    Person,
    VoluntaryContract,
)
from services.enums import Gender, InsuranceRelation, Relation
from services.settings import Settings

# Nobody may have this number: tests use it as "a mobile the registry does not know".
UNKNOWN_MOBILE: Final = "09390000000"

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


async def load_personas(conn: AsyncConnection, settings: Settings, today: dt.date) -> None:
    """Replace the four personas' rows with ones true on ``today`` (inside the caller's
    transaction). Their dependants, records, slips and contracts go with them (cascade)."""
    b = RowBuilder(settings, today)
    jy, jm = b.jy, b.jm
    previous = previous_jalali_month(jy, jm)
    await conn.execute(delete(Person).where(Person.national_id.in_(PERSONA_MOBILES)))

    food = await upsert_workshop(
        conn, PERSONA_WORKSHOP_CODE, PERSONA_WORKSHOP_NAME, "21", "شعبه ۲۱ تهران"
    )
    builder_co = await upsert_workshop(
        conn, "2010098765", "شرکت ساختمانی البرز بنا", "8", "شعبه ۸ تهران"
    )
    shop = await upsert_workshop(
        conn, "2010055501", "فروشگاه‌های زنجیره‌ای آفتاب", "4", "شعبه ۴ اصفهان"
    )

    # مریم رضایی: mandatory since 1395, paid every month up to the month before today's.
    maryam_until = b.coverage_after(previous)
    maryam = await insert_person(
        conn,
        person_row(
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
            dependant_row(
                maryam, SARA_NID, "سارا", "رضایی", Relation.DAUGHTER, sara_birth, maryam_until
            ),
            # The seed's case: a son of 20 full years without a university certificate.
            dependant_row(
                maryam, ALI_NID, "علی", "رضایی", Relation.SON, ali_birth,
                min(maryam_until, day_before_anniversary(ali_birth, b.son_limit)),
                university=False,
            ),
        ],
    )  # fmt: skip

    # رضا کاظمی: mandatory, last paid month three years ago.
    reza_last = (jy - 3, jm)
    reza = await insert_person(
        conn,
        person_row(
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
    hasan = await insert_person(
        conn,
        person_row(
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
        gross = monthly_wage(y, None, 1.4)
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
            dependant_row(
                hasan, FATEMEH_NID, "فاطمه", "کریمی", Relation.WIFE, from_jalali(1335, 4, 9),
                b.pension_until,
            )
        ],
    )  # fmt: skip

    # زهرا حسینی: voluntary insured, contract paid through the current month.
    contract_date = from_jalali(jy - 2, 7, 10)
    paid_through = jalali_month_end(jy, jm)
    zahra = await insert_person(
        conn,
        person_row(
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
