"""Escalation in the service: queue or ticket, the record, leaving, racing, retention."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import FixedClock
from services.db.handoff_models import Conversation
from services.db.models import Ticket
from services.eligibility import EligibilityService
from services.enums import (
    ClosedBecause,
    ConversationStatus,
    RateOutcome,
)
from services.handoff import Queued, Ticketed
from services.identity import ChatUserInfo
from services.retention import RetentionReport
from services.settings import Settings
from tests.handoff.conftest import AgentFactory, Handoff
from tests.handoff.helpers import TICKET_TEXT, escalate
from tests.services.helpers import log_message


async def test_escalation_queues_with_place_wait_and_record(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    await agent_factory("sara")
    await log_message(
        session,
        clock,
        platform="telegram",
        chat_id=maryam.platform_user_id,
        text="بیمه دارم؟",
        intent="check_eligibility",
        confidence=0.93,
        fallback=False,
    )
    await log_message(
        session,
        clock,
        platform="telegram",
        chat_id=maryam.platform_user_id,
        text="کد ملی من 6508124226 است، چرا پسرم بیمه ندارد",
        intent=None,
        confidence=0.2,
        fallback=True,
    )
    inquiry = await EligibilityService(session, db_settings, clock).inquire(maryam.id)

    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Queued)
    assert outcome.position == 1 and not outcome.already
    assert outcome.wait_minutes == handoff.escalation.config.default_handle_minutes

    conversation = await session.get(Conversation, outcome.conversation_id)
    assert conversation is not None
    assert conversation.status == "queued" and conversation.reason == "human_agent"
    assert conversation.national_id == "6508124226" and conversation.mobile == "09121234567"
    assert conversation.user_name == "مریم رضایی"
    record = conversation.escalation
    assert [line["intent"] for line in record["transcript"]] == ["check_eligibility", None]
    assert record["transcript"][1]["fallback"] is True
    assert record["answers"] == [
        {
            "kind": "eligibility",
            "at": record["answers"][0]["at"],
            "tracking_code": inquiry.tracking_code,
            "status": "covered",
            "detail": None,
        }
    ]
    # Asking again while queued: the same place, nothing new.
    again = await escalate(handoff, maryam)
    assert isinstance(again, Queued) and again.already
    assert again.conversation_id == outcome.conversation_id and again.position == 1


async def test_queue_order_and_wait_grow_with_place(
    handoff: Handoff,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> None:
    from tests.services.helpers import chat_user

    await agent_factory("sara")
    users = [await chat_user(session, db_settings, clock) for _ in range(3)]
    outcomes = []
    for user in users:
        outcomes.append(await escalate(handoff, user))
        clock.advance(dt.timedelta(minutes=1))
    assert [o.position for o in outcomes] == [1, 2, 3]  # type: ignore[attr-defined]
    waits = [o.wait_minutes for o in outcomes]  # type: ignore[attr-defined]
    assert waits == sorted(waits) and waits[0] < waits[2]
    queue = await handoff.views.queue()
    assert [c.id for c in queue] == [o.conversation_id for o in outcomes]  # type: ignore[attr-defined]
    assert queue[0].waiting == dt.timedelta(minutes=3)
    assert queue[0].user_name == "کاربر" and queue[0].national_id_masked is None


async def test_outside_hours_becomes_a_ticket(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
    clock: FixedClock,
) -> None:
    await agent_factory("sara")
    clock.set(dt.datetime(2024, 8, 3, 21, 30))  # Saturday 21:30: closed at 20:00
    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Ticketed)
    assert outcome.because is ClosedBecause.OUTSIDE_HOURS
    assert outcome.tracking_code.startswith("1420-")
    assert outcome.next_opening == dt.datetime(2024, 8, 4, 8, 0, tzinfo=clock.now().tzinfo)
    ticket = await session.scalar(
        select(Ticket).where(Ticket.tracking_code == outcome.tracking_code)
    )
    assert ticket is not None and ticket.status == "open"
    assert ticket.due_date == outcome.due_date
    assert ticket.text.startswith(TICKET_TEXT)
    conversation = await session.get(Conversation, outcome.conversation_id)
    assert conversation is not None and conversation.status == "ticketed"
    assert conversation.ticket_code == outcome.tracking_code
    assert await handoff.escalation.active("telegram", maryam.platform_user_id) is None


async def test_nobody_online_becomes_a_ticket(
    handoff: Handoff, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    await agent_factory("sara", online=False)
    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Ticketed) and outcome.because is ClosedBecause.NOBODY_ONLINE


async def test_leave_while_pending_and_while_open(
    handoff: Handoff, maryam: ChatUserInfo, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    chat = maryam.platform_user_id
    assert await handoff.escalation.leave("telegram", chat) is None
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued)
    left = await handoff.escalation.leave("telegram", chat)
    assert left is not None and left.was is ConversationStatus.QUEUED
    assert await handoff.views.queue() == []
    queued = await escalate(handoff, maryam)
    assert isinstance(queued, Queued) and queued.conversation_id != left.id
    await handoff.desk.take(sara, queued.conversation_id)
    left = await handoff.escalation.leave("telegram", chat)
    assert left is not None and left.was is ConversationStatus.OPEN
    # A chat the user left cannot be rated.
    assert (
        await handoff.escalation.rate(
            platform="telegram", chat_id=chat, conversation_id=left.id, rating=5
        )
        is RateOutcome.NOT_FOUND
    )


async def test_one_active_conversation_per_chat_even_when_racing(
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
    maryam: ChatUserInfo,
    agent_factory: AgentFactory,
) -> None:
    await agent_factory("sara")
    async with session_factory() as one, session_factory() as two:
        first = Handoff(one, db_settings, clock)
        second = Handoff(two, db_settings, clock)
        a = await escalate(first, maryam)
        await one.commit()
        # The second update looked before the first committed, so it saw no active
        # conversation; its insert then meets the first one's row.
        looked = second.escalation._active_row
        looks = 0

        async def stale_first_look(platform: str, chat_id: int) -> Conversation | None:
            nonlocal looks
            looks += 1
            return None if looks == 1 else await looked(platform, chat_id)

        second.escalation._active_row = stale_first_look  # type: ignore[method-assign]
        b = await escalate(second, maryam)
        await two.commit()
    assert looks == 2
    assert isinstance(a, Queued) and isinstance(b, Queued)
    assert a.conversation_id == b.conversation_id and b.already and not a.already
    async with session_factory() as check:
        count = await check.scalar(select(func.count()).select_from(Conversation))
    assert count == 1


async def test_retention_clears_every_copy_of_what_users_typed(
    handoff: Handoff,
    session: AsyncSession,
    maryam: ChatUserInfo,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> None:
    # Issue 17, finding 11: the escalation record copied typed IDs out of the intent log, so
    # the 72-hour retention never reached them; eligibility inquiries were kept for ever.
    from services.db.handoff_models import IntentLogEntry
    from services.db.models import EligibilityInquiry
    from services.retention import RetentionService

    retention = RetentionService(session, db_settings, clock)
    await agent_factory("sara")
    await log_message(
        session,
        clock,
        platform="telegram",
        chat_id=maryam.platform_user_id,
        text="کد ملی من ۶۵۰۸۱۲۴۲۲۶ است",
        intent=None,
        confidence=0.2,
        fallback=True,
    )
    await EligibilityService(session, db_settings, clock).inquire(maryam.id)
    outcome = await escalate(handoff, maryam)
    assert isinstance(outcome, Queued)
    hours = db_settings.config.handoff.transcript_retention_hours
    clock.advance(dt.timedelta(hours=hours) - dt.timedelta(minutes=1))
    assert await retention.apply() == RetentionReport(0, 0, 0)
    clock.advance(dt.timedelta(minutes=2))
    await log_message(
        session,
        clock,
        platform="telegram",
        chat_id=1,
        text="تازه",
        intent="greet",
        confidence=0.9,
        fallback=False,
    )
    assert await retention.apply() == RetentionReport(1, 1, 0)
    rows = (
        await session.execute(
            select(IntentLogEntry.text, IntentLogEntry.intent).order_by(IntentLogEntry.id)
        )
    ).all()
    assert [tuple(r) for r in rows] == [(None, None), ("تازه", "greet")]
    conversation = await session.get(Conversation, outcome.conversation_id)
    assert conversation is not None
    await session.refresh(conversation)
    lines = conversation.escalation["transcript"]
    assert lines and all(line["text"] is None for line in lines)
    assert lines[0]["fallback"] is True  # what the statistics need stays
    assert "۶۵۰۸۱۲۴۲۲۶" not in str(conversation.escalation)
    # Once cleared, a record is not rewritten again.
    assert await retention.apply() == RetentionReport(0, 0, 0)
    days = db_settings.config.retention.eligibility_inquiry_days
    clock.advance(dt.timedelta(days=days))
    assert (await retention.apply()).eligibility_inquiries == 1
    assert await session.scalar(select(func.count()).select_from(EligibilityInquiry)) == 0
