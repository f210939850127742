"""Building the registry's rows: the builder of one day's facts, and bulk inserts.

Shared by the personas (:mod:`demo.personas`) and the synthetic people
(:mod:`demo.synthetic`). Bulk rows go through Core ``insert()`` executemany in batches with ids
assigned here (no ``RETURNING`` round trips), which is what loads 100 000 people in well under
two minutes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persian.jalali import (
    jalali_anniversary,
    jalali_month_end,
    jalali_month_length,
    to_jalali,
)
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


def monthly_wage(year: int, rng: random.Random | None = None, level: float = 1.0) -> int:
    """A plausible monthly wage in Rial for a Jalali year (minimum wage grows ~25 % a year)."""
    base = 100_000_000 * (1.25 ** (year - 1403))
    wage = base * level * (1.0 + (rng.random() * 0.1 if rng else 0.0))
    return int(round(wage, -4))


def jalali_months_between(
    start: tuple[int, int], end: tuple[int, int]
) -> Iterator[tuple[int, int]]:
    """Jalali (year, month) pairs from ``start`` to ``end`` inclusive."""
    y, m = start
    while (y, m) <= end:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def day_before_anniversary(birth: dt.date, years: int) -> dt.date:
    return jalali_anniversary(birth, years) - dt.timedelta(days=1)


@dataclass
class RowBatch:
    people: list[dict[str, Any]] = field(default_factory=list)
    dependants: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)
    slips: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        for rows in (self.people, self.dependants, self.contributions, self.slips, self.contracts):
            rows.clear()


class RowBuilder:
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
        for ym in jalali_months_between(start, end):
            full = self.month_days(ym)
            days = full if rng is None or rng.random() > 0.05 else rng.randint(5, full - 1)
            wage = monthly_wage(ym[0], None, level) * days // full
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


def person_row(
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


def dependant_row(
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


async def upsert_workshop(
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


async def insert_person(conn: AsyncConnection, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(Person).values(**row))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


async def first_free_id(conn: AsyncConnection, column: Any) -> int:
    return int(await conn.scalar(select(func.coalesce(func.max(column), 0)))) + 1


async def insert_batch(conn: AsyncConnection, rows: RowBatch) -> None:
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


async def fix_sequences(conn: AsyncConnection) -> None:
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


async def vacuum_analyze(engine: AsyncEngine) -> None:
    """PostgreSQL after a bulk load: fresh planner statistics and visibility map now, rather
    than an autovacuum storm competing with the first inquiries."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in REGISTRY_TABLES:
            await autocommit.execute(text(f'VACUUM (ANALYZE) "{table}"'))
