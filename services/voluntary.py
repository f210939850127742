"""Voluntary insurance (بیمه اختیاری): the seed's rules as data, estimates and deadlines.

Seed (the voluntary-insurance order): fully online at the e-services portal; payment within
``payment_deadline_days`` of the contract date; without the medical-exam exemption, the exam
within ``medical_exam_months`` and payment slips for at most ``max_unpaid_slip_months``; cases
needing a growth certificate or guardianship papers go to a branch; the wage base can change
after the contract and before payment; treatment is available as soon as the bank confirms
payment. Research values (prior record, age limit, rate, wage bounds) come from ``config.yml``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from persian.jalali import add_jalali_months, age_in_years
from services.clock import Clock
from services.common import UserRef, verified_national_id
from services.errors import NoVoluntaryContract, WageBaseOutOfRange
from services.registry import RegistryGateway, SqlRegistryGateway
from services.settings import Settings

# The portal's menu path, in its own words (DOMAIN.md § Voluntary insurance).
PORTAL_MENU: Final = ("بیمه‌شدگان", "بیمه‌شدگان خاص", "بیمه اختیاری")


class OfflineCase(StrEnum):
    """Cases the portal cannot handle: the applicant visits a branch."""

    GROWTH_CERTIFICATE = "growth_certificate"  # گواهی رشد
    GUARDIANSHIP = "guardianship"  # قیم‌نامه


class ApplicantProblem(StrEnum):
    TOO_OLD = "too_old"
    NOT_ENOUGH_PRIOR_RECORD = "not_enough_prior_record"


@dataclass(frozen=True, slots=True)
class VoluntaryRules:
    """Everything the assistant says about voluntary insurance, as values."""

    portal_url: str
    portal_menu: tuple[str, ...]
    payment_deadline_days: int
    medical_exam_months: int
    max_unpaid_slip_months: int
    min_prior_record_days: int
    max_age_years: int
    rate_percent: Decimal
    min_wage_base_rial: int
    max_wage_base_rial: int
    offline_cases: tuple[OfflineCase, ...] = tuple(OfflineCase)
    fully_online: bool = True
    wage_base_changeable_before_payment: bool = True
    treatment_once_payment_confirmed: bool = True


@dataclass(frozen=True, slots=True)
class ContributionEstimate:
    """The monthly contribution for a wage base (Rial, rounded half up)."""

    wage_base_rial: int
    rate_percent: Decimal
    monthly_contribution_rial: int


@dataclass(frozen=True, slots=True)
class MedicalExamWindow:
    """Without the exemption: the exam by ``exam_deadline``; slips for at most N months."""

    contract_date: dt.date
    exam_deadline: dt.date
    max_unpaid_slip_months: int


@dataclass(frozen=True, slots=True)
class ApplicantCheck:
    eligible: bool
    problems: tuple[ApplicantProblem, ...]
    age_years: int
    prior_record_days: int


@dataclass(frozen=True, slots=True)
class VoluntaryContractInfo:
    """A user's contract and where they stand with it."""

    contract_number: str
    contract_date: dt.date
    wage_base_rial: int
    rate_percent: Decimal
    monthly_contribution_rial: int
    payment_deadline: dt.date
    paid_through: dt.date | None
    paid_up: bool  # paid through today or later: covered
    medical_exam_exempt: bool
    exam_deadline: dt.date | None


def _percent(value: float | Decimal) -> Decimal:
    return Decimal(str(value))


class VoluntaryService:
    """Voluntary-insurance rules, estimates, deadlines and the user's own contract."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
    ) -> None:
        self._session = session
        self._config = settings.config.voluntary
        self._portal_url = settings.config.contact_centre.eservices_url
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)

    def rules(self) -> VoluntaryRules:
        c = self._config
        return VoluntaryRules(
            portal_url=self._portal_url,
            portal_menu=PORTAL_MENU,
            payment_deadline_days=c.payment_deadline_days,
            medical_exam_months=c.medical_exam_months,
            max_unpaid_slip_months=c.max_unpaid_slip_months,
            min_prior_record_days=c.min_prior_record_days,
            max_age_years=c.max_age_years,
            rate_percent=_percent(c.rate_percent),
            min_wage_base_rial=c.min_wage_base_rial,
            max_wage_base_rial=c.max_wage_base_rial,
        )

    def estimate(
        self, wage_base_rial: int, rate_percent: Decimal | None = None
    ) -> ContributionEstimate:
        """Return the monthly contribution for a wage base within the configured bounds.

        Raises :class:`WageBaseOutOfRange` outside ``[min_wage_base_rial, max_wage_base_rial]``.
        """
        c = self._config
        if not c.min_wage_base_rial <= wage_base_rial <= c.max_wage_base_rial:
            raise WageBaseOutOfRange(wage_base_rial, c.min_wage_base_rial, c.max_wage_base_rial)
        rate = rate_percent if rate_percent is not None else _percent(c.rate_percent)
        amount = (Decimal(wage_base_rial) * rate / 100).quantize(Decimal(1), ROUND_HALF_UP)
        return ContributionEstimate(wage_base_rial, rate, int(amount))

    def payment_deadline(self, contract_date: dt.date) -> dt.date:
        """Return the last day to pay: ``payment_deadline_days`` after the contract date."""
        return contract_date + dt.timedelta(days=self._config.payment_deadline_days)

    def medical_exam_window(self, contract_date: dt.date) -> MedicalExamWindow:
        """Return the exam deadline: ``medical_exam_months`` Jalali months after the contract."""
        return MedicalExamWindow(
            contract_date=contract_date,
            exam_deadline=add_jalali_months(contract_date, self._config.medical_exam_months),
            max_unpaid_slip_months=self._config.max_unpaid_slip_months,
        )

    def check_applicant(self, birth_date: dt.date, prior_record_days: int) -> ApplicantCheck:
        """Check the research conditions: the age limit and the minimum prior record."""
        age = age_in_years(birth_date, self._clock.today())
        problems: list[ApplicantProblem] = []
        if age > self._config.max_age_years:
            problems.append(ApplicantProblem.TOO_OLD)
        if prior_record_days < self._config.min_prior_record_days:
            problems.append(ApplicantProblem.NOT_ENOUGH_PRIOR_RECORD)
        return ApplicantCheck(not problems, tuple(problems), age, prior_record_days)

    async def my_contract(self, user: UserRef) -> VoluntaryContractInfo:
        """Return the verified user's newest contract (:class:`NoVoluntaryContract` if none)."""
        national_id = await verified_national_id(self._session, user)
        contract = await self._registry.voluntary_contract(national_id)
        if contract is None:
            raise NoVoluntaryContract()
        amount = (Decimal(contract.wage_base) * contract.rate_percent / 100).quantize(
            Decimal(1), ROUND_HALF_UP
        )
        today = self._clock.today()
        return VoluntaryContractInfo(
            contract_number=contract.contract_number,
            contract_date=contract.contract_date,
            wage_base_rial=contract.wage_base,
            rate_percent=contract.rate_percent,
            monthly_contribution_rial=int(amount),
            payment_deadline=self.payment_deadline(contract.contract_date),
            paid_through=contract.paid_through,
            paid_up=contract.paid_through is not None and contract.paid_through >= today,
            medical_exam_exempt=contract.medical_exam_exempt,
            exam_deadline=None
            if contract.medical_exam_exempt
            else self.medical_exam_window(contract.contract_date).exam_deadline,
        )
