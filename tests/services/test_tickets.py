"""1420 tickets: codes, due dates in working days, owner-only lookup, lifecycle, files."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import MARYAM_NID, PERSONA_MOBILES
from services.clock import TEHRAN, FixedClock
from services.db.models import AuditLog, Ticket, TicketAttachment
from services.enums import TicketCategory, TicketStatus
from services.errors import (
    InvalidTicketText,
    InvalidTicketTransition,
    TicketNotFound,
    TooManyAttachments,
)
from services.settings import Settings
from services.tickets import (
    MAX_ATTACHMENTS,
    MAX_TEXT_LENGTH,
    AttachmentRef,
    TicketService,
    check_description,
    normalize_ticket_code,
)
from tests.conftest import with_config
from tests.services.helpers import chat_user, verified_user

WEDNESDAY = dt.datetime(2024, 7, 31, 10, 0, tzinfo=TEHRAN)  # 1403/05/10
CODE = re.compile(r"^1420-\d{6}$")


def calendar_settings(settings: Settings, **values: object) -> Settings:
    return with_config(
        settings, "tickets", **({"recurring_holidays": (), "holidays": ()} | values)
    )


@pytest.mark.parametrize(
    ("category", "due"),
    [
        (TicketCategory.INSURANCE, dt.date(2024, 8, 4)),  # Thu, (Fri), Sat, Sun
        (TicketCategory.MEDICAL, dt.date(2024, 8, 8)),
        (TicketCategory.OTHER, dt.date(2024, 8, 12)),
    ],
)
def test_due_dates_skip_friday(settings: Settings, category: TicketCategory, due: dt.date) -> None:
    service = TicketService(None, calendar_settings(settings), FixedClock(WEDNESDAY))  # type: ignore[arg-type]
    assert service.due_date(category, WEDNESDAY.date()) == due


def test_due_dates_skip_holidays(settings: Settings) -> None:
    local = calendar_settings(settings, holidays=("1403-05-13",))  # Saturday 2024-08-03
    service = TicketService(None, local, FixedClock(WEDNESDAY))  # type: ignore[arg-type]
    assert service.due_date(TicketCategory.INSURANCE, WEDNESDAY.date()) == dt.date(2024, 8, 5)
    recurring = calendar_settings(settings, recurring_holidays=("05-13", "05-14"))
    service = TicketService(None, recurring, FixedClock(WEDNESDAY))  # type: ignore[arg-type]
    assert service.due_date(TicketCategory.INSURANCE, WEDNESDAY.date()) == dt.date(2024, 8, 6)


def test_ten_working_day_cap(settings: Settings) -> None:
    local = calendar_settings(
        settings, due_working_days={"insurance": 15, "medical": 7, "other": 11}
    )
    service = TicketService(None, local, FixedClock(WEDNESDAY))  # type: ignore[arg-type]
    assert service.working_days_for(TicketCategory.INSURANCE) == 10
    assert service.working_days_for(TicketCategory.OTHER) == 10
    assert service.working_days_for(TicketCategory.MEDICAL) == 7
    assert service.due_date(TicketCategory.INSURANCE, WEDNESDAY.date()) == dt.date(2024, 8, 12)
    tight = calendar_settings(settings, max_working_days=5)
    service = TicketService(None, tight, FixedClock(WEDNESDAY))  # type: ignore[arg-type]
    assert service.working_days_for(TicketCategory.MEDICAL) == 5


def test_code_normalisation() -> None:
    assert normalize_ticket_code("1420-123456") == "1420-123456"
    assert normalize_ticket_code("۱۴۲۰-۱۲۳۴۵۶") == "1420-123456"
    assert normalize_ticket_code(" ١٤٢٠ ١٢٣٤٥٦ ") == "1420-123456"
    assert normalize_ticket_code("123456") == "1420-123456"
    for wrong in ("1420-12345", "1421-123456", "abc", "", "1420-1234567"):
        assert normalize_ticket_code(wrong) is None


async def test_create_with_due_date_in_tehran_time(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings
) -> None:
    # 00:30 on Thursday in Tehran is still Wednesday in UTC: the Tehran date counts.
    clock = FixedClock(dt.datetime(2024, 7, 31, 21, 0, tzinfo=dt.UTC))
    local = calendar_settings(db_settings)
    user = await chat_user(session, local, clock, platform="bale")
    files = [
        AttachmentRef("AgAD-photo-1", "photo"),
        AttachmentRef("BQAD-doc", "document", "a.pdf", "application/pdf"),
    ]
    ticket = await TicketService(session, local, clock).create(
        user.id, TicketCategory.INSURANCE, "  فیش حقوقی ماه قبل را دریافت نکرده‌ام  ", files
    )
    assert CODE.match(ticket.tracking_code)
    assert ticket.status is TicketStatus.OPEN
    assert ticket.due_date == dt.date(2024, 8, 5)  # from Thursday: Sat, Sun, Mon
    assert ticket.text == "فیش حقوقی ماه قبل را دریافت نکرده‌ام"
    assert ticket.attachments == tuple(files)
    assert ticket.created_at == clock.now()
    assert [e.kind for e in ticket.events] == ["created"]
    stored = await session.scalar(
        select(Ticket).where(Ticket.tracking_code == ticket.tracking_code)
    )
    assert stored is not None and stored.national_id is None
    platforms = await session.scalars(
        select(TicketAttachment.platform).where(TicketAttachment.ticket_id == stored.id)
    )
    assert platforms.all() == ["bale", "bale"]


async def test_owner_only_lookup_and_my_list(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    owner = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    other = await chat_user(session, db_settings, clock)
    tickets = TicketService(session, db_settings, clock)
    first = await tickets.create(owner.id, TicketCategory.MEDICAL, "دارو")
    clock.advance(dt.timedelta(minutes=5))
    second = await tickets.create(owner.id, TicketCategory.OTHER, "سؤال")
    await tickets.create(other.id, TicketCategory.OTHER, "مال دیگری")

    found = await tickets.get_for_owner(owner.id, first.tracking_code.replace("1420-", "۱۴۲۰-"))
    assert found.tracking_code == first.tracking_code
    with pytest.raises(TicketNotFound) as not_yours:
        await tickets.get_for_owner(other.id, first.tracking_code)
    with pytest.raises(TicketNotFound) as missing:
        await tickets.get_for_owner(
            other.id, "1420-000000" if first.tracking_code != "1420-000000" else "1420-000001"
        )
    assert type(not_yours.value) is type(missing.value)
    assert not_yours.value.code == "ticket_not_found"
    with pytest.raises(TicketNotFound):
        await tickets.get_for_owner(owner.id, "not a code")

    mine = await tickets.list_mine(owner.id)
    assert [t.tracking_code for t in mine] == [second.tracking_code, first.tracking_code]
    stored = await session.scalar(
        select(Ticket).where(Ticket.tracking_code == first.tracking_code)
    )
    assert stored is not None and stored.national_id == MARYAM_NID


async def test_codes_are_unique(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await chat_user(session, db_settings, clock)
    tickets = TicketService(session, db_settings, clock)
    codes = {
        (await tickets.create(user.id, TicketCategory.OTHER, f"پیام {i}")).tracking_code
        for i in range(60)
    }
    assert len(codes) == 60 and all(CODE.match(c) for c in codes)
    assert await session.scalar(select(func.count(func.distinct(Ticket.tracking_code)))) == 60


async def test_lifecycle(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await chat_user(session, db_settings, clock)
    tickets = TicketService(session, db_settings, clock)
    ticket = await tickets.create(user.id, TicketCategory.INSURANCE, "سابقه ناقص است")
    code = ticket.tracking_code
    moved = await tickets.change_status(code, TicketStatus.IN_PROGRESS, "agent:1")
    assert moved.status is TicketStatus.IN_PROGRESS
    with pytest.raises(InvalidTicketTransition) as back:
        await tickets.change_status(code, TicketStatus.OPEN, "agent:1")
    assert (back.value.current, back.value.requested) == ("in_progress", "open")
    answered = await tickets.answer(code, "سابقه اصلاح شد.", "agent:1")
    assert answered.status is TicketStatus.ANSWERED and answered.answer == "سابقه اصلاح شد."
    reopened = await tickets.change_status(code, TicketStatus.IN_PROGRESS, "chat_user:1")
    assert reopened.status is TicketStatus.IN_PROGRESS
    await tickets.answer(code, "پاسخ نهایی", "agent:2")
    clock.advance(dt.timedelta(hours=1))
    closed = await tickets.change_status(code, TicketStatus.CLOSED, "agent:2")
    assert closed.status is TicketStatus.CLOSED and closed.closed_at == clock.now()
    for status in TicketStatus:
        with pytest.raises(InvalidTicketTransition):
            await tickets.change_status(code, status, "agent:2")
    assert [(e.from_status, e.to_status) for e in closed.events] == [
        (None, TicketStatus.OPEN),
        (TicketStatus.OPEN, TicketStatus.IN_PROGRESS),
        (TicketStatus.IN_PROGRESS, TicketStatus.ANSWERED),
        (TicketStatus.ANSWERED, TicketStatus.IN_PROGRESS),
        (TicketStatus.IN_PROGRESS, TicketStatus.ANSWERED),
        (TicketStatus.ANSWERED, TicketStatus.CLOSED),
    ]
    assert (await tickets.get(code)).status is TicketStatus.CLOSED
    audited = (await session.scalars(select(AuditLog.action))).all()
    assert audited.count("tickets.status") == 5
    with pytest.raises(TicketNotFound):
        await tickets.change_status("1420-", TicketStatus.CLOSED, "agent:2")


def test_overdue_against_the_answer_target() -> None:
    # The one rule the console's ticket desk colours tickets by.
    from services.enums import DueClass
    from services.handoff.results import due_class

    due = dt.date(2024, 8, 4)
    assert due_class(TicketStatus.OPEN, due, dt.date(2024, 8, 3)) is DueClass.ON_TIME
    assert due_class(TicketStatus.IN_PROGRESS, due, due) is DueClass.DUE_TODAY
    assert due_class(TicketStatus.OPEN, due, dt.date(2024, 8, 5)) is DueClass.OVERDUE
    assert due_class(TicketStatus.ANSWERED, due, dt.date(2024, 8, 5)) is DueClass.DONE
    assert due_class(TicketStatus.CLOSED, due, dt.date(2024, 8, 5)) is DueClass.DONE


async def test_refusals(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await chat_user(session, db_settings, clock)
    tickets = TicketService(session, db_settings, clock)
    with pytest.raises(InvalidTicketText) as empty:
        await tickets.create(user.id, TicketCategory.OTHER, " \n ")
    assert empty.value.problem == "empty"
    with pytest.raises(InvalidTicketText) as long:
        await tickets.create(user.id, TicketCategory.OTHER, "ا" * (MAX_TEXT_LENGTH + 1))
    assert long.value.problem == "too_long" and long.value.limit == MAX_TEXT_LENGTH
    files = [AttachmentRef(f"f{i}") for i in range(MAX_ATTACHMENTS + 1)]
    with pytest.raises(TooManyAttachments):
        await tickets.create(user.id, TicketCategory.OTHER, "متن", files)
    assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b" * 20,  # issue 17, finding 14: twenty zero-width spaces filed a ticket
        "\u200c" * 12 + "بد",
        "\u200e\u200f\u2066\u2069\ufeff" * 4 + "ا",
        "\x00" * 30,
        "ــ" + "\u064b" * 15,  # diacritics alone are no text
    ],
)
def test_a_description_needs_ten_visible_characters(typed: str) -> None:
    with pytest.raises(InvalidTicketText) as short:
        check_description(typed)
    assert short.value.problem == "too_short"


def test_a_description_loses_control_characters_but_keeps_its_lines() -> None:
    assert check_description(" کارفرما\x00 بیمه\u200cام را\n\tواریز نکرده ") == (
        "کارفرما بیمه\u200cام را\n\tواریز نکرده"
    )
