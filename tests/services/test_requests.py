"""A chat user's requests in one list, any code the bot printed finding its item, and the
payslip of a named month (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import HASAN_NID, MARYAM_NID, PERSONA_MOBILES, REZA_NID
from services.clock import FixedClock
from services.db.models import PensionSlip
from services.dependants import DependantApplication, DependantsService
from services.eligibility import EligibilityService
from services.enums import DependantRequestStatus, Relation, TicketCategory, TicketStatus
from services.errors import NoPensionSlips, NotPensioner, TicketNotFound
from services.pension import PensionService
from services.requests import InquiryInfo, RequestKind, RequestsService
from services.settings import Settings
from services.tickets import TicketInfo, TicketService
from tests.services.helpers import verified_user

SON_NID = "0499370899"


def requests_service(
    session: AsyncSession, settings: Settings, clock: FixedClock
) -> RequestsService:
    return RequestsService(session, TicketService(session, settings, clock))


async def test_my_requests_are_one_list_newest_first(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    reza = await verified_user(session, db_settings, clock, REZA_NID, PERSONA_MOBILES[REZA_NID])
    maryam = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    application = await DependantsService(session, db_settings, clock).record_application(
        reza, Relation.SON, SON_NID, dt.date(2016, 4, 29)
    )
    await session.commit()
    clock.advance(dt.timedelta(hours=1))
    tickets = TicketService(session, db_settings, clock)
    ticket = await tickets.create(reza, TicketCategory.INSURANCE, "کارفرما بیمه را رد نکرده است")
    await session.commit()

    service = requests_service(session, db_settings, clock)
    mine = await service.list_mine(reza)
    assert [r.tracking_code for r in mine] == [ticket.tracking_code, application.tracking_code]
    first, second = mine
    assert (first.kind, first.status, first.subject) == (
        RequestKind.TICKET,
        TicketStatus.OPEN,
        TicketCategory.INSURANCE,
    )
    assert first.due_date == ticket.due_date
    assert (second.kind, second.status, second.subject, second.due_date) == (
        RequestKind.DEPENDANT,
        DependantRequestStatus.UNDER_BRANCH_REVIEW,
        Relation.SON,
        None,
    )
    assert first.created_at > second.created_at
    assert first.created_at.utcoffset() == dt.timedelta(hours=3, minutes=30)
    assert await service.list_mine(maryam) == ()
    assert len(await service.list_mine(reza, limit=1)) == 1


async def test_every_code_the_bot_printed_finds_its_item_for_its_owner_only(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    reza = await verified_user(session, db_settings, clock, REZA_NID, PERSONA_MOBILES[REZA_NID])
    maryam = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    application = await DependantsService(session, db_settings, clock).record_application(
        reza, Relation.SON, SON_NID, dt.date(2016, 4, 29)
    )
    ticket = await TicketService(session, db_settings, clock).create(
        reza, TicketCategory.OTHER, "درخواست گفتگو با کارشناس"
    )
    inquiry = await EligibilityService(session, db_settings, clock).inquire(reza.id)
    await session.commit()
    service = requests_service(session, db_settings, clock)

    found = await service.find(reza, application.tracking_code)
    assert isinstance(found, DependantApplication)
    assert (found.relation, found.dependant_national_id) == (Relation.SON, SON_NID)
    # Typed in Persian digits with spaces, as people copy it.
    spaced = application.tracking_code[:5] + " " + application.tracking_code[5:]
    persian = spaced.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert isinstance(await service.find(reza, persian), DependantApplication)

    six = ticket.tracking_code.removeprefix("1420-")
    for written in (ticket.tracking_code, six, f"1420 - {six}", f"1420{six}"):
        by_code = await service.find(reza, written)
        assert isinstance(by_code, TicketInfo) and by_code.tracking_code == ticket.tracking_code

    by_inquiry = await service.find(reza, inquiry.tracking_code)
    assert isinstance(by_inquiry, InquiryInfo)
    assert by_inquiry.covered is False  # Reza's contributions stopped three years ago
    assert by_inquiry.people == len(inquiry.rows)

    for code in (application.tracking_code, ticket.tracking_code, inquiry.tracking_code):
        with pytest.raises(TicketNotFound):
            await service.find(maryam, code)
    for nonsense in ("12345", "abc", "9" * 10, "1" * 12):
        with pytest.raises(TicketNotFound):
            await service.find(reza, nonsense)


async def test_the_payslip_of_a_named_month_or_the_nearest(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    # Today is 1403/05/13: Hassan has payslips for 1402/11 … 1403/04.
    hasan = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    service = PensionService(session, db_settings, clock)
    found = await service.slip_of_month(hasan, 1403, 2)
    assert found.slip is not None and (found.slip.year, found.slip.month) == (1403, 2)
    assert found.nearest is None
    later = await service.slip_of_month(hasan, 1403, 5)
    assert later.slip is None and later.nearest is not None
    assert (later.nearest.year, later.nearest.month) == (1403, 4)
    earlier = await service.slip_of_month(hasan, 1402, 6)
    assert earlier.nearest is not None and (earlier.nearest.year, earlier.nearest.month) == (
        1402,
        11,
    )
    maryam = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    with pytest.raises(NotPensioner):
        await service.slip_of_month(maryam, 1403, 2)


async def test_a_pensioner_without_payslips_is_told_so(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    await session.execute(delete(PensionSlip))
    await session.commit()
    hasan = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    with pytest.raises(NoPensionSlips):
        await PensionService(session, db_settings, clock).slip_of_month(hasan, 1403, 2)
