"""Contribution records and pension slips of the personas."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import (
    HASAN_NID,
    MARYAM_NID,
    PERSONA_MOBILES,
    PERSONA_WORKSHOP_CODE,
    PERSONA_WORKSHOP_NAME,
    REZA_NID,
    ZAHRA_NID,
)
from persian.jalali import from_jalali, jalali_month_length
from services.clock import FixedClock
from services.contributions import (
    PENSIONER_CAN_SEE,
    ContributionsService,
    PensionerView,
)
from services.errors import NoContributions, NotPensioner, NotVerified, PensionerRecordsUnavailable
from services.pension import PensionService
from services.settings import Settings
from tests.services.helpers import add_person, chat_user, make_national_id, verified_user


def test_split_days_boundaries(settings: Settings, clock: FixedClock) -> None:
    service = ContributionsService(None, settings, clock)  # type: ignore[arg-type]
    cases = {
        0: (0, 0, 0),
        29: (0, 0, 29),
        30: (0, 1, 0),
        359: (0, 11, 29),
        360: (1, 0, 0),
        4000: (11, 1, 10),
    }
    for days, (years, months, rest) in cases.items():
        total = service.split_days(days)
        assert (total.total_days, total.years, total.months, total.days) == (
            days,
            years,
            months,
            rest,
        )


async def test_maryam_records(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    service = ContributionsService(session, db_settings, clock)
    last = await service.last_record(user.id)
    # Today is 1403/05/13: the last paid month is the month before, Tir 1403.
    assert (last.year, last.month, last.days) == (1403, 4, 31)
    assert last.workshop_code == PERSONA_WORKSHOP_CODE
    assert last.workshop_name == PERSONA_WORKSHOP_NAME
    assert last.branch_name and last.wage > 0

    expected_days = sum(
        jalali_month_length(y, m)
        for y in range(1395, 1404)
        for m in range(1, 13)
        if (y, m) <= (1403, 4)
    )
    total = await service.total(user.id)
    assert total.total_days == expected_days
    # Tamin's record statements count a year as 360 days and a month as 30 (config.yml).
    years_of_record, rest = divmod(expected_days, 360)
    assert (total.years, total.months, total.days) == (years_of_record, *divmod(rest, 30))
    assert total.years == 8  # 1395/01 … 1403/04 is eight years and four months of record

    years = await service.yearly(user.id)
    assert [y.year for y in years] == list(range(1403, 1394, -1))
    assert years[0].months == 4 and years[1].months == 12
    assert years[1].days == sum(jalali_month_length(1402, m) for m in range(1, 13))
    assert years[0].workshops == (PERSONA_WORKSHOP_NAME,)

    summary = await service.summary(user.id)
    assert summary.last == last and summary.total == total and summary.years == years


async def test_reza_last_record_three_years_ago(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, REZA_NID, PERSONA_MOBILES[REZA_NID])
    last = await ContributionsService(session, db_settings, clock).last_record(user.id)
    assert (last.year, last.month) == (1400, 5)


async def test_zahra_voluntary_months_have_no_workshop(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, ZAHRA_NID, PERSONA_MOBILES[ZAHRA_NID])
    last = await ContributionsService(session, db_settings, clock).last_record(user.id)
    assert (last.year, last.month) == (1403, 5)
    assert last.workshop_code is None and last.workshop_name is None


async def test_pensioners_are_told_what_they_can_see(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    service = ContributionsService(session, db_settings, clock)
    for call in (service.last_record, service.total, service.yearly, service.summary):
        with pytest.raises(PensionerRecordsUnavailable) as caught:
            await call(user.id)
        assert caught.value.code == "pensioner_records_unavailable"
        assert caught.value.cannot_see == (PensionerView.CONTRIBUTION_RECORDS.value,)
        assert caught.value.can_see == tuple(v.value for v in PENSIONER_CAN_SEE)
        assert "payslip" in caught.value.can_see


async def test_no_contributions(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    nid = make_national_id(77)
    await add_person(engine, national_id=nid, mobile="09120000077", coverage_until=None)
    user = await verified_user(session, db_settings, clock, nid, "09120000077")
    service = ContributionsService(session, db_settings, clock)
    with pytest.raises(NoContributions):
        await service.last_record(user.id)
    assert (await service.total(user.id)).total_days == 0
    assert await service.yearly(user.id) == ()


async def test_hasan_pension_slips(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    pension = PensionService(session, db_settings, clock)
    last = await pension.last_slip(user.id)
    assert (last.year, last.month) == (1403, 4)
    assert last.net == last.gross - last.deductions and last.net > 0
    assert last.paid_on == from_jalali(1403, 4, 25)
    recent = await pension.recent(user.id)
    assert [(s.year, s.month) for s in recent] == [
        (1403, 4), (1403, 3), (1403, 2), (1403, 1), (1402, 12), (1402, 11)
    ]  # fmt: skip
    assert len(await pension.recent(user.id, months=3)) == 3


async def test_pension_for_non_pensioners(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    maryam = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    with pytest.raises(NotPensioner):
        await PensionService(session, db_settings, clock).last_slip(maryam.id)
    stranger = await chat_user(session, db_settings, clock)
    with pytest.raises(NotVerified):
        await PensionService(session, db_settings, clock).recent(stranger.id)


async def test_record_of_one_month(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    service = ContributionsService(session, db_settings, clock)
    # Today is 1403/05/13: Khordad 1403 is on record, Mordad 1403 (this month) and 1394 not.
    khordad = await service.record_of_month(user.id, 1403, 3)
    assert khordad is not None
    assert (khordad.year, khordad.month, khordad.days) == (1403, 3, 31)
    assert khordad.workshop_name == PERSONA_WORKSHOP_NAME and khordad.wage > 0
    assert await service.record_of_month(user.id, 1403, 5) is None
    assert await service.record_of_month(user.id, 1394, 12) is None
