"""The gateway to Tamin's back end: what the registry knows about people, as plain records.

Services depend on :class:`RegistryGateway` only. :class:`SqlRegistryGateway` answers from our
own demo tables; a client of Tamin's real services can replace it without touching a service.
Gateways read; they never commit.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Executable, Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import read
from services.db.models import (
    ContributionMonth,
    Dependant,
    PensionSlip,
    Person,
    VoluntaryContract,
    Workshop,
)
from services.db.turn_reads import keys_match, read_rows
from services.enums import Gender, InsuranceRelation, Relation


@dataclass(frozen=True, slots=True)
class RegistryPerson:
    """A main insured or pensioner."""

    national_id: str
    first_name: str
    last_name: str
    father_name: str
    birth_date: dt.date
    gender: Gender
    mobile: str | None
    insurance_relation: InsuranceRelation
    insured_since: dt.date | None
    coverage_until: dt.date | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class RegistryDependant:
    """A dependant of a main insured, with the facts the eligibility rules look at."""

    national_id: str
    first_name: str
    last_name: str
    relation: Relation
    birth_date: dt.date
    gender: Gender
    has_university_certificate: bool
    has_original_birth_certificate: bool
    disabled: bool
    married: bool
    employed: bool
    has_own_pension: bool
    coverage_until: dt.date | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """One paid month of record; the workshop is ``None`` for voluntary contributions."""

    year: int
    month: int
    days: int
    wage: int
    workshop_code: str | None
    workshop_name: str | None
    branch_name: str | None


@dataclass(frozen=True, slots=True)
class PensionSlipRow:
    year: int
    month: int
    gross: int
    deductions: int
    net: int
    paid_on: dt.date


@dataclass(frozen=True, slots=True)
class VoluntaryContractRow:
    contract_number: str
    contract_date: dt.date
    wage_base: int
    rate_percent: Decimal
    paid_through: dt.date | None
    medical_exam_exempt: bool


@dataclass(frozen=True, slots=True)
class Household:
    """A main insured and their dependants (oldest first)."""

    person: RegistryPerson
    dependants: tuple[RegistryDependant, ...]


class RegistryGateway(Protocol):
    """What Tamin's back end answers. National IDs and mobiles are normalised ASCII strings."""

    async def person(self, national_id: str) -> RegistryPerson | None:
        """Return the main insured or pensioner with this national ID, if any."""
        ...

    async def mobile_matches(self, national_id: str, mobile: str) -> bool:
        """Return whether ``mobile`` is the one registered for ``national_id``."""
        ...

    async def mobile_registered(self, mobile: str) -> bool:
        """Return whether ``mobile`` is registered for anyone."""
        ...

    async def dependants(self, national_id: str) -> Sequence[RegistryDependant]:
        """Return the dependants of a main insured, oldest first."""
        ...

    async def household(self, national_id: str) -> Household | None:
        """Return the person and their dependants in one answer, the shape of Tamin's
        eligibility service (one row per person)."""
        ...

    async def last_contribution(self, national_id: str) -> ContributionRow | None:
        """Return the newest paid month of record (آخرین سابقه)."""
        ...

    async def contributions(self, national_id: str) -> Sequence[ContributionRow]:
        """Return every paid month of record, oldest first."""
        ...

    async def pension_slips(self, national_id: str, limit: int) -> Sequence[PensionSlipRow]:
        """Return up to ``limit`` pension slips, newest first."""
        ...

    async def voluntary_contract(self, national_id: str) -> VoluntaryContractRow | None:
        """Return the newest voluntary-insurance contract."""
        ...


_PERSON_COLUMNS = (
    Person.national_id,
    Person.first_name,
    Person.last_name,
    Person.father_name,
    Person.birth_date,
    Person.gender,
    Person.mobile,
    Person.insurance_relation,
    Person.insured_since,
    Person.coverage_until,
)
_DEPENDANT_COLUMNS = (
    Dependant.national_id,
    Dependant.first_name,
    Dependant.last_name,
    Dependant.relation,
    Dependant.birth_date,
    Dependant.gender,
    Dependant.has_university_certificate,
    Dependant.has_original_birth_certificate,
    Dependant.disabled,
    Dependant.married,
    Dependant.employed,
    Dependant.has_own_pension,
    Dependant.coverage_until,
)

_CONTRIBUTION_COLUMNS = (
    ContributionMonth.year,
    ContributionMonth.month,
    ContributionMonth.days,
    ContributionMonth.wage,
    Workshop.code,
    Workshop.name,
    Workshop.branch_name,
)


def _person(row: Sequence[Any]) -> RegistryPerson:
    """Build a person from the values of :data:`_PERSON_COLUMNS`, in that order."""
    return RegistryPerson(
        national_id=row[0],
        first_name=row[1],
        last_name=row[2],
        father_name=row[3],
        birth_date=row[4],
        gender=Gender(row[5]),
        mobile=row[6],
        insurance_relation=InsuranceRelation(row[7]),
        insured_since=row[8],
        coverage_until=row[9],
    )


def _dependant(row: Sequence[Any]) -> RegistryDependant:
    """Build a dependant from the values of :data:`_DEPENDANT_COLUMNS`, in that order."""
    return RegistryDependant(
        national_id=row[0],
        first_name=row[1],
        last_name=row[2],
        relation=Relation(row[3]),
        birth_date=row[4],
        gender=Gender(row[5]),
        has_university_certificate=bool(row[6]),
        has_original_birth_certificate=bool(row[7]),
        disabled=bool(row[8]),
        married=bool(row[9]),
        employed=bool(row[10]),
        has_own_pension=bool(row[11]),
        coverage_until=row[12],
    )


# The statements of the hot paths are built once, on first use, with the national ID as a
# bound parameter: building a select costs about as much CPU as running it on SQLite.


