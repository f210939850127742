"""Pension payslips (فیش مستمری) of a verified pensioner: the last one and recent months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.common import UserRef, verified_national_id
from services.enums import InsuranceRelation
from services.errors import NoPensionSlips, NotPensioner, PersonNotFound
from services.registry import PensionSlipRow, RegistryGateway, SqlRegistryGateway
from services.settings import Settings

DEFAULT_RECENT_MONTHS = 6
# How far back a named month is looked for (and the nearest one offered from): 20 years of
# payslips is one small indexed read.
MONTHS_SEARCHED = 240


@dataclass(frozen=True, slots=True)
class PensionSlip:
    """One month's payslip (Jalali year and month); amounts in Rial."""

    year: int
    month: int
    gross: int
    deductions: int
    net: int
    paid_on: dt.date


@dataclass(frozen=True, slots=True)
class MonthSlip:
    """The payslip of the month asked for, or, when there is none, the nearest one."""

    year: int
    month: int
    slip: PensionSlip | None
    nearest: PensionSlip | None


def _slip(row: PensionSlipRow) -> PensionSlip:
    return PensionSlip(row.year, row.month, row.gross, row.deductions, row.net, row.paid_on)


class PensionService:
    """Reads payslips; only pensioners have them (:class:`NotPensioner` otherwise)."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)

    async def _pensioner(self, user: UserRef) -> str:
        national_id = await verified_national_id(self._session, user)
        person = await self._registry.person(national_id)
        if person is None:
            raise PersonNotFound()
        if person.insurance_relation is not InsuranceRelation.PENSIONER:
            raise NotPensioner()
        return national_id

    async def last_slip(self, user: UserRef) -> PensionSlip:
        """Return the newest payslip (:class:`NoPensionSlips` when there is none yet)."""
        slips = await self.recent(user, months=1)
        return slips[0]

    async def recent(
        self, user: UserRef, months: int = DEFAULT_RECENT_MONTHS
    ) -> tuple[PensionSlip, ...]:
        """Return up to ``months`` payslips, newest first (at least one, or raises)."""
        national_id = await self._pensioner(user)
        rows = await self._registry.pension_slips(national_id, limit=max(1, months))
        if not rows:
            raise NoPensionSlips()
        return tuple(_slip(row) for row in rows)

    async def slip_of_month(self, user: UserRef, year: int, month: int) -> MonthSlip:
        """Return the payslip of the Jalali ``year``/``month``, or the nearest one there is
        (the later one on a tie: it is the newer information). :class:`NoPensionSlips` when
        the pensioner has none at all."""
        national_id = await self._pensioner(user)
        rows = await self._registry.pension_slips(national_id, limit=MONTHS_SEARCHED)
        if not rows:
            raise NoPensionSlips()
        slips = [_slip(row) for row in rows]
        for slip in slips:
            if (slip.year, slip.month) == (year, month):
                return MonthSlip(year, month, slip, None)
        asked = year * 12 + month
        nearest = min(slips, key=lambda s: (abs(s.year * 12 + s.month - asked), -s.year, -s.month))
        return MonthSlip(year, month, None, nearest)
