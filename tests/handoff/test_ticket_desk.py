"""The console's ticket desk in the service: picking a chat from a ticket, answering, closing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import FixedClock
from services.db.models import Outbox
from services.enums import (
    ConversationStatus,
    HandoffReason,
    TicketStatus,
)
from services.identity import ChatUserInfo
from services.settings import Settings
from tests.handoff.conftest import AgentFactory, Handoff
from tests.handoff.helpers import outbox_kinds


async def test_agent_picks_a_chat_from_a_ticket(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import TicketCategory
    from services.handoff import TicketDesk
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    info = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.MEDICAL, "دفترچه"
    )
    desk = TicketDesk(session, db_settings, clock)
    cid = await desk.start_chat(sara, info.tracking_code)
    detail = await handoff.views.detail(sara, cid)
    assert detail.summary.status is ConversationStatus.OPEN
    assert detail.summary.reason is HandoffReason.AGENT_PICK
    assert detail.summary.ticket_code == info.tracking_code
    assert [a.kind for a in detail.answers] == ["ticket"]
    # Regression (issue 18): the agent started this chat, so the user is not told "the agent
    # accepted the conversation" but that an agent opened one about their ticket.
    assert await outbox_kinds(session, maryam.platform_user_id) == ["handoff_started"]
    # Starting again returns the same open conversation.
    assert await desk.start_chat(sara, info.tracking_code) == cid


async def test_ticket_desk_answer_reaches_the_outbox_and_close(
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import DueClass, TicketCategory
    from services.handoff import TicketDesk, TicketFilters
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    tickets = TicketService(session, db_settings, clock)
    medical = await tickets.create(maryam.id, TicketCategory.MEDICAL, "کد ملی 6508124226")
    clock.advance(dt.timedelta(days=10))
    insurance = await tickets.create(maryam.id, TicketCategory.INSURANCE, "سابقه")
    desk = TicketDesk(session, db_settings, clock)
    rows = await desk.search(TicketFilters())
    assert [r.tracking_code for r in rows] == [medical.tracking_code, insurance.tracking_code]
    assert rows[0].due_class is DueClass.OVERDUE and rows[0].text == "کد ملی 650*****26"
    assert rows[1].due_class is DueClass.ON_TIME
    overdue = await desk.search(TicketFilters(due="overdue"))
    assert [r.tracking_code for r in overdue] == [medical.tracking_code]
    assert [
        r.tracking_code for r in await desk.search(TicketFilters(category=insurance.category))
    ] == [insurance.tracking_code]

    answered = await desk.answer(sara, medical.tracking_code, "مدارک را به شعبه ببرید.")
    assert answered.status is TicketStatus.ANSWERED
    payload = await session.scalar(
        select(Outbox.payload).where(Outbox.chat_id == maryam.platform_user_id)
    )
    assert payload == {
        "kind": "ticket_answer",
        "tracking_code": medical.tracking_code,
        "text": "مدارک را به شعبه ببرید.",
    }
    page = await desk.page(sara, medical.tracking_code)
    assert page.due_class is DueClass.DONE and page.identity.national_id == "650*****26"
    assert [status for _, status in page.deliveries] == ["pending"]
    closed = await desk.close(sara, medical.tracking_code)
    assert closed.status is TicketStatus.CLOSED
    assert [
        r.tracking_code for r in await desk.search(TicketFilters(status=TicketStatus.CLOSED))
    ] == [medical.tracking_code]


async def test_a_failed_ticket_answer_leaves_no_outbox_row(
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.enums import TicketCategory
    from services.errors import InvalidTicketTransition
    from services.handoff import TicketDesk
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    info = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.OTHER, "x"
    )
    desk = TicketDesk(session, db_settings, clock)
    await desk.close(sara, info.tracking_code)
    with pytest.raises(InvalidTicketTransition):
        await desk.answer(sara, info.tracking_code, "too late")
    assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


async def test_the_ticket_page_shows_each_answer_held_sent_or_switched_off(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.clock import TEHRAN
    from services.enums import NoticeKind, TicketCategory
    from services.handoff import TicketDesk
    from services.notices import NoticePreferences, NoticeScheduler
    from services.tickets import TicketService

    sara = await agent_factory("sara")
    tickets = TicketService(session, db_settings, clock)
    desk = TicketDesk(session, db_settings, clock)
    held = await tickets.create(maryam.id, TicketCategory.MEDICAL, "دفترچه‌ام تمدید نشد")
    off = await tickets.create(maryam.id, TicketCategory.INSURANCE, "سابقه‌ام ناقص است")
    # 23:00 in Tehran: the answer's notice waits for the end of the quiet hours.
    clock.set(dt.datetime(2024, 8, 3, 23, 0, tzinfo=TEHRAN))
    await desk.answer(sara, held.tracking_code, "مدارک را به شعبه ببرید.")
    await session.commit()
    [(at, state)] = (await desk.page(sara, held.tracking_code)).deliveries
    assert state == "waiting" and (at.hour, at.minute) == (8, 0)
    assert await outbox_kinds(session, maryam.platform_user_id) == []
    # At 08:00 the scheduler hands it to the outbox, and the page says so.
    clock.set(dt.datetime(2024, 8, 4, 8, 1, tzinfo=TEHRAN))
    assert await NoticeScheduler(session_factory, db_settings, clock).release() == 1
    assert [s for _, s in (await desk.page(sara, held.tracking_code)).deliveries] == ["pending"]
    # Switched off: the answer is recorded, nothing is queued, and the page says why.
    await NoticePreferences(session, clock).set(maryam.id, NoticeKind.TICKET_ANSWERED, False)
    await desk.answer(sara, off.tracking_code, "سابقهٔ شما اصلاح شد.")
    await session.commit()
    assert [s for _, s in (await desk.page(sara, off.tracking_code)).deliveries] == ["off"]
    assert await outbox_kinds(session, maryam.platform_user_id) == ["ticket_answer"]