@functools.cache
def _person_query() -> Select[*tuple[Any, ...]]:
    return select(*_PERSON_COLUMNS).where(Person.national_id == bindparam("national_id"))


@functools.cache
def _persons_query(dialect: str) -> Select[*tuple[Any, ...]]:
    """Several people, each row led by its national ID (one loop turn's look-ups:
    ``services/db/turn_reads.py``)."""
    return select(Person.national_id.label("key"), *_PERSON_COLUMNS).where(
        keys_match(Person.national_id, "national_ids", dialect)
    )


@functools.cache
def _household_query() -> Select[*tuple[Any, ...]]:
    return (
        select(*_PERSON_COLUMNS, *_DEPENDANT_COLUMNS)
        .select_from(Person)
        .outerjoin(Dependant, Dependant.insured_id == Person.id)
        .where(Person.national_id == bindparam("national_id"))
        .order_by(Dependant.birth_date, Dependant.id)
    )


@functools.cache
def _households_query(dialect: str) -> Select[*tuple[Any, ...]]:
    """Several households, each row led by its insured's national ID, a household's rows in
    the order of :func:`_household_query`."""
    return (
        select(Person.national_id.label("key"), *_PERSON_COLUMNS, *_DEPENDANT_COLUMNS)
        .select_from(Person)
        .outerjoin(Dependant, Dependant.insured_id == Person.id)
        .where(keys_match(Person.national_id, "national_ids", dialect))
        .order_by(Dependant.birth_date, Dependant.id)
    )


@functools.cache
def _last_contribution_query() -> Executable:
    return (
        select(*_CONTRIBUTION_COLUMNS)
        .join(Person, ContributionMonth.person_id == Person.id)
        .outerjoin(Workshop, ContributionMonth.workshop_id == Workshop.id)
        .where(Person.national_id == bindparam("national_id"))
        .order_by(ContributionMonth.year.desc(), ContributionMonth.month.desc())
        .limit(1)
    )


class SqlRegistryGateway:
    """:class:`RegistryGateway` over the demo registry tables of our database."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # Column selects rather than ORM entities: these are the hot paths of every inquiry, and
    # the gateway hands out plain records anyway.

    async def person(self, national_id: str) -> RegistryPerson | None:
        rows = await read_rows(
            self._session,
            "person",
            _person_query(),
            _persons_query,
            key="national_id",
            value=national_id,
        )
        return _person(rows[0]) if rows else None

    async def mobile_matches(self, national_id: str, mobile: str) -> bool:
        found = await self._session.scalar(
            select(Person.id).where(Person.national_id == national_id, Person.mobile == mobile)
        )
        return found is not None

    async def mobile_registered(self, mobile: str) -> bool:
        return bool(await self._session.scalar(select(exists().where(Person.mobile == mobile))))

    async def dependants(self, national_id: str) -> list[RegistryDependant]:
        result = await self._session.execute(
            select(*_DEPENDANT_COLUMNS)
            .join(Person, Dependant.insured_id == Person.id)
            .where(Person.national_id == national_id)
            .order_by(Dependant.birth_date, Dependant.id)
        )
        return [_dependant(row) for row in result]

    async def household(self, national_id: str) -> Household | None:
        # One round trip: the person's columns repeated on each dependant's row.
        rows = await read_rows(
            self._session,
            "household",
            _household_query(),
            _households_query,
            key="national_id",
            value=national_id,
        )
        if not rows:
            return None
        width = len(_PERSON_COLUMNS)
        dependants = tuple(_dependant(row[width:]) for row in rows if row[width] is not None)
        return Household(person=_person(rows[0]), dependants=dependants)

    def _contributions_query(self, national_id: str) -> Select[int, int, int, int, str, str, str]:
        return (
            select(*_CONTRIBUTION_COLUMNS)
            .join(Person, ContributionMonth.person_id == Person.id)
            .outerjoin(Workshop, ContributionMonth.workshop_id == Workshop.id)
            .where(Person.national_id == national_id)
        )

    async def last_contribution(self, national_id: str) -> ContributionRow | None:
        result = await read(
            self._session, _last_contribution_query(), {"national_id": national_id}
        )
        row = result.first()
        return None if row is None else ContributionRow(*row)

    async def contributions(self, national_id: str) -> list[ContributionRow]:
        query = self._contributions_query(national_id).order_by(
            ContributionMonth.year, ContributionMonth.month, ContributionMonth.id
        )
        return [ContributionRow(*row) for row in await self._session.execute(query)]

    async def pension_slips(self, national_id: str, limit: int) -> list[PensionSlipRow]:
        rows = await self._session.scalars(
            select(PensionSlip)
            .join(Person, PensionSlip.person_id == Person.id)
            .where(Person.national_id == national_id)
            .order_by(PensionSlip.year.desc(), PensionSlip.month.desc())
            .limit(limit)
        )
        return [
            PensionSlipRow(r.year, r.month, r.gross, r.deductions, r.net, r.paid_on) for r in rows
        ]

    async def voluntary_contract(self, national_id: str) -> VoluntaryContractRow | None:
        row = await self._session.scalar(
            select(VoluntaryContract)
            .join(Person, VoluntaryContract.person_id == Person.id)
            .where(Person.national_id == national_id)
            .order_by(VoluntaryContract.contract_date.desc(), VoluntaryContract.id.desc())
            .limit(1)
        )
        if row is None:
            return None
        return VoluntaryContractRow(
            contract_number=row.contract_number,
            contract_date=row.contract_date,
            wage_base=row.wage_base,
            rate_percent=Decimal(row.rate_percent),
            paid_through=row.paid_through,
            medical_exam_exempt=row.medical_exam_exempt,
        )
