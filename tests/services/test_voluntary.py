"""Voluntary insurance: rules as data, estimates within bounds, deadlines, the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import MARYAM_NID, PERSONA_MOBILES, ZAHRA_NID
from persian.jalali import from_jalali, jalali_month_end
from services.clock import FixedClock
from services.errors import NoVoluntaryContract, WageBaseOutOfRange
from services.settings import Settings
from services.voluntary import PORTAL_MENU, ApplicantProblem, OfflineCase, VoluntaryService
from tests.services.helpers import verified_user


def rules_service(settings: Settings, clock: FixedClock) -> VoluntaryService:
    return VoluntaryService(None, settings, clock)  # type: ignore[arg-type]  # no DB needed


def test_rules_as_data(settings: Settings, clock: FixedClock) -> None:
    rules = rules_service(settings, clock).rules()
    config = settings.config.voluntary
    assert rules.payment_deadline_days == 20 == config.payment_deadline_days
    assert rules.medical_exam_months == 2 and rules.max_unpaid_slip_months == 2
    assert rules.rate_percent == Decimal(str(config.rate_percent))
    assert rules.portal_menu == PORTAL_MENU
    assert set(rules.offline_cases) == {OfflineCase.GROWTH_CERTIFICATE, OfflineCase.GUARDIANSHIP}
    assert rules.wage_base_changeable_before_payment and rules.treatment_once_payment_confirmed


def test_estimate_within_bounds(settings: Settings, clock: FixedClock) -> None:
    service = rules_service(settings, clock)
    config = settings.config.voluntary
    low = service.estimate(config.min_wage_base_rial)
    assert low.monthly_contribution_rial == round(config.min_wage_base_rial * 27 / 100)
    high = service.estimate(config.max_wage_base_rial)
    assert high.monthly_contribution_rial == round(config.max_wage_base_rial * 27 / 100)
    assert service.estimate(150_000_000).monthly_contribution_rial == 40_500_000
    # Half a Rial rounds up.
    assert service.estimate(150_000_002, Decimal("26.25")).monthly_contribution_rial == 39_375_001
    for wrong in (config.min_wage_base_rial - 1, config.max_wage_base_rial + 1):
        with pytest.raises(WageBaseOutOfRange) as caught:
            service.estimate(wrong)
        assert caught.value.minimum == config.min_wage_base_rial
        assert caught.value.maximum == config.max_wage_base_rial
        assert caught.value.given == wrong


def test_deadlines(settings: Settings, clock: FixedClock) -> None:
    service = rules_service(settings, clock)
    contract = from_jalali(1403, 5, 13)
    assert service.payment_deadline(contract) == contract + dt.timedelta(days=20)
    assert service.medical_exam_window(contract).exam_deadline == from_jalali(1403, 7, 13)
    # The 31st of a 31-day month, two months on, lands on a 30-day month's last day.
    assert service.medical_exam_window(from_jalali(1403, 5, 31)).exam_deadline == from_jalali(
        1403, 7, 30
    )
    # Across the year end: 1403 is a leap year (Esfand has 30 days).
    assert service.medical_exam_window(from_jalali(1403, 10, 30)).exam_deadline == from_jalali(
        1403, 12, 30
    )
    assert service.medical_exam_window(from_jalali(1402, 11, 15)).exam_deadline == from_jalali(
        1403, 1, 15
    )


def test_applicant_check(settings: Settings, clock: FixedClock) -> None:
    service = rules_service(settings, clock)
    fifty = from_jalali(1353, 5, 13)  # fifty today
    ok = service.check_applicant(fifty, 30)
    assert ok.eligible and ok.age_years == 50
    assert service.check_applicant(from_jalali(1352, 5, 14), 30).eligible  # 51 tomorrow
    older = service.check_applicant(from_jalali(1352, 5, 13), 29)
    assert older.age_years == 51
    assert older.problems == (ApplicantProblem.TOO_OLD, ApplicantProblem.NOT_ENOUGH_PRIOR_RECORD)


async def test_zahra_contract(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, ZAHRA_NID, PERSONA_MOBILES[ZAHRA_NID])
    contract = await VoluntaryService(session, db_settings, clock).my_contract(user.id)
    assert contract.paid_up
    assert contract.paid_through == jalali_month_end(1403, 5)
    assert contract.contract_date == from_jalali(1401, 7, 10)
    assert contract.payment_deadline == contract.contract_date + dt.timedelta(days=20)
    assert contract.monthly_contribution_rial == 150_000_000 * 27 // 100
    assert contract.medical_exam_exempt and contract.exam_deadline is None


async def test_no_contract(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    with pytest.raises(NoVoluntaryContract):
        await VoluntaryService(session, db_settings, clock).my_contract(user.id)
