"""Contribution records (سابقه): the last record, the total in years/months/days, per year.

"Last record" is the newest paid month; the total record is the sum of days shown as years /
months / days with Tamin's statement convention (``contributions.days_per_year`` and
``days_per_month`` in ``config.yml``). Pensioners cannot view contribution records (seed
«خدمات غیرحضوری»): they get :class:`PensionerRecordsUnavailable` with what they can see instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from persian import to_jalali
from services.clock import Clock
from services.common import UserRef, verified_national_id
from services.enums import InsuranceRelation
from services.errors import NoContributions, PensionerRecordsUnavailable, PersonNotFound
from services.registry import ContributionRow, RegistryGateway, SqlRegistryGateway
from services.settings import Settings

logger = logging.getLogger(__name__)

# Employers have until the end of the following month to report a month, so a record one month
# behind (two by the calendar early in a month) is normal; more than that is worth a word.
NORMAL_LAG_MONTHS: Final = 2


class PensionerView(StrEnum):
    """What pensioners can see on the portal's pensioners section, and what not (seed)."""

    PAYSLIP = "payslip"  # فیش حقوقی / مستمری
    PENSION_DECREE = "pension_decree"  # حکم
    BANK_ACCOUNT = "bank_account"
    SALARY_CERTIFICATE = "salary_certificate"
    CONTRIBUTION_RECORDS = "contribution_records"


PENSIONER_CAN_SEE: Final = (
    PensionerView.PAYSLIP,
    PensionerView.PENSION_DECREE,
    PensionerView.BANK_ACCOUNT,
    PensionerView.SALARY_CERTIFICATE,
)
PENSIONER_CANNOT_SEE: Final = (PensionerView.CONTRIBUTION_RECORDS,)


@dataclass(frozen=True, slots=True)
class LastRecord:
    """The newest paid month (Jalali year and month); wage in Rial."""

    year: int
    month: int
    days: int
    wage: int
    workshop_code: str | None
    workshop_name: str | None
    branch_name: str | None


@dataclass(frozen=True, slots=True)
class RecordTotal:
    """The total record: ``total_days`` and the same as years / months / days."""

    total_days: int
    years: int
    months: int
    days: int


@dataclass(frozen=True, slots=True)
class YearSummary:
    """One Jalali year of record."""

    year: int
    months: int
    days: int
    total_wage: int
    workshops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ContributionSummary:
    last: LastRecord
    total: RecordTotal
    years: tuple[YearSummary, ...]  # newest year first


def _last(row: ContributionRow) -> LastRecord:
    return LastRecord(
        year=row.year,
        month=row.month,
        days=row.days,
        wage=row.wage,
        workshop_code=row.workshop_code,
        workshop_name=row.workshop_name,
        branch_name=row.branch_name,
    )


class ContributionsService:
    """Reads a verified user's contribution records."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
    ) -> None:
        self._session = session
        self._config = settings.config.contributions
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)

    def split_days(self, total_days: int) -> RecordTotal:
        """Write a number of days of record as years / months / days."""
        per_year, per_month = self._config.days_per_year, self._config.days_per_month
        years, rest = divmod(total_days, per_year)
        months, days = divmod(rest, per_month)
        return RecordTotal(total_days=total_days, years=years, months=months, days=days)

    async def _national_id(self, user: UserRef) -> str:
        national_id = await verified_national_id(self._session, user)
        person = await self._registry.person(national_id)
        if person is None:
            raise PersonNotFound()
        if person.insurance_relation is InsuranceRelation.PENSIONER:
            raise PensionerRecordsUnavailable(
                [v.value for v in PENSIONER_CAN_SEE], [v.value for v in PENSIONER_CANNOT_SEE]
            )
        return national_id

    async def last_record(self, user: UserRef) -> LastRecord:
        """Return the newest paid month (:class:`NoContributions` if there is none)."""
        national_id = await self._national_id(user)
        row = await self._registry.last_contribution(national_id)
        if row is None:
            raise NoContributions()
        return _last(row)

    async def record_of_month(self, user: UserRef, year: int, month: int) -> LastRecord | None:
        """Return the record of one Jalali month (None when that month has none)."""
        national_id = await self._national_id(user)
        rows = await self._registry.contributions(national_id)
        found = [r for r in rows if (r.year, r.month) == (year, month)]
        return _last(found[-1]) if found else None

    def months_overdue(self, last: LastRecord) -> int | None:
        """The months between ``last`` and this month when that is more than the normal lag."""
        year, month, _ = to_jalali(self._clock.today())
        gap = (year * 12 + month) - (last.year * 12 + last.month)
        return gap if gap > NORMAL_LAG_MONTHS else None

    async def total(self, user: UserRef) -> RecordTotal:
        """Return the total record (zero days when there is none)."""
        national_id = await self._national_id(user)
        rows = await self._registry.contributions(national_id)
        return self.split_days(sum(r.days for r in rows))

    async def yearly(self, user: UserRef) -> tuple[YearSummary, ...]:
        """Return one summary per Jalali year of record, newest first."""
        national_id = await self._national_id(user)
        return self._years(await self._registry.contributions(national_id))

    async def summary(self, user: UserRef) -> ContributionSummary:
        """Return the last record, the total and the per-year summary in one read."""
        national_id = await self._national_id(user)
        rows = await self._registry.contributions(national_id)
        if not rows:
            raise NoContributions()
        newest = max(rows, key=lambda r: (r.year, r.month))
        return ContributionSummary(
            last=_last(newest),
            total=self.split_days(sum(r.days for r in rows)),
            years=self._years(rows),
        )

    @staticmethod
    def _years(rows: Sequence[ContributionRow]) -> tuple[YearSummary, ...]:
        by_year: dict[int, list[ContributionRow]] = {}
        for row in rows:
            by_year.setdefault(row.year, []).append(row)
        summaries = []
        for year in sorted(by_year, reverse=True):
            items = by_year[year]
            workshops = tuple(dict.fromkeys(r.workshop_name for r in items if r.workshop_name))
            summaries.append(
                YearSummary(
                    year=year,
                    months=len({r.month for r in items}),
                    days=sum(r.days for r in items),
                    total_wage=sum(r.wage for r in items),
                    workshops=workshops,
                )
            )
        return tuple(summaries)
